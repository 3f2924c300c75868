import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { type VblkRecord, parseVblkRecord } from './vblk.js';

/** The VMDB header and the records of one disk's copy of the group database. */
export interface LdmDatabase {
  groupName: string;
  groupGuid: string;
  committedSeq: bigint;
  counts: { volumes: number; components: number; partitions: number; disks: number };
  records: VblkRecord[];
}

const VBLK_HEAD = 16;
/** A record split over more VBLKs than this is not something Windows writes. */
const MAX_ENTRIES = 64;

/** `config` is the whole database area (PRIVHEAD's config start and size); the TOCBLOCK is its third sector. */
export function parseDatabase(config: Buffer, sectorSize: number, where: string): LdmDatabase {
  const toc = new BinaryReader(config, `${where}: LDM TOCBLOCK`);
  const tocOff = 2 * sectorSize;
  if (toc.cstring(tocOff, 8) !== 'TOCBLOCK') throw corrupt(`${where}: no LDM TOCBLOCK in the database`);
  let vmdbSector: number | undefined;
  for (const b of [36, 70]) {
    if (toc.cstring(tocOff + b, 8) === 'config') vmdbSector = toc.u64be(tocOff + b + 10);
  }
  if (vmdbSector === undefined) throw corrupt(`${where}: the LDM TOCBLOCK lists no config region`);
  const vmdbOff = vmdbSector * sectorSize;
  const r = new BinaryReader(config, `${where}: LDM VMDB`);
  if (!Number.isSafeInteger(vmdbOff) || vmdbOff + 512 > config.length || r.cstring(vmdbOff, 4) !== 'VMDB') {
    throw corrupt(`${where}: no LDM VMDB at database sector ${vmdbSector}`);
  }
  const vblkSize = r.u32be(vmdbOff + 8);
  const first = r.u32be(vmdbOff + 12);
  if (vblkSize <= VBLK_HEAD + 8 || vblkSize > 65536) throw corrupt(`${where}: LDM VBLK size ${vblkSize} is not plausible`);
  const db: LdmDatabase = {
    groupName: r.cstring(vmdbOff + 22, 31),
    groupGuid: r.cstring(vmdbOff + 53, 64).toLowerCase(),
    committedSeq: r.u64beBig(vmdbOff + 117),
    counts: { volumes: r.u32be(vmdbOff + 133), components: r.u32be(vmdbOff + 137), partitions: r.u32be(vmdbOff + 141), disks: r.u32be(vmdbOff + 145) },
    records: [],
  };
  const dataSize = vblkSize - VBLK_HEAD;
  const spanned = new Map<number, { total: number; found: Set<number>; data: Buffer; at: number }>();
  // the records run until the first slot without the VBLK signature
  for (let off = vmdbOff + first; off + vblkSize <= config.length; off += vblkSize) {
    if (config.toString('latin1', off, off + 4) !== 'VBLK') break;
    const recordId = r.u32be(off + 8);
    const entry = r.u16be(off + 12);
    const total = r.u16be(off + 14);
    const at = `${where}: VBLK at database offset ${off}`;
    if (total > 0 && entry >= total) throw corrupt(`${at}: entry ${entry} of ${total}`);
    const body = config.subarray(off + VBLK_HEAD, off + vblkSize);
    if (total <= 1) {
      db.records.push(parseVblkRecord(body, at));
      continue;
    }
    if (total > MAX_ENTRIES) throw corrupt(`${at}: record split over ${total} VBLKs`);
    let s = spanned.get(recordId);
    if (!s) {
      s = { total, found: new Set(), data: Buffer.alloc(total * dataSize), at: off };
      spanned.set(recordId, s);
    }
    if (s.total !== total) throw corrupt(`${at}: record ${recordId} claims ${total} and ${s.total} parts`);
    s.found.add(entry);
    body.copy(s.data, entry * dataSize);
  }
  for (const [id, s] of spanned) {
    if (s.found.size !== s.total) throw corrupt(`${where}: LDM record ${id} has ${s.found.size} of its ${s.total} VBLKs`);
    db.records.push(parseVblkRecord(s.data, `${where}: VBLK record ${id} at database offset ${s.at}`));
  }
  return db;
}
