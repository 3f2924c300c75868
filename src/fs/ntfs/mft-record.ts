import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { parseAttributes, type Attr } from './attribute.js';
import { applyFixups } from './fixup.js';

export const MFT_FLAG = { IN_USE: 0x0001, DIRECTORY: 0x0002 } as const;

export interface MftRecord {
  recNo: number;
  sequence: number;
  flags: number;
  inUse: boolean;
  /** Base record number when this is an extension record, else undefined. */
  baseRecNo?: number;
  attrs: Attr[];
}

/** 48-bit record number of a file reference (the upper 16 bits are the sequence number). */
export function refRecord(ref: bigint): number {
  return Number(ref & 0xffffffffffffn);
}

/** Parses one MFT record from a private copy of its bytes (fixups are applied in place). */
export function parseMftRecord(buf: Buffer, recNo: number): MftRecord {
  const what = `MFT record ${recNo}`;
  const r = new BinaryReader(buf, what);
  const magic = r.cstring(0, 4);
  if (magic !== 'FILE') {
    // Never-initialised records (past the initialized size or zeroed) are simply unused.
    if (r.u32le(0) === 0) return { recNo, sequence: 0, flags: 0, inUse: false, attrs: [] };
    throw corrupt(`${what}: bad magic ${JSON.stringify(magic)}`);
  }
  applyFixups(buf, what);
  const sequence = r.u16le(16);
  const attrsOff = r.u16le(20);
  const flags = r.u16le(22);
  const bytesUsed = r.u32le(24);
  const bytesAlloc = r.u32le(28);
  if (bytesAlloc !== buf.length) throw corrupt(`${what}: allocated size ${bytesAlloc} != record size ${buf.length}`);
  if (bytesUsed > buf.length || attrsOff < 0x2a || attrsOff % 8 !== 0 || attrsOff >= bytesUsed) {
    throw corrupt(`${what}: used size ${bytesUsed} / attribute offset ${attrsOff} are inconsistent`);
  }
  const inUse = (flags & MFT_FLAG.IN_USE) !== 0;
  // Extensions of $MFT name base record 0, so test the whole reference (sequence included) for zero.
  const baseRef = r.u64leBig(32);
  if (!inUse) return { recNo, sequence, flags, inUse, attrs: [] };
  const rec: MftRecord = { recNo, sequence, flags, inUse, attrs: parseAttributes(buf, attrsOff, bytesUsed, recNo) };
  if (baseRef !== 0n) rec.baseRecNo = refRecord(baseRef);
  return rec;
}
