import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
const EXT_MAGIC = 0xef53;

export const COMPAT = { HAS_JOURNAL: 0x4, RESIZE_INODE: 0x10, DIR_INDEX: 0x20, SPARSE_SUPER2: 0x200 } as const;
export const RO_COMPAT = { SPARSE_SUPER: 0x1, LARGE_FILE: 0x2, HUGE_FILE: 0x8, BIGALLOC: 0x200, METADATA_CSUM: 0x400 } as const;
export const INCOMPAT = {
  COMPRESSION: 0x1,
  FILETYPE: 0x2,
  RECOVER: 0x4,
  JOURNAL_DEV: 0x8,
  META_BG: 0x10,
  EXTENTS: 0x40,
  BIT64: 0x80,
  MMP: 0x100,
  FLEX_BG: 0x200,
  EA_INODE: 0x400,
  DIRDATA: 0x1000,
  CSUM_SEED: 0x2000,
  LARGEDIR: 0x4000,
  INLINE_DATA: 0x8000,
  ENCRYPT: 0x10000,
  CASEFOLD: 0x20000,
} as const;

const INCOMPAT_NAMES: Record<number, string> = {
  0x1: 'compression',
  0x2: 'filetype',
  0x4: 'needs_recovery',
  0x8: 'journal_dev',
  0x10: 'meta_bg',
  0x40: 'extent',
  0x80: '64bit',
  0x100: 'mmp',
  0x200: 'flex_bg',
  0x400: 'ea_inode',
  0x1000: 'dirdata',
  0x2000: 'metadata_csum_seed',
  0x4000: 'large_dir',
  0x8000: 'inline_data',
  0x10000: 'encrypt',
  0x20000: 'casefold',
};
/** Incompat features this reader understands (ea_inode only moves xattr values, which files never need). */
const INCOMPAT_READABLE =
  INCOMPAT.FILETYPE | INCOMPAT.RECOVER | INCOMPAT.META_BG | INCOMPAT.EXTENTS | INCOMPAT.BIT64 | INCOMPAT.MMP |
  INCOMPAT.FLEX_BG | INCOMPAT.EA_INODE | INCOMPAT.CSUM_SEED | INCOMPAT.LARGEDIR | INCOMPAT.INLINE_DATA |
  INCOMPAT.ENCRYPT | INCOMPAT.CASEFOLD;

export interface Superblock {
  inodesCount: number;
  blocksCount: number;
  reservedBlocks: number;
  freeBlocks: number;
  freeInodes: number;
  firstDataBlock: number;
  blockSize: number;
  clusterSize: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  revLevel: number;
  firstIno: number;
  inodeSize: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  uuid: string;
  label: string;
  lastMounted: string;
  descSize: number;
  firstMetaBg: number;
  backupBgs: [number, number];
  groupCount: number;
  /** s_state: bit 0x2 = errors detected. */
  state: number;
  /** Inode of the internal journal (0: none or an external journal device). */
  journalInum: number;
  /** ext2/ext3/ext4, decided as blkid does (by features, not by what created it). */
  fsType: 'ext2' | 'ext3' | 'ext4';
  featureNames: string[];
}

export function hasIncompat(sb: Superblock, bit: number): boolean {
  return (sb.featureIncompat & bit) !== 0;
}

/** Parses and checks the primary superblock (1024 bytes at byte 1024). */
export function parseSuperblock(buf: Buffer, devName: string): Superblock {
  const r = new BinaryReader(buf, 'ext superblock');
  const magic = r.u16le(0x38);
  if (magic !== EXT_MAGIC) {
    throw corrupt(`${devName}: no ext2/3/4 superblock: magic 0x${magic.toString(16)} at byte 1080, expected 0xef53`, {
      device: devName,
      offset: 1080,
      magic,
    });
  }
  const featureCompat = r.u32le(0x5c);
  const featureIncompat = r.u32le(0x60);
  const featureRoCompat = r.u32le(0x64);
  const bad = (what: string, details: Record<string, unknown> = {}) =>
    corrupt(`${devName}: ext superblock: ${what}`, { device: devName, ...details });

  const unknown = (featureIncompat & ~INCOMPAT_READABLE) >>> 0;
  if (unknown) {
    const names: string[] = [];
    for (let i = 0; i < 32; i++) {
      const bit = 2 ** i;
      if (Math.floor(unknown / bit) % 2 === 1) names.push(INCOMPAT_NAMES[bit] ?? `incompat bit 0x${bit.toString(16)}`);
    }
    const jdev = (featureIncompat & INCOMPAT.JOURNAL_DEV) !== 0;
    throw new GuestkitError(
      'UNSUPPORTED_FORMAT',
      jdev
        ? `${devName}: this is an external ext3/4 journal device, not a filesystem`
        : `${devName}: ext filesystem uses incompatible feature(s) guestkit cannot read: ${names.join(', ')}`,
      { details: { device: devName, features: names } },
    );
  }

  const logBlock = r.u32le(0x18);
  if (logBlock > 6) throw bad(`block size 2^(10+${logBlock}) is not 1k..64k`, { offset: 0x18 });
  const blockSize = 1024 << logBlock;
  const logCluster = r.u32le(0x1c);
  const bigalloc = (featureRoCompat & RO_COMPAT.BIGALLOC) !== 0;
  if (bigalloc && (logCluster < logBlock || logCluster > 29)) throw bad(`cluster size log ${logCluster} is invalid`, { offset: 0x1c });
  const clusterSize = bigalloc ? 1024 * 2 ** logCluster : blockSize;

  const bit64 = (featureIncompat & INCOMPAT.BIT64) !== 0;
  const blocksCount = r.u32le(0x04) + (bit64 ? r.u32le(0x150) * 2 ** 32 : 0);
  const reservedBlocks = r.u32le(0x08) + (bit64 ? r.u32le(0x154) * 2 ** 32 : 0);
  const freeBlocks = r.u32le(0x0c) + (bit64 ? r.u32le(0x158) * 2 ** 32 : 0);
  const inodesCount = r.u32le(0x00);
  const freeInodes = r.u32le(0x10);
  const firstDataBlock = r.u32le(0x14);
  const blocksPerGroup = r.u32le(0x20);
  const inodesPerGroup = r.u32le(0x28);
  const revLevel = r.u32le(0x4c);

  if (blocksCount === 0 || !Number.isSafeInteger(blocksCount * blockSize)) throw bad(`block count ${blocksCount} is invalid`);
  if (firstDataBlock >= blocksCount) throw bad(`first data block ${firstDataBlock} is past the block count ${blocksCount}`);
  if (blockSize === 1024 ? firstDataBlock !== 1 && !bigalloc : firstDataBlock !== 0) {
    throw bad(`first data block ${firstDataBlock} does not fit block size ${blockSize}`);
  }
  const bitsPerBlock = blockSize * 8;
  const clusterRatio = clusterSize / blockSize;
  if (blocksPerGroup === 0 || blocksPerGroup > bitsPerBlock * clusterRatio) throw bad(`blocks per group ${blocksPerGroup} is invalid`, { offset: 0x20 });
  if (inodesPerGroup === 0 || inodesPerGroup > bitsPerBlock) throw bad(`inodes per group ${inodesPerGroup} is invalid`, { offset: 0x28 });
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (inodesCount === 0 || inodesCount > groupCount * inodesPerGroup) {
    throw bad(`inode count ${inodesCount} does not fit ${groupCount} groups of ${inodesPerGroup}`, { offset: 0 });
  }

  let inodeSize = 128;
  let firstIno = 11;
  if (revLevel >= 1) {
    inodeSize = r.u16le(0x58);
    firstIno = r.u32le(0x54);
    if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
      throw bad(`inode size ${inodeSize} is not a power of two between 128 and the block size ${blockSize}`, { offset: 0x58 });
    }
  }
  let descSize = 32;
  if (bit64) {
    descSize = r.u16le(0xfe);
    if (descSize < 64 || descSize > 1024 || (descSize & (descSize - 1)) !== 0) {
      throw bad(`group descriptor size ${descSize} is invalid for a 64bit filesystem`, { offset: 0xfe });
    }
  }
  if (freeBlocks > blocksCount) throw bad(`free block count ${freeBlocks} exceeds block count ${blocksCount}`);
  if (freeInodes > inodesCount) throw bad(`free inode count ${freeInodes} exceeds inode count ${inodesCount}`);

  const hasJournal = (featureCompat & COMPAT.HAS_JOURNAL) !== 0;
  // blkid's rule: anything beyond ext2/ext3's feature sets makes it ext4.
  const beyondExt3 = (featureRoCompat & ~0x7) !== 0 || (featureIncompat & ~(0x2 | 0x4 | 0x10)) !== 0;
  const beyondExt2 = (featureRoCompat & ~0x7) !== 0 || (featureIncompat & ~(0x2 | 0x10)) !== 0;
  const fsType = hasJournal ? (beyondExt3 ? 'ext4' : 'ext3') : beyondExt2 ? 'ext4' : 'ext2';

  const featureNames: string[] = [];
  for (const [bit, name] of Object.entries(INCOMPAT_NAMES)) if ((featureIncompat & Number(bit)) !== 0) featureNames.push(name);
  if (hasJournal) featureNames.push('has_journal');
  if (featureCompat & COMPAT.DIR_INDEX) featureNames.push('dir_index');
  if (featureRoCompat & RO_COMPAT.BIGALLOC) featureNames.push('bigalloc');
  if (featureRoCompat & RO_COMPAT.METADATA_CSUM) featureNames.push('metadata_csum');
  if (featureRoCompat & RO_COMPAT.HUGE_FILE) featureNames.push('huge_file');

  return {
    inodesCount,
    blocksCount,
    reservedBlocks,
    freeBlocks,
    freeInodes,
    firstDataBlock,
    blockSize,
    clusterSize,
    blocksPerGroup,
    inodesPerGroup,
    revLevel,
    firstIno,
    inodeSize,
    featureCompat,
    featureIncompat,
    featureRoCompat,
    uuid: r.uuid(0x68),
    label: r.bytes(0x78, 16).subarray(0, nulIndex(r.bytes(0x78, 16))).toString('utf8'),
    lastMounted: r.cstring(0x88, 64),
    descSize,
    firstMetaBg: r.u32le(0x104),
    backupBgs: [r.u32le(0x24c), r.u32le(0x250)],
    groupCount,
    state: r.u16le(0x3a),
    journalInum: (featureCompat & COMPAT.HAS_JOURNAL) !== 0 ? r.u32le(0xe0) : 0,
    fsType,
    featureNames,
  };
}

function nulIndex(b: Buffer): number {
  const i = b.indexOf(0);
  return i < 0 ? b.length : i;
}
