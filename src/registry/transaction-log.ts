import { BASE_BLOCK_SIZE, parseBaseBlock, type BaseBlock } from './base-block.js';
import { marvin32, REGISTRY_LOG_SEED } from './marvin32.js';
import type { HiveSource } from './source.js';

/**
 * Transaction logs of a hive (.LOG, .LOG1, .LOG2), replayed in memory over a dirty primary
 * file. Two formats (msuhanov's "Windows registry file format specification", section
 * "Format of transaction log files"; libyal's REGF document, "Transaction log"):
 *
 * - old (Windows XP–8): sector 0 a partial copy of the base block (file type 1), sector 1 a
 *   dirty vector "DIRT" + bitmap (one bit per 512-byte page of the hive bins data), then the
 *   dirty pages, 512 bytes each, in bitmap order, from the next sector boundary on;
 * - new (Windows 8.1+): sector 0 the base block copy (file type 6), then HvLE log entries at
 *   512-byte boundaries: signature, size, flags, sequence number, hive bins data size, dirty
 *   page count, Hash-1 (Marvin32 of the bytes from offset 40 to the entry's end), Hash-2
 *   (Marvin32 of the entry's first 32 bytes), page references (offset, size), page data.
 *
 * Hostile logs are bounded: entries, pages and bytes are capped, every length is checked
 * against the log, and a bad entry ends the replay with a warning, never an exception.
 */

const SECTOR = 512;
const HVLE_HEADER = 40;
/** Largest log read (a real one is a few MB; Windows rotates them long before this). */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;
/** Largest hive bins data a log may describe (real hives stay well below 2 GiB). */
const MAX_BINS_SIZE = 0x7fff_f000;
const MAX_ENTRIES = 100_000;
const MAX_PAGES_PER_ENTRY = 1 << 20;

export interface LogFile {
  /** For messages, e.g. SOFTWARE.LOG1. */
  name: string;
  data: Buffer;
}

export interface ReplayResult {
  /** Patched 512-byte sectors by absolute file offset / 512 (the base block sector not included). */
  sectors: Map<number, Buffer>;
  /** Hive bins data size after the replay. */
  binsSize: number;
  /** Sequence number the primary would carry after the replay. */
  sequence: number;
  /** Number of log entries (new format) or logs (old format) applied. */
  applied: number;
  /** The logs applied, in order. */
  used: string[];
  /** Base block from the last log applied (valid checksum), or undefined. */
  logBase?: BaseBlock;
  warnings: string[];
}

interface ParsedLog {
  name: string;
  data: Buffer;
  base: BaseBlock;
  format: 'old' | 'new';
}

/** The base block copy in a log's first sector; undefined (with a warning) when it is not usable. */
function parseLogHeader(log: LogFile, warnings: string[]): ParsedLog | undefined {
  const { name, data } = log;
  if (data.length === 0) return undefined; // Windows leaves empty logs after a clean flush
  if (data.length > MAX_LOG_BYTES) {
    warnings.push(`${name}: ${data.length} bytes is larger than any transaction log; ignored`);
    return undefined;
  }
  if (data.length < 2 * SECTOR || data.toString('latin1', 0, 4) !== 'regf') {
    warnings.push(`${name}: not a transaction log (no "regf" base block); ignored`);
    return undefined;
  }
  // only the first sector is stored; the checksum covers its first 508 bytes
  const head = Buffer.alloc(BASE_BLOCK_SIZE);
  data.copy(head, 0, 0, SECTOR);
  const base = parseBaseBlock(head);
  if (base.checksum !== base.computedChecksum) {
    warnings.push(`${name}: base block checksum is wrong; log ignored`);
    return undefined;
  }
  if (base.fileType === 6) return { name, data, base, format: 'new' };
  if (base.fileType === 1 || base.fileType === 2) return { name, data, base, format: 'old' };
  warnings.push(`${name}: base block file type ${base.fileType} is not a transaction log; ignored`);
  return undefined;
}

function setSectors(sectors: Map<number, Buffer>, fileOffset: number, page: Buffer): void {
  for (let o = 0; o < page.length; o += SECTOR) sectors.set((fileOffset + o) / SECTOR, page.subarray(o, o + SECTOR));
}

/**
 * Replays the logs over a primary whose base block is `primary`. Logs are tried in the order
 * the format wants: new-format entries from the secondary sequence number on, the log whose
 * entries start the sequence first; an old-format log only when its timestamp matches the
 * primary's (the newest such log). Returns undefined when no log has anything to apply.
 */
export function replayLogs(primary: BaseBlock, primaryBinsSize: number, logs: LogFile[]): ReplayResult | undefined {
  const warnings: string[] = [];
  const parsed = logs.map((l) => parseLogHeader(l, warnings)).filter((l): l is ParsedLog => l !== undefined);
  const fresh = parsed.filter((l) => l.format === 'new');
  const result: ReplayResult = { sectors: new Map(), binsSize: primaryBinsSize, sequence: primary.secondarySequence, applied: 0, used: [], warnings };
  if (fresh.length > 0) {
    replayNew(primary, fresh, result);
  } else {
    const old = parsed.filter((l) => l.format === 'old');
    replayOld(primary, old, result);
  }
  // nothing applied but something to say (a bad log): the caller still reports the warnings
  return result.applied > 0 || warnings.length > 0 ? result : undefined;
}

interface Entry {
  offset: number;
  size: number;
  sequence: number;
  binsSize: number;
  pages: { offset: number; size: number; dataOffset: number }[];
}

/** One HvLE entry at `off`, or a reason it is not valid. */
function readEntry(data: Buffer, off: number): Entry | string {
  if (off + HVLE_HEADER > data.length) return 'truncated entry header';
  if (data.toString('latin1', off, off + 4) !== 'HvLE') return 'no HvLE signature';
  const size = data.readUInt32LE(off + 4);
  if (size < HVLE_HEADER || size % SECTOR !== 0 || off + size > data.length) return `entry size ${size} is impossible`;
  const sequence = data.readUInt32LE(off + 12);
  const binsSize = data.readUInt32LE(off + 16);
  const count = data.readUInt32LE(off + 20);
  if (binsSize === 0 || binsSize % 4096 !== 0 || binsSize > MAX_BINS_SIZE) return `hive bins data size ${binsSize} is impossible`;
  if (count > MAX_PAGES_PER_ENTRY || HVLE_HEADER + count * 8 > size) return `dirty page count ${count} does not fit the entry`;
  const hash1 = data.readBigUInt64LE(off + 24);
  const hash2 = data.readBigUInt64LE(off + 32);
  if (marvin32(data.subarray(off, off + 32), REGISTRY_LOG_SEED) !== hash2) return 'Hash-2 (entry header) does not match';
  if (marvin32(data.subarray(off + HVLE_HEADER, off + size), REGISTRY_LOG_SEED) !== hash1) return 'Hash-1 (entry data) does not match';
  const pages: Entry['pages'] = [];
  let dataOffset = off + HVLE_HEADER + count * 8;
  for (let i = 0; i < count; i++) {
    const r = off + HVLE_HEADER + i * 8;
    const pOff = data.readUInt32LE(r);
    const pSize = data.readUInt32LE(r + 4);
    if (pSize === 0 || pSize % SECTOR !== 0 || pOff % SECTOR !== 0) return `dirty page ${i} (offset ${pOff}, size ${pSize}) is not sector aligned`;
    if (pOff + pSize > binsSize) return `dirty page ${i} (offset ${pOff}, size ${pSize}) lies beyond the hive bins data (${binsSize} bytes)`;
    if (dataOffset + pSize > off + size) return `dirty page ${i} runs past the entry`;
    pages.push({ offset: pOff, size: pSize, dataOffset });
    dataOffset += pSize;
  }
  return { offset: off, size, sequence, binsSize, pages };
}

/** Valid entries of a log from its start, in file order, up to the first invalid one. */
function entriesOf(log: ParsedLog, warnings: string[]): Entry[] {
  const out: Entry[] = [];
  let off = SECTOR;
  while (off < log.data.length && out.length < MAX_ENTRIES) {
    // the space after the last entry is zeros, or remnants of older entries
    if (log.data.toString('latin1', off, off + 4) !== 'HvLE') break;
    const e = readEntry(log.data, off);
    if (typeof e === 'string') {
      warnings.push(`${log.name}: log entry at ${off}: ${e}; replay stops there`);
      break;
    }
    out.push(e);
    off += e.size;
  }
  if (out.length >= MAX_ENTRIES) warnings.push(`${log.name}: more than ${MAX_ENTRIES} log entries; the rest are ignored`);
  return out;
}

function replayNew(primary: BaseBlock, logs: ParsedLog[], res: ReplayResult): void {
  const from = primary.secondarySequence;
  const candidates = logs
    .map((l) => ({ log: l, entries: entriesOf(l, res.warnings).filter((e) => e.sequence >= from) }))
    .filter((c) => c.entries.length > 0)
    // the log whose entries continue the primary's sequence goes first
    .sort((a, b) => a.entries[0]!.sequence - b.entries[0]!.sequence);
  let expected: number | undefined;
  for (const { log, entries } of candidates) {
    if (expected !== undefined && entries[0]!.sequence !== expected) {
      res.warnings.push(`${log.name}: its first log entry has sequence number ${entries[0]!.sequence}, ${expected} was expected; not applied`);
      break;
    }
    let broken = false;
    for (const e of entries) {
      if (expected !== undefined && e.sequence !== expected) {
        res.warnings.push(`${log.name}: log entry at ${e.offset} has sequence number ${e.sequence}, ${expected} was expected; replay stops there`);
        broken = true;
        break;
      }
      for (const p of e.pages) setSectors(res.sectors, BASE_BLOCK_SIZE + p.offset, log.data.subarray(p.dataOffset, p.dataOffset + p.size));
      res.binsSize = e.binsSize;
      res.sequence = e.sequence;
      res.applied++;
      expected = e.sequence + 1;
    }
    res.used.push(log.name);
    res.logBase = log.base;
    if (broken) break;
  }
}

function replayOld(primary: BaseBlock, logs: ParsedLog[], res: ReplayResult): void {
  const usable = logs.filter((l) => {
    if (l.base.primarySequence !== l.base.secondarySequence) {
      res.warnings.push(`${l.name}: the log itself is incomplete (its sequence numbers ${l.base.primarySequence} and ${l.base.secondarySequence} differ); ignored`);
      return false;
    }
    if (l.base.lastWritten !== primary.lastWritten) {
      res.warnings.push(`${l.name}: written at another time than the hive (timestamps differ); ignored`);
      return false;
    }
    return true;
  });
  // the newest applicable log
  usable.sort((a, b) => b.base.primarySequence - a.base.primarySequence);
  const log = usable[0];
  if (!log) return;
  const { data, name } = log;
  const binsSize = log.base.binsSize;
  if (binsSize === 0 || binsSize % 4096 !== 0 || binsSize > MAX_BINS_SIZE) {
    res.warnings.push(`${name}: hive bins data size ${binsSize} is impossible; ignored`);
    return;
  }
  if (data.toString('latin1', SECTOR, SECTOR + 4) !== 'DIRT') {
    res.warnings.push(`${name}: no "DIRT" dirty vector at offset 512; ignored`);
    return;
  }
  const bits = binsSize / SECTOR;
  const bitmapEnd = SECTOR + 4 + Math.ceil(bits / 8);
  if (bitmapEnd > data.length) {
    res.warnings.push(`${name}: the dirty vector (${bits} bits) runs past the log; ignored`);
    return;
  }
  let pageOff = Math.ceil(bitmapEnd / SECTOR) * SECTOR;
  const sectors = new Map<number, Buffer>();
  for (let bit = 0; bit < bits; bit++) {
    if (((data[SECTOR + 4 + (bit >> 3)]! >> (bit & 7)) & 1) === 0) continue;
    if (pageOff + SECTOR > data.length) {
      res.warnings.push(`${name}: the dirty vector names more pages than the log holds; ignored`);
      return;
    }
    const page = data.subarray(pageOff, pageOff + SECTOR);
    // a dirty hive bin header must name its own place (Windows aborts the recovery otherwise)
    if (page.toString('latin1', 0, 4) === 'hbin' && page.readUInt32LE(4) !== bit * SECTOR) {
      res.warnings.push(`${name}: the dirty hive bin at ${bit * SECTOR} states offset ${page.readUInt32LE(4)}; log ignored`);
      return;
    }
    sectors.set((BASE_BLOCK_SIZE + bit * SECTOR) / SECTOR, page);
    pageOff += SECTOR;
  }
  for (const [k, v] of sectors) res.sectors.set(k, v);
  res.binsSize = binsSize;
  res.sequence = log.base.primarySequence;
  res.applied = 1;
  res.used.push(name);
  res.logBase = log.base;
}
