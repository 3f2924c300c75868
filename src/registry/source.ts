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

/**
 * Reads a file in chunks (16 KiB: a key's nk, value list, vk and data cells usually sit in
 * the same few 4 KiB hbins) and keeps the most recently used ones, at most `maxChunks`
 * (8 MiB by default), so a walk over nearby keys costs a handful of reads, not one per cell.
 */
export class ChunkedSource implements HiveSource {
  private readonly chunks = new Map<number, Promise<Buffer>>();
  constructor(
    readonly size: number,
    private readonly readAt: (offset: number, length: number) => Promise<Buffer>,
    readonly chunkSize = 16 * 1024,
    private readonly maxChunks = 512,
  ) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 512) throw new RangeError(`chunk size ${chunkSize}`);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkSourceRange(offset, length, this.size);
    const first = Math.floor(offset / this.chunkSize);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.chunkSize);
    if (first === last) {
      const c = await this.chunk(first);
      const o = offset - first * this.chunkSize;
      return c.subarray(o, o + length);
    }
    const parts: Buffer[] = [];
    for (let i = first; i <= last; i++) parts.push(await this.chunk(i));
    const all = Buffer.concat(parts);
    const o = offset - first * this.chunkSize;
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
    const start = i * this.chunkSize;
    const len = Math.min(this.chunkSize, this.size - start);
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

/**
 * A hive source with 512-byte sectors replaced (a transaction log replayed in memory over
 * the primary file, which is never written). `size` may exceed the primary's when the log
 * grew the hive bins; bytes past the primary read as zeros unless a sector covers them.
 */
export class PatchedSource implements HiveSource {
  constructor(
    private readonly base: HiveSource,
    private readonly sectors: ReadonlyMap<number, Buffer>,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    checkSourceRange(offset, length, this.size);
    const first = Math.floor(offset / 512);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / 512);
    let touched = offset + length > this.base.size;
    for (let s = first; s <= last && !touched; s++) touched = this.sectors.has(s);
    if (!touched) return this.base.read(offset, length);
    const out = Buffer.alloc(length);
    const fromBase = Math.max(0, Math.min(length, this.base.size - offset));
    if (fromBase > 0) (await this.base.read(offset, fromBase)).copy(out, 0);
    for (let s = first; s <= last; s++) {
      const sec = this.sectors.get(s);
      if (!sec) continue;
      const secStart = s * 512;
      const from = Math.max(offset, secStart);
      const to = Math.min(offset + length, secStart + 512);
      sec.copy(out, from - offset, from - secStart, to - secStart);
    }
    return out;
  }
}
