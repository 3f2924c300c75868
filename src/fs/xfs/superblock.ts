import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const XFS_SB_MAGIC = 0x58465342; // "XFSB"

/** The fields of the XFS superblock (AG 0, sector 0) the reader needs; all big-endian on disk. */
export interface XfsSuperblock {
  blockSize: number;
  dblocks: number;
  uuid: string;
  logStart: number;
  rootIno: number;
  agBlocks: number;
  agCount: number;
  logBlocks: number;
  version: number;
  sectSize: number;
  inodeSize: number;
  inoPerBlock: number;
  label: string;
  blockLog: number;
  inodeLog: number;
  inoPerBlockLog: number;
  agBlockLog: number;
  icount: number;
  ifree: number;
  fdblocks: number;
  dirBlockLog: number;
  /** Directory entries carry a file type byte. */
  ftype: boolean;
  /** v5: metadata blocks carry CRC headers (XDB3, BMA3, …). */
  crc: boolean;
  incompat: number;
  logSectSize: number;
}

const INCOMPAT_FTYPE = 0x1;
const INCOMPAT_SPINODES = 0x2;
const INCOMPAT_META_UUID = 0x4;
const INCOMPAT_BIGTIME = 0x8;
const INCOMPAT_NEEDSREPAIR = 0x10;
const INCOMPAT_NREXT64 = 0x20;
const INCOMPAT_EXCHRANGE = 0x40;
const INCOMPAT_PARENT = 0x80;
/** Incompat features whose on-disk changes the reader understands (parent pointers only add xattrs). */
const INCOMPAT_KNOWN =
  INCOMPAT_FTYPE | INCOMPAT_SPINODES | INCOMPAT_META_UUID | INCOMPAT_BIGTIME | INCOMPAT_NEEDSREPAIR | INCOMPAT_NREXT64 | INCOMPAT_EXCHRANGE | INCOMPAT_PARENT;
const VERSION2_FTYPE = 0x200;
const VERSION_MOREBITS = 0x8000;

export function parseSuperblock(buf: Buffer): XfsSuperblock {
  const r = new BinaryReader(buf, 'xfs superblock');
  if (r.u32be(0) !== XFS_SB_MAGIC) throw corrupt('xfs superblock: bad magic (expected XFSB)');
  const versionNum = r.u16be(100);
  const version = versionNum & 0xf;
  if (version !== 4 && version !== 5) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `xfs: superblock version ${version} is not supported (4 and 5 are)`);
  }
  const blockSize = r.u32be(4);
  const blockLog = r.u8(120);
  const sectSize = r.u16be(102);
  const inodeSize = r.u16be(104);
  const inodeLog = r.u8(122);
  const inoPerBlock = r.u16be(106);
  const inoPerBlockLog = r.u8(123);
  const agBlockLog = r.u8(124);
  const agBlocks = r.u32be(84);
  const agCount = r.u32be(88);
  const dblocks = r.u64be(8);
  const dirBlockLog = r.u8(192);
  // Geometry must be self-consistent before any of it is used for address arithmetic.
  if (blockLog < 9 || blockLog > 16 || blockSize !== 1 << blockLog) throw corrupt(`xfs superblock: bad block size ${blockSize} (log ${blockLog})`);
  if (inodeLog < 8 || inodeLog > 11 || inodeSize !== 1 << inodeLog) throw corrupt(`xfs superblock: bad inode size ${inodeSize}`);
  if (inoPerBlockLog !== blockLog - inodeLog || inoPerBlock !== 1 << inoPerBlockLog) throw corrupt('xfs superblock: inodes-per-block inconsistent');
  if (agBlocks < 1 || agBlockLog > 31 || agBlocks > 2 ** agBlockLog || agBlocks <= 2 ** (agBlockLog - 1)) {
    throw corrupt(`xfs superblock: AG size ${agBlocks} inconsistent with agblklog ${agBlockLog}`);
  }
  if (agCount < 1 || dblocks < 1 || dblocks > agCount * agBlocks || (agCount - 1) * agBlocks >= dblocks) throw corrupt(`xfs superblock: ${dblocks} blocks in ${agCount} AGs of ${agBlocks}`);
  if (dirBlockLog > 6 || blockLog + dirBlockLog > 16) throw corrupt(`xfs superblock: bad directory block log ${dirBlockLog}`);
  const features2 = versionNum & VERSION_MOREBITS ? r.u32be(200) : 0;
  const incompat = version === 5 ? r.u32be(216) : 0;
  if (version === 5 && incompat & ~INCOMPAT_KNOWN) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `xfs: unknown incompatible features 0x${(incompat & ~INCOMPAT_KNOWN).toString(16)}`);
  }
  const ftype = version === 5 ? (incompat & INCOMPAT_FTYPE) !== 0 : (features2 & VERSION2_FTYPE) !== 0;
  const rootIno = r.u64be(56);
  const label = r.cstring(108, 12);
  return {
    blockSize,
    dblocks,
    uuid: r.uuid(32),
    logStart: r.u64be(48),
    rootIno,
    agBlocks,
    agCount,
    logBlocks: r.u32be(96),
    version,
    sectSize,
    inodeSize,
    inoPerBlock,
    label,
    blockLog,
    inodeLog,
    inoPerBlockLog,
    agBlockLog,
    icount: r.u64be(128),
    ifree: r.u64be(136),
    fdblocks: r.u64be(144),
    dirBlockLog,
    ftype,
    crc: version === 5,
    incompat,
    logSectSize: r.u16be(194) || 512,
  };
}
