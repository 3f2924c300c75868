import { BinaryReader } from '../../util/binary.js';
import { corrupt } from '../../protocol/errors.js';
import type { ByteSource } from '../source.js';
import { crc32cWithHole } from '../../util/crc32c.js';
import { MiB, logIsActive, type VhdxHeader } from './headers.js';

const SECTOR = 4096;
/** Logs are 1 MiB by default; bounds what replay reads and keeps in memory. */
const MAX_LOG_BYTES = 64 * MiB;

interface LogEntry {
  pos: number;
  length: number;
  tail: number;
  seq: bigint;
  lastFileOffset: number;
  buf: Buffer;
  descriptors: number;
}

/**
 * The VHDX log, replayed in memory: a header with a non-zero log GUID may have log
 * entries that were never applied to the file (the writer crashed). Instead of
 * writing to the image, the replayed 4 KiB sectors and zeroed ranges are kept as
 * an overlay that every later read goes through.
 */
export class ReplayedSource implements ByteSource {
  constructor(
    private readonly base: ByteSource,
    private readonly sectors: Map<number, Buffer>,
    private readonly zeros: [number, number][],
    readonly size: number,
    readonly entries: number,
  ) {}

  get path(): string {
    return this.base.path;
  }

  async read(offset: number, length: number, zeroPastEof = false): Promise<Buffer> {
    if (!zeroPastEof && offset + length > this.size) {
      throw corrupt(`${this.path}: read ${offset}+${length} goes past end of file (${this.size} bytes after log replay)`);
    }
    // bytes past the real file but within the replayed size (the log extended it) are zeros
    const out = await this.base.read(offset, length, true);
    for (const [zo, zl] of this.zeros) {
      const a = Math.max(offset, zo);
      const b = Math.min(offset + length, zo + zl);
      if (a < b) out.fill(0, a - offset, b - offset);
    }
    const first = Math.floor(offset / SECTOR) * SECTOR;
    if (this.sectors.size > 0) {
      for (let s = first; s < offset + length; s += SECTOR) {
        const data = this.sectors.get(s);
        if (!data) continue;
        const a = Math.max(offset, s);
        const b = Math.min(offset + length, s + SECTOR);
        data.copy(out, a - offset, a - s, b - s);
      }
    }
    return out;
  }

  close(): Promise<void> {
    return this.base.close();
  }
}

/** Returns the source to read the image through: the file itself, or the file with its log replayed. */
export async function replayLog(src: ByteSource, h: VhdxHeader): Promise<ByteSource | ReplayedSource> {
  if (!logIsActive(h)) return src;
  const where = `${src.path}: VHDX log at ${h.logOffset}`;
  if (h.logLength === 0 || h.logLength % MiB !== 0 || h.logOffset % MiB !== 0 || h.logOffset + h.logLength > src.size) {
    throw corrupt(`${where}: log region (${h.logLength} bytes) is misaligned or lies outside the file`);
  }
  if (h.logLength > MAX_LOG_BYTES) throw corrupt(`${where}: log of ${h.logLength} bytes is larger than ${MAX_LOG_BYTES}`);
  const log = await src.read(h.logOffset, h.logLength);
  const guid = guidBytes(h.logGuid);

  // every valid entry of this log GUID, by position
  const entries = new Map<number, LogEntry>();
  for (let pos = 0; pos + SECTOR <= log.length; pos += SECTOR) {
    const e = parseEntry(log, pos, guid);
    if (e) entries.set(pos, e);
  }
  // the active sequence: consecutive sequence numbers following entry lengths around the
  // circular log, whose head's tail points back into it; the highest head wins
  let best: LogEntry[] | null = null;
  const visited = new Set<number>();
  let budget = 4 * entries.size + 16;
  for (const start of [...entries.keys()].sort((a, b) => a - b)) {
    if (visited.has(start)) continue;
    const seq: LogEntry[] = [entries.get(start)!];
    visited.add(start);
    for (;;) {
      if (--budget < 0) throw corrupt(`${where}: log sequences do not terminate`);
      const cur = seq[seq.length - 1]!;
      const next = entries.get((cur.pos + cur.length) % h.logLength);
      if (!next || next.seq !== cur.seq + 1n || seq.includes(next)) break;
      seq.push(next);
      visited.add(next.pos);
    }
    const head = seq[seq.length - 1]!;
    const from = seq.findIndex((e) => e.pos === head.tail);
    if (from < 0) continue;
    if (!best || head.seq > best[best.length - 1]!.seq) best = seq.slice(from);
  }
  if (!best) {
    // a log GUID with no valid entries: nothing to replay
    return src;
  }

  const sectors = new Map<number, Buffer>();
  const zeros: [number, number][] = [];
  const head = best[best.length - 1]!;
  for (const e of best) applyEntry(e, sectors, zeros, where);
  return new ReplayedSource(src, sectors, zeros, Math.max(src.size, head.lastFileOffset), best.length);
}

function parseEntry(log: Buffer, pos: number, guid: Buffer): LogEntry | null {
  if (log.toString('latin1', pos, pos + 4) !== 'loge') return null;
  const r = new BinaryReader(log.subarray(pos), 'VHDX log entry');
  const length = r.u32le(8);
  if (length < SECTOR || length % SECTOR !== 0 || length > log.length) return null;
  if (!r.bytes(32, 16).equals(guid)) return null;
  // an entry may wrap around the end of the circular log
  const buf = pos + length <= log.length ? log.subarray(pos, pos + length) : Buffer.concat([log.subarray(pos), log.subarray(0, pos + length - log.length)]);
  if (r.u32le(4) !== crc32cWithHole(buf, 4)) return null;
  const descriptors = r.u32le(24);
  if (64 + descriptors * 32 > length) return null;
  return { pos, length, tail: r.u32le(12), seq: r.u64leBig(16), lastFileOffset: r.u64le(56), buf, descriptors };
}

function applyEntry(e: LogEntry, sectors: Map<number, Buffer>, zeros: [number, number][], where: string): void {
  const r = new BinaryReader(e.buf, `${where}: entry ${e.seq}`);
  const descSectors = Math.ceil((64 + e.descriptors * 32) / SECTOR);
  let dataAt = descSectors * SECTOR;
  for (let i = 0; i < e.descriptors; i++) {
    const o = 64 + i * 32;
    const sig = r.bytes(o, 4).toString('latin1');
    if (r.u64leBig(o + 24) !== e.seq) throw corrupt(`${where}: entry ${e.seq} descriptor ${i} has another sequence number`);
    if (sig === 'zero') {
      const len = r.u64le(o + 8);
      const off = r.u64le(o + 16);
      if (len % SECTOR !== 0 || off % SECTOR !== 0) throw corrupt(`${where}: entry ${e.seq} zero descriptor ${i} is misaligned`);
      zeros.push([off, len]);
      for (const k of [...sectors.keys()]) if (k >= off && k < off + len) sectors.delete(k);
    } else if (sig === 'desc') {
      const trailing = r.bytes(o + 4, 4);
      const leading = r.bytes(o + 8, 8);
      const off = r.u64le(o + 16);
      if (off % SECTOR !== 0) throw corrupt(`${where}: entry ${e.seq} data descriptor ${i} is misaligned`);
      if (r.bytes(dataAt, 4).toString('latin1') !== 'data') throw corrupt(`${where}: entry ${e.seq} data sector ${i} has no "data" signature`);
      const seqHigh = r.u32le(dataAt + 4);
      const seqLow = r.u32le(dataAt + 4092);
      if ((BigInt(seqHigh) << 32n) + BigInt(seqLow) !== e.seq) throw corrupt(`${where}: entry ${e.seq} data sector ${i} belongs to another entry`);
      const sector = Buffer.concat([leading, r.bytes(dataAt + 8, 4084), trailing]);
      sectors.set(off, sector);
      // a later write replaces an earlier zeroing of the same sector
      for (const z of [...zeros]) if (off >= z[0] && off < z[0] + z[1]) splitZero(zeros, z, off);
      dataAt += SECTOR;
    } else {
      throw corrupt(`${where}: entry ${e.seq} descriptor ${i} has unknown signature "${sig}"`);
    }
  }
}

/** Removes sector `off` from zero range `z` (replaced in place by the pieces around it). */
function splitZero(zeros: [number, number][], z: [number, number], off: number): void {
  const i = zeros.indexOf(z);
  const pieces: [number, number][] = [];
  if (off > z[0]) pieces.push([z[0], off - z[0]]);
  if (off + SECTOR < z[0] + z[1]) pieces.push([off + SECTOR, z[0] + z[1] - off - SECTOR]);
  zeros.splice(i, 1, ...pieces);
}

/** The on-disk (mixed-endian) bytes of a GUID printed by BinaryReader.guid(). */
function guidBytes(text: string): Buffer {
  const g = Buffer.from(text.replace(/-/g, ''), 'hex');
  return Buffer.concat([Buffer.from(g.subarray(0, 4)).reverse(), Buffer.from(g.subarray(4, 6)).reverse(), Buffer.from(g.subarray(6, 8)).reverse(), g.subarray(8, 16)]);
}
