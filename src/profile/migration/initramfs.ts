import { constants, gunzipSync } from 'node:zlib';
import { corrupt, GuestkitError } from '../../protocol/errors.js';
import { isCpio, listCpio } from './cpio.js';
import { isLz4, lz4Decompress } from './lz4.js';
import { xzDecompress } from '../../util/xz.js';
import { zstdDecompress } from '../../util/zstd.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'lz4' | 'bzip2' | 'lzma' | 'lzo';

export interface InitramfsListing {
  /** Member paths without a leading `/` or `./`. */
  names: string[];
  /** Each archive found, in order: an uncompressed early one (microcode), then the main one. */
  segments: { offset: number; compression: Compression; entries: number }[];
}

export interface InitramfsLimits {
  /** Largest decompressed size accepted (a hostile stream must not fill memory). */
  maxOutput: number;
  maxEntries: number;
}

const DEFAULTS: InitramfsLimits = { maxOutput: 1 << 30, maxEntries: 500_000 };

/**
 * Lists an initramfs as the kernel unpacks it: uncompressed newc archives (early microcode,
 * firmware) followed by one compressed archive (gzip, zstd, xz, lz4), zero padding between.
 */
export async function listInitramfs(buf: Buffer, limits: Partial<InitramfsLimits> = {}): Promise<InitramfsListing> {
  const lim = { ...DEFAULTS, ...limits };
  const names: string[] = [];
  const segments: InitramfsListing['segments'] = [];
  let at = 0;
  while (at < buf.length) {
    while (at < buf.length && buf[at] === 0) at++;
    if (at >= buf.length) break;
    if (isCpio(buf, at)) {
      const r = listCpio(buf, at, lim.maxEntries - names.length);
      segments.push({ offset: at, compression: 'none', entries: r.entries.length });
      for (const e of r.entries) names.push(e.name);
      at = r.end;
      continue;
    }
    const compression = detect(buf, at);
    const data = await decompress(compression, buf.subarray(at), lim.maxOutput);
    let n = 0;
    for (let p = 0; p < data.length; ) {
      while (p < data.length && data[p] === 0) p++;
      if (p >= data.length) break;
      const r = listCpio(data, p, lim.maxEntries - names.length);
      for (const e of r.entries) names.push(e.name);
      n += r.entries.length;
      p = r.end;
    }
    segments.push({ offset: at, compression, entries: n });
    break; // the compressed archive is the last part the kernel reads
  }
  if (segments.length === 0) throw corrupt('initramfs: empty');
  return { names, segments };
}

function detect(buf: Buffer, at: number): Compression {
  const b = buf.subarray(at, at + 6);
  if (b.length < 6) throw corrupt(`initramfs: ${b.length} stray bytes at offset ${at}`);
  if (b[0] === 0x1f && (b[1] === 0x8b || b[1] === 0x9e)) return 'gzip';
  if (b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (isLz4(buf, at)) return 'lz4';
  if (b.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (b[0] === 0x89 && b.toString('latin1', 1, 4) === 'LZO') return 'lzo';
  if (b[0] === 0x5d && b[1] === 0x00 && b[2] === 0x00) return 'lzma';
  throw corrupt(`initramfs: neither a cpio archive nor a known compression at offset ${at} (bytes ${b.toString('hex')})`);
}

async function decompress(c: Compression, data: Buffer, max: number): Promise<Buffer> {
  switch (c) {
    case 'gzip':
      try {
        // Z_SYNC_FLUSH: a stream cut short still gives what it holds (the listing then says where it ends)
        return gunzipSync(data, { maxOutputLength: max, finishFlush: constants.Z_SYNC_FLUSH });
      } catch (err) {
        throw corrupt(`initramfs: gzip: ${(err as Error).message}`);
      }
    case 'zstd':
      // whatever follows the frame (padding) ends it; the cpio listing checks the archive is whole
      return zstdDecompress(data, max, 'initramfs', { keepTrailing: true });
    case 'xz':
      return xzDecompress(data, max, 'initramfs');
    case 'lz4':
      return lz4Decompress(data, max);
    default:
      throw new GuestkitError('UNSUPPORTED_FORMAT', `initramfs compressed with ${c}: guestkit reads gzip, zstd, xz and lz4 ones`, { details: { compression: c } });
  }
}


