import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { COMPAT, INCOMPAT, RO_COMPAT, hasIncompat, type Superblock } from './superblock.js';

export interface GroupDescriptor {
  group: number;
  inodeTable: number;
  /** Inodes at the end of the group's table never used (only trusted with checksummed groups). */
  itableUnused: number;
  flags: number;
}

const BG_INODE_UNINIT = 0x1;

/** Whether group `g` holds a superblock backup (and so a descriptor copy under meta_bg). */
export function groupHasSuper(sb: Superblock, g: number): boolean {
  if (g === 0) return true;
  if (sb.featureCompat & COMPAT.SPARSE_SUPER2) return g === sb.backupBgs[0] || g === sb.backupBgs[1];
  if (g <= 1 || !(sb.featureRoCompat & RO_COMPAT.SPARSE_SUPER)) return true;
  if (g % 2 === 0) return false;
  return isPower(g, 3) || isPower(g, 5) || isPower(g, 7);
}

function isPower(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}

/** Block number holding the descriptor of group `g` (classic layout or meta_bg). */
export function descriptorBlock(sb: Superblock, g: number): number {
  const perBlock = sb.blockSize / sb.descSize;
  const descBlockIdx = Math.floor(g / perBlock);
  // The superblock sits at byte 1024: block 1 with 1 KiB blocks, block 0 otherwise.
  const sbBlock = sb.blockSize === 1024 ? 1 : 0;
  if (!hasIncompat(sb, INCOMPAT.META_BG) || descBlockIdx < sb.firstMetaBg) {
    return sbBlock + 1 + descBlockIdx;
  }
  // meta_bg: the descriptors of meta group M sit in the first group of M (after its superblock backup).
  const first = descBlockIdx * perBlock;
  const zeroAdjust = first === 0 && sb.blockSize === 1024 && sb.firstDataBlock === 0 ? 1 : 0;
  return sb.firstDataBlock + first * sb.blocksPerGroup + (groupHasSuper(sb, first) ? 1 : 0) + zeroAdjust;
}

/** Parses descriptor `g` from its block and checks that its inode table lies inside the filesystem. */
export function parseDescriptor(sb: Superblock, g: number, block: Buffer, blockNo: number): GroupDescriptor {
  const perBlock = sb.blockSize / sb.descSize;
  const off = (g % perBlock) * sb.descSize;
  const r = new BinaryReader(block, `ext group descriptor ${g}`);
  const wide = sb.descSize >= 64 && hasIncompat(sb, INCOMPAT.BIT64);
  const inodeTable = r.u32le(off + 0x08) + (wide ? r.u32le(off + 0x28) * 2 ** 32 : 0);
  const flags = r.u16le(off + 0x12);
  const itableUnused = r.u16le(off + 0x1c) + (wide ? r.u16le(off + 0x32) * 65536 : 0);
  const tableBlocks = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / sb.blockSize);
  if (inodeTable < sb.firstDataBlock || inodeTable + tableBlocks > sb.blocksCount) {
    throw corrupt(
      `ext group descriptor ${g} (block ${blockNo}, byte ${off}): inode table at block ${inodeTable} (+${tableBlocks}) lies outside the filesystem's ${sb.blocksCount} blocks`,
      { group: g, block: blockNo, offset: off, inode_table: inodeTable, blocks_count: sb.blocksCount },
    );
  }
  const csummed = (sb.featureRoCompat & (RO_COMPAT.METADATA_CSUM | 0x10)) !== 0; // 0x10 = gdt_csum
  return {
    group: g,
    inodeTable,
    itableUnused: csummed && itableUnused <= sb.inodesPerGroup ? itableUnused : 0,
    flags: csummed ? flags : flags & ~BG_INODE_UNINIT,
  };
}

export function inodeUninit(d: GroupDescriptor): boolean {
  return (d.flags & BG_INODE_UNINIT) !== 0;
}
