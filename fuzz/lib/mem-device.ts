import type { BlockDevice } from '../../src/disk/types.js';
import { corrupt } from '../../src/protocol/errors.js';
import { decodeSparse } from './sparse.js';

const BLOCK = 4096;
/** One read may not ask for more than this: a parser that does is a finding (out of budget). */
export const MAX_READ = 256 << 20;

/** A sparse fuzz image as a block device: a map of 4 KiB blocks, zeros elsewhere. */
export class SparseDevice implements BlockDevice {
  readonly size: number;
  private readonly blocks = new Map<number, Buffer>();
  bytesRead = 0;
  reads = 0;

  constructor(input: Buffer, readonly name = 'fuzz.img') {
    const img = decodeSparse(input);
    this.size = img.size;
    for (const c of img.chunks) {
      for (let i = 0; i < c.data.length; ) {
        const pos = c.offset + i;
        const b = Math.floor(pos / BLOCK);
        const within = pos - b * BLOCK;
        const n = Math.min(BLOCK - within, c.data.length - i);
        let block = this.blocks.get(b);
        if (!block) this.blocks.set(b, (block = Buffer.alloc(BLOCK)));
        c.data.copy(block, within, i, i + n);
        i += n;
      }
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw corrupt(`${this.name}: read ${offset}+${length} outside the device (${this.size} bytes)`);
    }
    if (length > MAX_READ) throw new Error(`budget: one read of ${length} bytes (a parser trusted a size field)`);
    this.reads++;
    this.bytesRead += length;
    const out = Buffer.alloc(length);
    const first = Math.floor(offset / BLOCK);
    const last = Math.floor((offset + length - 1) / BLOCK);
    // walk the stored blocks when they are fewer than the blocks the read spans
    if (this.blocks.size < last - first + 1) {
      for (const [b, block] of this.blocks) if (b >= first && b <= last) copyBlock(block, b, offset, out);
    } else {
      for (let b = first; b <= last; b++) {
        const block = this.blocks.get(b);
        if (block) copyBlock(block, b, offset, out);
      }
    }
    return out;
  }

  async close(): Promise<void> {}
}

function copyBlock(block: Buffer, b: number, offset: number, out: Buffer): void {
  const start = b * BLOCK;
  const from = Math.max(offset, start);
  const to = Math.min(offset + out.length, start + BLOCK);
  if (to > from) block.copy(out, from - offset, from - start, to - start);
}
