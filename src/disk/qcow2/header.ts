import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Incompatible feature bits (header offset 72). */
export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_DATA_FILE = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTL2 = 1n << 4n;
/** Bits this reader understands; any other set bit refuses the image. */
export const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;

export const COMPAT_LAZY_REFCOUNTS = 1n << 0n;
export const AUTOCLEAR_BITMAPS = 1n << 0n;
export const AUTOCLEAR_DATA_FILE_RAW = 1n << 1n;

/** qemu's own limits: 512 B .. 2 MiB clusters, an L1 table of at most 32 MiB. */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const MAX_L1_BYTES = 32 * 1024 * 1024;
export const MAX_BACKING_NAME = 1023;

export type CompressionType = 'zlib' | 'zstd';

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  clusterSize: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatible: bigint;
  compatible: bigint;
  autoclear: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: CompressionType;
  /** Derived: bytes per L2 entry (8, or 16 with extended L2) and entries per L2 table. */
  l2EntrySize: number;
  l2Entries: number;
  extendedL2: boolean;
}

/** Parses the fixed header. `file` names the image in messages; `fileSize` bounds every offset. */
export function parseHeader(buf: Buffer, file: string, fileSize: number): Qcow2Header {
  const r = new BinaryReader(buf, `qcow2 header of ${file}`);
  if (buf.length < 72) throw corrupt(`${file}: qcow2 header truncated (${buf.length} bytes)`, { path: file });
  if (r.u32be(0) !== QCOW2_MAGIC) throw corrupt(`${file}: not a qcow2 image (bad magic)`, { path: file });
  const version = r.u32be(4);
  if (version !== 2 && version !== 3) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${file}: qcow2 version ${version} is not supported (only 2 and 3)`, {
      details: { path: file, version },
    });
  }
  const clusterBits = r.u32be(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw corrupt(`${file}: qcow2 cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`, {
      path: file,
      cluster_bits: clusterBits,
    });
  }
  const clusterSize = 2 ** clusterBits;
  const h: Qcow2Header = {
    version,
    backingFileOffset: r.u64be(8),
    backingFileSize: r.u32be(16),
    clusterBits,
    clusterSize,
    size: r.u64be(24),
    cryptMethod: r.u32be(32),
    l1Size: r.u32be(36),
    l1TableOffset: r.u64be(40),
    refcountTableOffset: r.u64be(48),
    refcountTableClusters: r.u32be(56),
    nbSnapshots: r.u32be(60),
    snapshotsOffset: r.u64be(64),
    incompatible: 0n,
    compatible: 0n,
    autoclear: 0n,
    refcountOrder: 4,
    headerLength: 72,
    compressionType: 'zlib',
    l2EntrySize: 8,
    l2Entries: clusterSize / 8,
    extendedL2: false,
  };
  if (version === 3) {
    if (buf.length < 104) throw corrupt(`${file}: qcow2 v3 header truncated`, { path: file });
    h.incompatible = r.u64beBig(72);
    h.compatible = r.u64beBig(80);
    h.autoclear = r.u64beBig(88);
    h.refcountOrder = r.u32be(96);
    h.headerLength = r.u32be(100);
    if (h.headerLength < 104 || h.headerLength > clusterSize || h.headerLength > buf.length) {
      throw corrupt(`${file}: qcow2 header_length ${h.headerLength} is invalid`, { path: file });
    }
    if (h.refcountOrder > 6) throw corrupt(`${file}: qcow2 refcount_order ${h.refcountOrder} > 6`, { path: file });
    if (h.incompatible & INCOMPAT_COMPRESSION) {
      if (h.headerLength < 105) throw corrupt(`${file}: compression type bit set but header has no compression_type field`);
      const ct = r.u8(104);
      if (ct === 0) h.compressionType = 'zlib';
      else if (ct === 1) h.compressionType = 'zstd';
      else {
        throw new GuestkitError('UNSUPPORTED_FORMAT', `${file}: qcow2 compression type ${ct} is unknown`, {
          details: { path: file, compression_type: ct },
        });
      }
    }
    h.extendedL2 = (h.incompatible & INCOMPAT_EXTL2) !== 0n;
    if (h.extendedL2) {
      // Subclusters are cluster_size/32, and qemu requires them to be at least 512 bytes.
      if (clusterBits < 14) throw corrupt(`${file}: extended L2 needs clusters of at least 16 KiB`, { path: file });
      h.l2EntrySize = 16;
      h.l2Entries = clusterSize / 16;
    }
  }
  // The L1 table must cover the virtual size and stay within qemu's limit and the file.
  const perL1 = clusterSize * h.l2Entries;
  const needL1 = Math.ceil(h.size / perL1);
  if (h.l1Size < needL1) {
    throw corrupt(`${file}: qcow2 L1 table (${h.l1Size} entries) is too small for virtual size ${h.size} (needs ${needL1})`, {
      path: file,
      l1_size: h.l1Size,
      size: h.size,
    });
  }
  if (h.l1Size * 8 > MAX_L1_BYTES) throw corrupt(`${file}: qcow2 L1 table of ${h.l1Size} entries is absurdly large`, { path: file });
  if (h.l1Size > 0) checkTableOffset(h.l1TableOffset, h.l1Size * 8, clusterSize, fileSize, `${file}: qcow2 L1 table`);
  if (h.backingFileOffset !== 0) {
    if (h.backingFileSize === 0 || h.backingFileSize > MAX_BACKING_NAME) {
      throw corrupt(`${file}: qcow2 backing file name length ${h.backingFileSize} is invalid`, { path: file });
    }
    if (h.backingFileOffset + h.backingFileSize > clusterSize) {
      throw corrupt(`${file}: qcow2 backing file name lies outside the header cluster`, { path: file });
    }
  }
  return h;
}

/** Offset must be cluster aligned and the table must end inside the file. */
export function checkTableOffset(offset: number, bytes: number, clusterSize: number, fileSize: number, what: string): void {
  if (offset % clusterSize !== 0) {
    throw corrupt(`${what}: offset ${offset} is not aligned to the ${clusterSize}-byte cluster size`, { offset });
  }
  if (offset === 0 || offset + bytes > fileSize) {
    throw corrupt(`${what}: ${bytes} bytes at offset ${offset} lie outside the ${fileSize}-byte file`, {
      offset,
      length: bytes,
      file_size: fileSize,
    });
  }
}

/** Names of set bits in `bits & ~known`, using the image's feature name table when it has one. */
export function unknownFeatureNames(bits: bigint, known: bigint, names: Map<number, string>): string[] {
  const out: string[] = [];
  const rest = bits & ~known;
  for (let i = 0; i < 64; i++) {
    if (rest & (1n << BigInt(i))) out.push(names.get(i) ?? `bit ${i}`);
  }
  return out;
}
