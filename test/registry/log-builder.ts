/**
 * HAND-MADE transaction logs for tests. No tool available on Debian writes registry
 * transaction logs (hivex, Samba's regshell/libregistry, chntpw's reged and libregf write or
 * read primary files only), so the log framing here is built byte by byte from the format
 * description: msuhanov's "Windows registry file format specification", section "Format of
 * transaction log files", and libyal's REGF document, section "Transaction log". The hive
 * pages carried in the logs are NOT hand-made: they are the pages a real writer (hivexregedit
 * --merge) changed, found by comparing the hive before and after its edit.
 *
 * Offsets used (all little-endian):
 *   log sector 0 (512 bytes)   the first 512 bytes of the base block, with file type (0x1c)
 *                              1 (old) or 6 (new) and the checksum (0x1fc, XOR of the first
 *                              127 dwords) recomputed
 *   old format, offset 512     "DIRT", then a bitmap, bit n = 512-byte page n of the hive bins
 *                              data (LSB first); dirty pages from the next 512-byte boundary,
 *                              512 bytes each, in bit order
 *   new format, offset 512     HvLE entries, each at a 512-byte boundary:
 *                              0 "HvLE", 4 size, 8 flags, 12 sequence number, 16 hive bins data
 *                              size, 20 dirty page count, 24 Hash-1, 32 Hash-2, 40 page
 *                              references (offset from the hive bins start, size), then pages;
 *                              Hash-1 = Marvin32(entry[40..size)), Hash-2 = Marvin32(entry[0..32)),
 *                              seed 0x82EF4D887A4E55C5 (Marvin32 checked against .NET's vectors
 *                              in transaction-log.test.ts)
 */
import { baseBlockChecksum, marvin32, REGISTRY_LOG_SEED } from '../../src/registry/index.js';

export interface Page {
  /** Offset from the start of the hive bins data. */
  offset: number;
  data: Buffer;
}

/** The pages (of `size` bytes) of `after`'s hive bins data that differ from `before`'s. */
export function changedPages(before: Buffer, after: Buffer, size = 4096): Page[] {
  const out: Page[] = [];
  const bins = after.readUInt32LE(0x28);
  for (let o = 0; o < bins; o += size) {
    const a = after.subarray(4096 + o, 4096 + o + size);
    const b = before.subarray(4096 + o, 4096 + o + size);
    if (!a.equals(b)) out.push({ offset: o, data: Buffer.from(a) });
  }
  return out;
}

function withChecksum(block: Buffer): Buffer {
  block.writeUInt32LE(baseBlockChecksum(block), 0x1fc);
  return block;
}

/** A copy of a hive's base block (4096 bytes) with fields changed and the checksum redone. */
export function patchBase(hive: Buffer, fields: { primary?: number; secondary?: number; fileType?: number; lastWritten?: bigint; binsSize?: number }): Buffer {
  const b = Buffer.from(hive.subarray(0, 4096));
  if (fields.primary !== undefined) b.writeUInt32LE(fields.primary, 4);
  if (fields.secondary !== undefined) b.writeUInt32LE(fields.secondary, 8);
  if (fields.lastWritten !== undefined) b.writeBigUInt64LE(fields.lastWritten, 12);
  if (fields.fileType !== undefined) b.writeUInt32LE(fields.fileType, 0x1c);
  if (fields.binsSize !== undefined) b.writeUInt32LE(fields.binsSize, 0x28);
  return withChecksum(b);
}

/** The hive with its base block replaced (e.g. made dirty: primary sequence ≠ secondary). */
export function withBase(hive: Buffer, base: Buffer): Buffer {
  const out = Buffer.from(hive);
  base.copy(out, 0, 0, 4096);
  return out;
}

export interface EntrySpec {
  sequence: number;
  binsSize: number;
  pages: Page[];
  flags?: number;
}

/** One HvLE entry, padded to a 512-byte multiple, with both hashes. */
export function hvleEntry(e: EntrySpec): Buffer {
  const refs = Buffer.alloc(e.pages.length * 8);
  e.pages.forEach((p, i) => {
    refs.writeUInt32LE(p.offset, i * 8);
    refs.writeUInt32LE(p.data.length, i * 8 + 4);
  });
  const body = Buffer.concat([refs, ...e.pages.map((p) => p.data)]);
  const size = Math.ceil((40 + body.length) / 512) * 512;
  const out = Buffer.alloc(size);
  out.write('HvLE', 0, 'latin1');
  out.writeUInt32LE(size, 4);
  out.writeUInt32LE(e.flags ?? 0, 8);
  out.writeUInt32LE(e.sequence, 12);
  out.writeUInt32LE(e.binsSize, 16);
  out.writeUInt32LE(e.pages.length, 20);
  body.copy(out, 40);
  out.writeBigUInt64LE(marvin32(out.subarray(40, size), REGISTRY_LOG_SEED), 24);
  out.writeBigUInt64LE(marvin32(out.subarray(0, 32), REGISTRY_LOG_SEED), 32);
  return out;
}

/** A new-format log: sector 0 = `base` (first 512 bytes, file type 6), then the entries. */
export function newFormatLog(base: Buffer, entries: EntrySpec[]): Buffer {
  const head = Buffer.alloc(4096);
  base.copy(head, 0, 0, 512);
  const sector = patchBase(head, { fileType: 6 }).subarray(0, 512);
  return Buffer.concat([sector, ...entries.map(hvleEntry)]);
}

/**
 * An old-format log: sector 0 = `base` (file type 1; its primary and secondary sequence
 * numbers equal, as a completely written log has them), "DIRT" + bitmap, 512-byte pages.
 */
export function oldFormatLog(base: Buffer, pages512: Page[]): Buffer {
  const head = Buffer.alloc(4096);
  base.copy(head, 0, 0, 512);
  const sector = patchBase(head, { fileType: 1 }).subarray(0, 512);
  const bins = sector.readUInt32LE(0x28);
  const bitmap = Buffer.alloc(Math.ceil(bins / 512 / 8));
  const sorted = [...pages512].sort((a, b) => a.offset - b.offset);
  for (const p of sorted) {
    if (p.offset % 512 !== 0 || p.data.length !== 512) throw new Error('old-format pages are 512-byte sectors');
    const bit = p.offset / 512;
    bitmap[bit >> 3]! |= 1 << (bit & 7);
  }
  const dirt = Buffer.concat([Buffer.from('DIRT', 'latin1'), bitmap]);
  const padded = Buffer.alloc(Math.ceil(dirt.length / 512) * 512);
  dirt.copy(padded);
  return Buffer.concat([sector, padded, ...sorted.map((p) => p.data)]);
}
