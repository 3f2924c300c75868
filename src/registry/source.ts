import { corrupt } from '../protocol/errors.js';

/** Random access to a hive file: a whole Buffer, or a file read piece by piece (hives reach 100 MB). */
export interface HiveSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export class BufferSource implements HiveSource {
  constructor(private readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    checkSourceRange(offset, length, this.buf.length);
    return this.buf.subarray(offset, offset + length);
  }
}

const CHUNK = 64 * 1024;

/**
 * Reads a file in 64 KiB chunks and keeps the most recently used ones (bounded), so a
 * walk over keys that sit close together costs a handful of reads, not one per cell.
 */
export class ChunkedSource implements HiveSource {
  private readonly chunks = new Map<number, Promise<Buffer>>();
  constructor(
    readonly size: number,
    private readonly readAt: (offset: number, length: number) => Promise<Buffer>,
    private readonly maxChunks = 256,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    checkSourceRange(offset, length, this.size);
    const first = Math.floor(offset / CHUNK);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / CHUNK);
    if (first === last) {
      const c = await this.chunk(first);
      const o = offset - first * CHUNK;
      return c.subarray(o, o + length);
    }
    const parts: Buffer[] = [];
    for (let i = first; i <= last; i++) parts.push(await this.chunk(i));
    const all = Buffer.concat(parts);
    const o = offset - first * CHUNK;
    return all.subarray(o, o + length);
  }

  private chunk(i: number): Promise<Buffer> {
    let p = this.chunks.get(i);
    if (p) {
      // most recently used goes last
      this.chunks.delete(i);
      this.chunks.set(i, p);
      return p;
    }
    const start = i * CHUNK;
    const len = Math.min(CHUNK, this.size - start);
    p = this.readAt(start, len).then((b) => {
      if (b.length !== len) throw corrupt(`registry hive: short read at ${start} (${b.length} of ${len} bytes)`);
      return b;
    });
    p.catch(() => this.chunks.delete(i));
    this.chunks.set(i, p);
    while (this.chunks.size > this.maxChunks) this.chunks.delete(this.chunks.keys().next().value!);
    return p;
  }
}

function checkSourceRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw corrupt(`registry hive: read of ${length} bytes at ${offset} is outside the ${size}-byte file`);
  }
}
