import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { BlockDevice } from '../../src/disk/types.js';
import { openFilesystem } from '../../src/fs/open.js';
import { MAX_SEED } from './seeds.js';
import { encodeChunks, type Chunk } from './sparse.js';
import { walkFs, type WalkLimits } from './walk-fs.js';

const BLOCK = 4096;

/** A file as a block device that remembers which 4 KiB blocks were read. */
class TracingDevice implements BlockDevice {
  readonly size: number;
  readonly touched = new Set<number>();
  private readonly fd: number;
  constructor(readonly path: string, readonly name = 'seed.img') {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    readSync(this.fd, out, 0, length, offset);
    for (let b = Math.floor(offset / BLOCK); b * BLOCK < offset + length; b++) this.touched.add(b);
    return out;
  }
  async close(): Promise<void> {
    closeSync(this.fd);
  }
  /** These blocks of the file (the zero ones left out), sparse-encoded. */
  encode(blocks: number[]): Buffer {
    const chunks: Chunk[] = [];
    for (const b of [...new Set(blocks)].sort((x, y) => x - y)) {
      if (b * BLOCK >= this.size) continue;
      const data = Buffer.alloc(Math.min(BLOCK, this.size - b * BLOCK));
      readSync(this.fd, data, 0, data.length, b * BLOCK);
      if (!data.every((x) => x === 0)) chunks.push({ offset: b * BLOCK, data });
    }
    return encodeChunks(this.size, chunks);
  }
}

/**
 * A filesystem image as a seed of its metadata: the image is opened by guestkit's own driver
 * and walked as the fuzz target walks it; the 4 KiB blocks that walk read without reading
 * files (superblocks, trees, inodes, directories) are kept, then the blocks reading each
 * file's first byte adds (extent maps, first data blocks) while the seed stays under 3/4 of
 * MAX_SEED; the rest of the file data is left out (reads as zeros).
 * Images whose data alone is over MAX_SEED (hundreds of MiB of test files) fit this way, and
 * the fuzzer's mutations land on metadata.
 */
export async function tracedFsSeeds(type: string, paths: (string | undefined)[], limits: Partial<WalkLimits> = {}): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const p of paths) {
    if (!p) continue;
    // the metadata (a walk reading no file bytes), then what a walk reading each file's first byte adds, in the order read, while it fits
    const meta = await trace(type, p, { ...limits, fileBytes: 0 });
    const files = await trace(type, p, { ...limits, fileBytes: 1 });
    const dev = new TracingDevice(p);
    try {
      const keep = new Set([...HEAD, ...meta]);
      const budget = Math.floor((MAX_SEED * 3) / 4 / BLOCK);
      for (const b of files) {
        if (keep.size >= budget) break;
        keep.add(b);
      }
      const seed = dev.encode([...keep]);
      if (seed.length <= MAX_SEED) out.push(seed);
    } finally {
      await dev.close();
    }
  }
  return out;
}

/** The first 64 KiB (boot sectors, superblocks) are always kept. */
const HEAD = Array.from({ length: 16 }, (_, i) => i);

async function trace(type: string, path: string, limits: Partial<WalkLimits>): Promise<number[]> {
  const dev = new TracingDevice(path);
  try {
    const fs = await openFilesystem(dev, type);
    await walkFs(fs, limits);
    await fs.close?.();
    return [...dev.touched];
  } finally {
    await dev.close();
  }
}
