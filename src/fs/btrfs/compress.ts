import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { lzo1xDecompress } from './lzo.js';

export const COMPRESS_NONE = 0;
export const COMPRESS_ZLIB = 1;
export const COMPRESS_LZO = 2;
export const COMPRESS_ZSTD = 3;
/** Btrfs never compresses more than this into one extent (BTRFS_MAX_UNCOMPRESSED). */
export const MAX_UNCOMPRESSED = 128 * 1024;

/**
 * Btrfs's LZO container: a 4-byte total length, then segments of (4-byte
 * length, LZO1X data) each holding up to one sector of output; a segment
 * header never straddles a sector boundary (the gap is padding).
 */
function btrfsLzo(src: Buffer, ramBytes: number, sectorSize: number): Buffer {
  if (src.length < 4) throw corrupt('btrfs lzo: extent shorter than its header');
  const total = src.readUInt32LE(0);
  if (total > src.length || total < 4) throw corrupt(`btrfs lzo: total length ${total} exceeds the ${src.length}-byte extent`);
  const parts: Buffer[] = [];
  let have = 0;
  let pos = 4;
  while (pos < total && have < ramBytes) {
    const left = sectorSize - (pos % sectorSize);
    if (left < 4) pos += left;
    if (pos + 4 > total) break;
    const segLen = src.readUInt32LE(pos);
    pos += 4;
    if (segLen === 0 || pos + segLen > total) throw corrupt(`btrfs lzo: segment of ${segLen} bytes at ${pos} runs past the extent`);
    const seg = lzo1xDecompress(src.subarray(pos, pos + segLen), Math.min(sectorSize, ramBytes - have));
    parts.push(seg);
    have += seg.length;
    pos += segLen;
  }
  return Buffer.concat(parts, have);
}

/** Length of the first zstd frame in `b` (btrfs pads the frame with zeros to a sector). */
function zstdFrameLength(b: Buffer): number {
  if (b.length < 6 || b.readUInt32LE(0) !== 0xfd2fb528) throw corrupt('btrfs zstd: bad frame magic');
  const fhd = b[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictId = [0, 1, 2, 4][fhd & 3]!;
  const fcs = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  let pos = 5 + (single ? 0 : 1) + dictId + fcs;
  for (let blocks = 0; ; blocks++) {
    if (pos + 3 > b.length || blocks > 1 << 16) throw corrupt('btrfs zstd: frame runs past the extent');
    const h = b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16);
    const last = h & 1;
    const type = (h >> 1) & 3;
    const size = h >>> 3;
    pos += 3 + (type === 1 ? 1 : size); // RLE blocks store one byte
    if (type === 3) throw corrupt('btrfs zstd: reserved block type');
    if (last) break;
  }
  pos += checksum ? 4 : 0;
  if (pos > b.length) throw corrupt('btrfs zstd: frame runs past the extent');
  return pos;
}

/** Decompresses one extent's bytes to exactly `ramBytes` (zero-filled if the stream is shorter, like the kernel). */
export function decompressExtent(kind: number, src: Buffer, ramBytes: number, sectorSize: number, what: string): Buffer {
  if (ramBytes > MAX_UNCOMPRESSED * 2 || ramBytes < 0) throw corrupt(`btrfs: ${what}: compressed extent claims ${ramBytes} bytes`);
  let out: Buffer;
  try {
    switch (kind) {
      case COMPRESS_ZLIB:
        out = inflateSync(src, { maxOutputLength: Math.max(ramBytes, 1), finishFlush: 2 /* Z_SYNC_FLUSH: tolerate a missing end */ });
        break;
      case COMPRESS_LZO:
        out = btrfsLzo(src, ramBytes, sectorSize);
        break;
      case COMPRESS_ZSTD: {
        const frame = src.subarray(0, zstdFrameLength(src));
        out = Buffer.from(zstdDecompress(frame, new Uint8Array(ramBytes)));
        break;
      }
      default:
        throw new GuestkitError('UNSUPPORTED_FORMAT', `btrfs: ${what}: unknown compression type ${kind}`);
    }
  } catch (err) {
    if (err instanceof GuestkitError) throw err;
    throw corrupt(`btrfs: ${what}: compressed data does not decode: ${(err as Error).message}`);
  }
  if (out.length === ramBytes) return out;
  const full = Buffer.alloc(ramBytes);
  out.copy(full, 0, 0, Math.min(out.length, ramBytes));
  return full;
}
