import { inflateRaw, constants as zc } from 'node:zlib';
import { promisify } from 'node:util';
import { decompress as zstdDecompress } from 'fzstd';
import { corrupt } from '../../protocol/errors.js';
import type { CompressionType } from './header.js';

const inflateRawAsync = promisify(inflateRaw);

/**
 * Decompresses one qcow2 compressed cluster. The stored bytes run to a
 * sector boundary, so trailing garbage after the stream is normal; the
 * output must fill exactly one cluster (as qemu requires).
 */
export async function decompressCluster(
  data: Buffer,
  type: CompressionType,
  clusterSize: number,
  where: string,
): Promise<Buffer> {
  if (type === 'zlib') {
    let out: Buffer;
    try {
      // Z_SYNC_FLUSH: a stream that fills the cluster without an end marker is still valid (qemu accepts Z_BUF_ERROR).
      out = await inflateRawAsync(data, { maxOutputLength: clusterSize, finishFlush: zc.Z_SYNC_FLUSH, chunkSize: Math.max(clusterSize, 1024) });
    } catch (err) {
      throw corrupt(`${where}: compressed cluster does not inflate (${(err as Error).message})`);
    }
    if (out.length !== clusterSize) {
      throw corrupt(`${where}: compressed cluster inflates to ${out.length} bytes, expected ${clusterSize}`);
    }
    return out;
  }
  const frame = data.subarray(0, zstdFrameLength(data, where));
  const out = Buffer.alloc(clusterSize);
  let got: Uint8Array;
  try {
    // A caller-supplied buffer bounds the output: fzstd never writes past it.
    got = zstdDecompress(frame, out);
  } catch (err) {
    throw corrupt(`${where}: zstd compressed cluster does not decode (${(err as Error).message})`);
  }
  if (got.length !== clusterSize) {
    throw corrupt(`${where}: zstd compressed cluster decodes to ${got.length} bytes, expected ${clusterSize}`);
  }
  return got.buffer === out.buffer ? out : Buffer.from(got.buffer, got.byteOffset, got.byteLength);
}

/** Length of the first zstd frame in `b` (RFC 8878 §3.1.1), so the sector padding after it is not decoded. */
export function zstdFrameLength(b: Buffer, where: string): number {
  const bad = (why: string) => corrupt(`${where}: zstd frame ${why}`);
  if (b.length < 6 || b.readUInt32LE(0) !== 0xfd2fb528) throw bad('has a bad magic number');
  const fhd = b[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  let off = 5 + (single ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  // Every block has a 3-byte header, so the loop ends within b.length/3 steps.
  for (;;) {
    if (off + 3 > b.length) throw bad('is truncated');
    const hdr = b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16);
    const last = hdr & 1;
    const btype = (hdr >> 1) & 3;
    const bsize = hdr >>> 3;
    if (btype === 3) throw bad('has a reserved block type');
    off += 3 + (btype === 1 ? 1 : bsize);
    if (off > b.length) throw bad('is truncated');
    if (last) break;
  }
  off += checksum ? 4 : 0;
  if (off > b.length) throw bad('is truncated');
  return off;
}
