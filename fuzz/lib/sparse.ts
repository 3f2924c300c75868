import { corrupt } from '../../src/protocol/errors.js';

/**
 * A sparse image as one fuzz input: the nonzero 4 KiB blocks of a real image with their
 * offsets. Filesystem and volume images are hundreds of MiB of mostly zeros (XFS cannot be
 * made smaller than 300 MiB), too big for a fuzzer to mutate whole; their metadata fits in
 * a few hundred KiB this way, and every mutation lands on bytes that matter.
 *
 * Layout: "GKSP" | u32 version 1 | u64 virtual size | { u64 offset | u32 length | bytes }*
 */
const MAGIC = 0x50534b47; // "GKSP" little-endian
const BLOCK = 4096;
/** A decoded image never claims more than this (a mutated size field must not make reads huge). */
export const MAX_VIRTUAL = 2 ** 40;

export interface Chunk {
  offset: number;
  data: Buffer;
}

/** The nonzero 4 KiB blocks of a flat image, encoded. */
export function encodeSparse(image: Buffer, virtualSize = image.length): Buffer {
  const blocks: Chunk[] = [];
  for (let off = 0; off < image.length; off += BLOCK) {
    const block = image.subarray(off, Math.min(off + BLOCK, image.length));
    if (!block.every((b) => b === 0)) blocks.push({ offset: off, data: block });
  }
  return encodeChunks(virtualSize, blocks);
}

/** Chunks in offset order, encoded; chunks that touch are merged into one. */
export function encodeChunks(virtualSize: number, chunks: Chunk[]): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(1, 4);
  head.writeBigUInt64LE(BigInt(virtualSize), 8);
  const parts: Buffer[] = [head];
  for (let i = 0; i < chunks.length; ) {
    let j = i;
    while (j + 1 < chunks.length && chunks[j + 1]!.offset === chunks[j]!.offset + chunks[j]!.data.length) j++;
    const data = Buffer.concat(chunks.slice(i, j + 1).map((c) => c.data));
    const h = Buffer.alloc(12);
    h.writeBigUInt64LE(BigInt(chunks[i]!.offset), 0);
    h.writeUInt32LE(data.length, 8);
    parts.push(h, data);
    i = j + 1;
  }
  return Buffer.concat(parts);
}

export interface SparseImage {
  size: number;
  /** Nonzero chunks in input order (a later chunk overwrites an earlier one where they overlap). */
  chunks: Chunk[];
}
/** Decodes what encodeSparse made, or what a fuzzer made of it: never throws past a typed error. */
export function decodeSparse(buf: Buffer): SparseImage {
  if (buf.length < 16 || buf.readUInt32LE(0) !== MAGIC) throw corrupt('not a sparse fuzz image (no GKSP header)');
  const size = Math.min(Number(buf.readBigUInt64LE(8)), MAX_VIRTUAL);
  const chunks: Chunk[] = [];
  let at = 16;
  while (at + 12 <= buf.length) {
    const offset = Number(buf.readBigUInt64LE(at));
    const len = Math.min(buf.readUInt32LE(at + 8), buf.length - at - 12);
    at += 12;
    if (offset < size) chunks.push({ offset, data: buf.subarray(at, at + Math.min(len, size - offset)) });
    at += len;
  }
  return { size, chunks };
}
