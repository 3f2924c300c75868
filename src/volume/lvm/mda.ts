import type { BlockDevice } from '../../disk/types.js';
import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { LVM_INITIAL_CRC, lvmCrc } from '../crc32.js';
import type { DiskLocn } from './label.js';

const MDA_HEADER_SIZE = 512;
const FMTT_MAGIC = Buffer.from(' LVM2 x[5A%r0N*>', 'latin1');
const RAW_LOCN_IGNORED = 0x1;
/** Real metadata is kilobytes; this refuses a hostile size before allocating it. */
const MAX_METADATA_BYTES = 16 * 1024 * 1024;

/** Where one copy of the metadata text sits, relative to the start of the metadata area. */
export interface RawLocn {
  offset: number;
  size: number;
  checksum: number;
  flags: number;
}

export interface MdaHeader {
  start: number;
  size: number;
  /** First is the committed metadata; a second, if any, is precommitted. */
  locns: RawLocn[];
}

export async function readMdaHeader(dev: BlockDevice, area: DiskLocn): Promise<MdaHeader> {
  const where = `${dev.name}: LVM metadata area at ${area.offset}`;
  if (area.offset + MDA_HEADER_SIZE > dev.size || area.size < MDA_HEADER_SIZE || area.offset + area.size > dev.size) {
    throw corrupt(`${where}: area (${area.size} bytes) lies outside the PV (${dev.size} bytes)`);
  }
  const buf = await dev.read(area.offset, MDA_HEADER_SIZE);
  const r = new BinaryReader(buf, where);
  if (!r.bytes(4, 16).equals(FMTT_MAGIC)) throw corrupt(`${where}: bad metadata area magic`);
  if (lvmCrc(buf.subarray(4)) !== r.u32le(0)) throw corrupt(`${where}: metadata area header checksum mismatch`);
  const version = r.u32le(20);
  if (version !== 1) throw corrupt(`${where}: unknown metadata area version ${version}`);
  const start = r.u64le(24);
  const size = r.u64le(32);
  if (start !== area.offset) throw corrupt(`${where}: header says the area starts at ${start}`);
  if (size < MDA_HEADER_SIZE || size > area.size) throw corrupt(`${where}: area size ${size} disagrees with the PV header (${area.size})`);
  const locns: RawLocn[] = [];
  for (let o = 40; o + 24 <= MDA_HEADER_SIZE && locns.length < 4; o += 24) {
    const offset = r.u64le(o);
    if (offset === 0) break;
    locns.push({ offset, size: r.u64le(o + 8), checksum: r.u32le(o + 16), flags: r.u32le(o + 20) });
  }
  return { start, size, locns };
}

/**
 * Reads the committed metadata text of an area. The area after its 512-byte header is a
 * circular buffer: text running past the end continues right after the header.
 * Null when the area holds no (or ignored) metadata.
 */
export async function readMetadataText(dev: BlockDevice, mda: MdaHeader): Promise<string | null> {
  const loc = mda.locns[0];
  if (!loc || loc.size === 0 || loc.flags & RAW_LOCN_IGNORED) return null;
  const where = `${dev.name}: LVM metadata at ${mda.start}+${loc.offset}`;
  const ring = mda.size - MDA_HEADER_SIZE;
  if (loc.offset < MDA_HEADER_SIZE || loc.offset >= mda.size) throw corrupt(`${where}: offset lies outside the metadata area`);
  if (loc.size > ring || loc.size > MAX_METADATA_BYTES) throw corrupt(`${where}: ${loc.size} bytes do not fit the metadata area`);
  const wrap = Math.max(0, loc.offset + loc.size - mda.size);
  const first = await dev.read(mda.start + loc.offset, loc.size - wrap);
  let crc = lvmCrc(first, LVM_INITIAL_CRC);
  let text = first;
  if (wrap > 0) {
    const second = await dev.read(mda.start + MDA_HEADER_SIZE, wrap);
    crc = lvmCrc(second, crc);
    text = Buffer.concat([first, second]);
  }
  if (crc !== loc.checksum) throw corrupt(`${where}: metadata text checksum mismatch`);
  const nul = text.indexOf(0);
  return text.subarray(0, nul < 0 ? text.length : nul).toString('utf8');
}
