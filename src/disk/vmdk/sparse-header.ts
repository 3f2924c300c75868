import { BinaryReader } from '../../util/binary.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';

export const KDMV = 0x564d444b; // "KDMV" little-endian
export const COWD = 0x44574f43; // "COWD": ESX vmfsSparse
export const GD_AT_END = 0xffffffffffffffffn;
export const FLAG_ZEROED_GRAIN = 1 << 2;
export const FLAG_COMPRESSED = 1 << 16;
export const FLAG_MARKERS = 1 << 17;
export const COMPRESSION_DEFLATE = 1;
/** Largest grain accepted: decompression allocates one grain, so this bounds memory per read. */
const MAX_GRAIN_SECTORS = 1 << 17; // 64 MiB

/** SparseExtentHeader of a hosted sparse extent (monolithicSparse, twoGbMaxExtentSparse, streamOptimized). */
export interface SparseHeader {
  version: number;
  flags: number;
  capacity: number;
  grainSize: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  /** Sector of the grain directory; null means "at end" (streamOptimized: read the footer). */
  gdOffset: number | null;
  overHead: number;
  compressAlgorithm: number;
}

export function parseSparseHeader(buf: Buffer, where: string): SparseHeader {
  const r = new BinaryReader(buf, `VMDK sparse header (${where})`);
  const magic = r.u32le(0);
  if (magic === COWD) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: ESX vmfsSparse (COWD) extents are not supported`);
  }
  if (magic !== KDMV) throw corrupt(`${where}: no VMDK sparse header magic "KDMV"`);
  const version = r.u32le(4);
  if (version < 1 || version > 3) throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: VMDK sparse extent version ${version} is not supported`);
  const flags = r.u32le(8);
  const grainSize = r.u64le(20);
  if (grainSize < 1 || grainSize > MAX_GRAIN_SECTORS || (grainSize & (grainSize - 1)) !== 0) {
    throw corrupt(`${where}: grain size ${grainSize} sectors is not a power of two in 1..${MAX_GRAIN_SECTORS}`);
  }
  const numGTEsPerGT = r.u32le(44);
  if (numGTEsPerGT < 1 || numGTEsPerGT > 65536) throw corrupt(`${where}: ${numGTEsPerGT} entries per grain table is out of range`);
  const gdBig = r.u64leBig(56);
  const compressAlgorithm = r.u16le(77);
  if (flags & FLAG_COMPRESSED && compressAlgorithm !== COMPRESSION_DEFLATE) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: VMDK compression algorithm ${compressAlgorithm} is not supported (only deflate)`);
  }
  return {
    version,
    flags,
    capacity: r.u64le(12),
    grainSize,
    descriptorOffset: r.u64le(28),
    descriptorSize: r.u64le(36),
    numGTEsPerGT,
    rgdOffset: r.u64le(48),
    gdOffset: gdBig === GD_AT_END ? null : r.u64le(56),
    overHead: r.u64le(64),
    compressAlgorithm,
  };
}
