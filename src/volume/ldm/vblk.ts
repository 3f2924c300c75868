import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { VblkCursor, uuidText } from './cursor.js';

/** The VBLK records of an LDM database, as the published layout describes them. Sizes and offsets are sectors. */
export interface VblkVolume {
  id: number;
  name: string;
  /** 3: "gen" (simple, spanned, striped, mirrored); 4: RAID-5. */
  volumeType: number;
  nComponents: number;
  size: number;
  partType: number;
  guid: string;
  /** Drive-letter hint ("E:"), when the record has one. */
  hint?: string;
}
export interface VblkComponent {
  id: number;
  name: string;
  /** 1 striped, 2 spanned (also each plex of a mirror), 3 RAID-5. */
  type: number;
  nParts: number;
  parentId: number;
  chunkSize: number;
  nColumns: number;
}
export interface VblkPartition {
  id: number;
  name: string;
  start: number;
  volOffset: number;
  size: number;
  parentId: number;
  diskId: number;
  index: number;
}
export interface VblkDisk {
  id: number;
  name: string;
  guid: string;
}
export interface VblkGroup {
  id: number;
  name: string;
}

export type VblkRecord =
  | { kind: 'volume'; v: VblkVolume }
  | { kind: 'component'; v: VblkComponent }
  | { kind: 'partition'; v: VblkPartition }
  | { kind: 'disk'; v: VblkDisk }
  | { kind: 'group'; v: VblkGroup }
  | { kind: 'blank' };

const unsupported = (what: string): GuestkitError => new GuestkitError('UNSUPPORTED_FORMAT', what);

/** One record: `data` starts at its 8-byte record header (status, flags, type/revision, size). */
export function parseVblkRecord(data: Buffer, where: string): VblkRecord {
  if (data.length < 8) throw corrupt(`${where}: VBLK record shorter than its header`);
  const flags = data[2]!;
  const type = data[3]! & 0x0f;
  const rev = data[3]! >> 4;
  const c = new VblkCursor(data.subarray(8), where);
  switch (type) {
    case 0:
      return { kind: 'blank' };
    case 1:
      return { kind: 'volume', v: volume(c, rev, flags, where) };
    case 2:
      return { kind: 'component', v: component(c, rev, flags, where) };
    case 3:
      return { kind: 'partition', v: partition(c, rev, flags, where) };
    case 4:
      return { kind: 'disk', v: disk(c, rev, where) };
    case 5:
      if (rev !== 3 && rev !== 4) throw unsupported(`${where}: disk group VBLK revision ${rev} is not supported`);
      return { kind: 'group', v: { id: c.varint(), name: c.varstring() } };
    default:
      throw unsupported(`${where}: unknown VBLK type ${type}`);
  }
}

function volume(c: VblkCursor, rev: number, flags: number, where: string): VblkVolume {
  if (rev !== 5) throw unsupported(`${where}: volume VBLK revision ${rev} is not supported`);
  const id = c.varint();
  const name = c.varstring();
  c.skipVar(); // "gen" or "raid5"; the type byte below says the same
  c.skipVar(); // unknown, often "8000000000000000"
  c.skip(14); // state ("ACTIVE")
  const volumeType = c.u8();
  if (volumeType !== 3 && volumeType !== 4) throw unsupported(`${where}: volume "${name}" has unknown type ${volumeType}`);
  c.skip(1 + 1 + 3 + 1); // unknown, volume number, zeroes, flags
  const nComponents = c.varint();
  c.skip(16); // commit id, id
  const size = c.varint(8);
  c.skip(4);
  const partType = c.u8();
  const guid = uuidText(c.bytes(16));
  if (flags & 0x08) c.skipVar();
  if (flags & 0x20) c.skipVar();
  if (flags & 0x80) c.varint(8);
  const hint = flags & 0x02 ? c.varstring() : undefined;
  return { id, name, volumeType, nComponents, size, partType, guid, ...(hint ? { hint } : {}) };
}

function component(c: VblkCursor, rev: number, flags: number, where: string): VblkComponent {
  if (rev !== 3) throw unsupported(`${where}: component VBLK revision ${rev} is not supported`);
  const id = c.varint();
  const name = c.varstring();
  c.skipVar(); // state
  const type = c.u8();
  if (type < 1 || type > 3) throw unsupported(`${where}: component ${id} has unknown type ${type}`);
  c.skip(4);
  const nParts = c.varint();
  c.skip(16); // log commit id, zeroes
  const parentId = c.varint();
  c.skip(1);
  let chunkSize = 0;
  let nColumns = 0;
  if (flags & 0x10) {
    chunkSize = c.varint(8);
    nColumns = c.varint();
  }
  return { id, name, type, nParts, parentId, chunkSize, nColumns };
}

function partition(c: VblkCursor, rev: number, flags: number, where: string): VblkPartition {
  if (rev !== 3) throw unsupported(`${where}: partition VBLK revision ${rev} is not supported`);
  const id = c.varint();
  const name = c.varstring();
  c.skip(12); // zeroes, log commit id
  const start = c.u64();
  const volOffset = c.u64();
  const size = c.varint(8);
  const parentId = c.varint();
  const diskId = c.varint();
  const index = flags & 0x08 ? c.varint() : 0;
  return { id, name, start, volOffset, size, parentId, diskId, index };
}

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function disk(c: VblkCursor, rev: number, where: string): VblkDisk {
  const id = c.varint();
  const name = c.varstring();
  if (rev === 3) {
    // older databases keep the disk GUID as text
    const g = c.varstring();
    if (!GUID_TEXT.test(g)) throw corrupt(`${where}: disk ${id} has an invalid GUID "${g.slice(0, 40)}"`);
    return { id, name, guid: g.toLowerCase() };
  }
  if (rev === 4) return { id, name, guid: uuidText(c.bytes(16)) };
  throw unsupported(`${where}: disk VBLK revision ${rev} is not supported`);
}
