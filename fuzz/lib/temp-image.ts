import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import { decodeSparse, encodeChunks, type Chunk } from './sparse.js';
import { MAX_SEED } from './seeds.js';

/**
 * Image formats open files, so an image target writes its input to a file in a temp folder of
 * its own (one per process, under /dev/shm when there is one, reused by every input) and opens
 * that. An input in the sparse encoding (sparse.ts, "GKSP") becomes a sparse file of its virtual
 * size (big images cost their metadata only); any other input is written as it is.
 */
const SPARSE_MAGIC = 0x50534b47;
/** A sparse input never makes a file bigger than this (a mutated size field). */
export const MAX_FILE = 8 * 2 ** 30;

let dir: string | undefined;

/** This process's temp folder (real path: the allowed root of the images opened from it). */
export function tempDir(): string {
  if (!dir) {
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const d = join(base, `guestkit-fuzz-${process.pid}`);
    mkdirSync(d, { recursive: true });
    dir = realpathSync(d);
    const made = dir;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

/** Writes one input as file `name` of the temp folder (raw, or a sparse file when it is GKSP-encoded); returns its path. */
export function writeTempImage(name: string, data: Buffer): string {
  const path = join(tempDir(), name);
  const fd = openSync(path, 'w');
  try {
    if (data.length >= 16 && data.readUInt32LE(0) === SPARSE_MAGIC) {
      const img = decodeSparse(data);
      const size = Math.min(img.size, MAX_FILE);
      ftruncateSync(fd, size);
      for (const c of img.chunks) {
        const n = Math.min(c.data.length, size - c.offset);
        if (n > 0) writeSync(fd, c.data, 0, n, c.offset);
      }
    } else {
      writeSync(fd, data, 0, data.length, 0);
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Removes the files a previous input left (an extent named by the last descriptor). */
export function clearTemp(): void {
  const d = tempDir();
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
}

/**
 * An image file as a seed: small files as they are; bigger ones sparse-encoded, keeping the
 * nonzero 4 KiB blocks of the first `head` bytes of data and of the last `tail` bytes of the
 * file (headers, tables, footers: where the image formats keep their metadata), guest data
 * past that left out (it reads as zeros). Keeps every seed well under MAX_SEED, so the
 * fuzzer's mutations land on metadata.
 */
export async function imageSeed(path: string | undefined, head = 1 << 20, tail = 256 << 10, alwaysSparse = false): Promise<Buffer | undefined> {
  if (!path || !existsSync(path)) return undefined;
  const size = statSync(path).size;
  if (size <= head && !alwaysSparse) return readFileSync(path);
  const f = await open(path, 'r');
  try {
    const kept: Chunk[] = [];
    const block = Buffer.alloc(4096);
    const keep = async (off: number): Promise<number> => {
      const { bytesRead } = await f.read(block, 0, Math.min(4096, size - off), off);
      const b = block.subarray(0, bytesRead);
      if (b.every((x) => x === 0)) return 0;
      kept.push({ offset: off, data: Buffer.from(b) });
      return b.length;
    };
    const tailFrom = Math.max(0, Math.floor((size - tail) / 4096) * 4096);
    let total = 0;
    for (let off = 0; off < tailFrom && total < head; off += 4096) total += await keep(off);
    for (let off = tailFrom; off < size; off += 4096) total += await keep(off);
    const enc = encodeChunks(size, kept);
    return enc.length <= MAX_SEED ? enc : undefined;
  } finally {
    await f.close();
  }
}

export async function imageSeeds(paths: (string | undefined)[], head?: number, tail?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const p of paths) {
    const s = await imageSeed(p, head, tail);
    if (s) out.push(s);
  }
  return out;
}

/** A file sparse-encoded with only the nonzero 4 KiB blocks that touch one of `ranges` ([start, end) byte ranges). */
export async function rangesSeed(path: string, ranges: [number, number][]): Promise<Buffer | undefined> {
  const size = statSync(path).size;
  const want = new Set<number>();
  for (const [s, e] of ranges) {
    for (let b = Math.floor(Math.max(0, s) / 4096); b * 4096 < Math.min(e, size); b++) want.add(b);
  }
  const f = await open(path, 'r');
  try {
    const kept: Chunk[] = [];
    const block = Buffer.alloc(4096);
    for (const b of [...want].sort((x, y) => x - y)) {
      const { bytesRead } = await f.read(block, 0, Math.min(4096, size - b * 4096), b * 4096);
      const data = block.subarray(0, bytesRead);
      if (!data.every((x) => x === 0)) kept.push({ offset: b * 4096, data: Buffer.from(data) });
    }
    const enc = encodeChunks(size, kept);
    return enc.length <= MAX_SEED ? enc : undefined;
  } finally {
    await f.close();
  }
}
