import { inodeStat } from '../stat.js';
import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import type { FileType, InodeStat } from '../types.js';
import { RO_COMPAT, type Superblock } from './superblock.js';

export const INODE_FLAGS = {
  ENCRYPT: 0x800,
  INDEX: 0x1000,
  HUGE_FILE: 0x40000,
  EXTENTS: 0x80000,
  EA_INODE: 0x200000,
  INLINE_DATA: 0x10000000,
  CASEFOLD: 0x40000000,
} as const;

export interface Inode {
  ino: number;
  mode: number;
  type: FileType;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  flags: number;
  /** 512-byte sectors (or fs blocks with HUGE_FILE_FL) in use, including the xattr block. */
  blocks512: number;
  fileAcl: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs?: number;
  rdev?: number;
  /** The 60 bytes of i_block: block map, extent root, inline data or fast symlink target. */
  iblock: Buffer;
  /** Bytes after the fixed 128 + i_extra_isize (in-inode xattrs), empty for 128-byte inodes. */
  extra: Buffer;
}

const TYPES: Record<number, FileType> = {
  0x1: 'fifo',
  0x2: 'chardev',
  0x4: 'directory',
  0x6: 'blockdev',
  0x8: 'file',
  0xa: 'symlink',
  0xc: 'socket',
};

/** Seconds (+ the extra field's epoch bits and nanoseconds) as milliseconds. */
function time(r: BinaryReader, off: number, extraOff: number | undefined): number {
  let sec = r.i32le(off);
  let ns = 0;
  if (extraOff !== undefined) {
    const extra = r.u32le(extraOff);
    sec += (extra & 3) * 2 ** 32;
    ns = extra >>> 2;
    if (ns > 999_999_999) ns = 0;
  }
  return sec * 1000 + Math.floor(ns / 1e6);
}

/** Parses one on-disk inode (`raw` is exactly the superblock's inode size). */
export function parseInode(sb: Superblock, ino: number, raw: Buffer): Inode {
  const r = new BinaryReader(raw, `ext inode ${ino}`);
  const imode = r.u16le(0);
  const type = TYPES[imode >> 12];
  if (!type) {
    throw corrupt(`ext inode ${ino}: mode 0${imode.toString(8)} has no valid file type (unused or damaged inode)`, { inode: ino, mode: imode });
  }
  const flags = r.u32le(0x20);
  const size = r.u32le(0x04) + r.u32le(0x6c) * 2 ** 32;
  if (!Number.isSafeInteger(size)) throw corrupt(`ext inode ${ino}: size exceeds 2^53`, { inode: ino });
  let extraIsize = 0;
  if (sb.inodeSize > 128) {
    extraIsize = r.u16le(0x80);
    if (extraIsize > sb.inodeSize - 128 || extraIsize % 4 !== 0) {
      throw corrupt(`ext inode ${ino}: i_extra_isize ${extraIsize} does not fit the ${sb.inodeSize}-byte inode`, { inode: ino, extra_isize: extraIsize });
    }
  }
  const has = (fieldEnd: number) => extraIsize >= fieldEnd - 128;
  let blocks512 = r.u32le(0x1c) + r.u16le(0x74) * 2 ** 32;
  if (sb.featureRoCompat & RO_COMPAT.HUGE_FILE && flags & INODE_FLAGS.HUGE_FILE) blocks512 *= sb.blockSize / 512;
  const ino0: Inode = {
    ino,
    mode: imode & 0o7777,
    type,
    uid: r.u16le(0x02) | (r.u16le(0x78) << 16),
    gid: r.u16le(0x18) | (r.u16le(0x7a) << 16),
    size,
    nlink: r.u16le(0x1a),
    flags,
    blocks512,
    fileAcl: r.u32le(0x68) + r.u16le(0x76) * 2 ** 32,
    atimeMs: time(r, 0x08, has(0x90) ? 0x8c : undefined),
    mtimeMs: time(r, 0x10, has(0x8c) ? 0x88 : undefined),
    ctimeMs: time(r, 0x0c, has(0x88) ? 0x84 : undefined),
    // Copies, so a cached inode does not pin the whole inode-table chunk it came from.
    iblock: Buffer.from(r.bytes(0x28, 60)),
    extra: Buffer.from(raw.subarray(Math.min(raw.length, 128 + extraIsize))),
  };
  ino0.uid >>>= 0;
  ino0.gid >>>= 0;
  if (has(0x98)) ino0.birthtimeMs = time(r, 0x90, 0x94);
  if (type === 'chardev' || type === 'blockdev') {
    const old = r.u32le(0x28);
    if (old !== 0) {
      ino0.rdev = (((old >> 8) & 0xff) << 8) | (old & 0xff);
    } else {
      const nw = r.u32le(0x2c);
      const major = (nw >> 8) & 0xfff;
      const minor = (nw & 0xff) | ((nw >> 12) & 0xfff00);
      ino0.rdev = (major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
    }
  }
  return ino0;
}

export function toStat(i: Inode): InodeStat {
  return inodeStat(i.ino, i);
}
