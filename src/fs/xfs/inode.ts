import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { fileTypeOfMode } from '../mode.js';
import type { FileType } from '../types.js';
import type { XfsSuperblock } from './superblock.js';

export const XFS_DINODE_MAGIC = 0x494e; // "IN"

export const FMT_DEV = 0;
export const FMT_LOCAL = 1;
export const FMT_EXTENTS = 2;
export const FMT_BTREE = 3;

const DIFLAG2_BIGTIME = 1n << 3n;
const DIFLAG2_NREXT64 = 1n << 4n;
/** bigtime timestamps count nanoseconds from the old signed 32-bit minimum (1901-12-13). */
const BIGTIME_EPOCH_OFFSET = 2 ** 31;

export interface XfsInode {
  ino: number;
  mode: number;
  type: FileType;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs?: number;
  format: number;
  nextents: number;
  /** Raw bytes of the data fork (inline data, extent records or bmbt root). */
  dataFork: Buffer;
  rdev?: number;
}

function timestamp(r: BinaryReader, off: number, bigtime: boolean): number {
  if (bigtime) {
    const ns = r.u64beBig(off);
    return Number(ns / 1_000_000n) - BIGTIME_EPOCH_OFFSET * 1000;
  }
  const sec = r.bytes(off, 4).readInt32BE(0);
  return sec * 1000 + Math.floor(r.u32be(off + 4) / 1e6);
}

/** Parses the on-disk inode (xfs_dinode) in `buf` (exactly sb.inodeSize bytes). */
export function parseInode(buf: Buffer, ino: number, sb: XfsSuperblock): XfsInode {
  const r = new BinaryReader(buf, `xfs inode ${ino}`);
  if (r.u16be(0) !== XFS_DINODE_MAGIC) throw corrupt(`xfs: inode ${ino} has bad magic (expected IN)`, { ino });
  const version = r.u8(4);
  if (version < 1 || version > 3 || (version === 3) !== sb.crc) throw corrupt(`xfs: inode ${ino} has version ${version}`, { ino });
  const mode = r.u16be(2);
  const format = r.u8(5);
  const coreSize = version === 3 ? 176 : 100;
  const flags2 = version === 3 ? r.u64beBig(120) : 0n;
  if (version === 3 && r.u64be(152) !== ino) throw corrupt(`xfs: inode ${ino} records its number as ${r.u64be(152)}`, { ino });
  const bigtime = (flags2 & DIFLAG2_BIGTIME) !== 0n;
  const nextents = (flags2 & DIFLAG2_NREXT64) !== 0n ? r.u64be(24) : r.u32be(76);
  const forkOff = r.u8(82);
  const literal = sb.inodeSize - coreSize;
  // With an attribute fork, di_forkoff (in 8-byte units) ends the data fork.
  const dataLen = forkOff !== 0 ? forkOff * 8 : literal;
  if (dataLen > literal) {
    throw corrupt(`xfs: inode ${ino} fork offset ${forkOff} exceeds the inode`, { ino });
  }
  const size = Number(r.u64beBig(56));
  if (!Number.isSafeInteger(size) || size < 0) throw corrupt(`xfs: inode ${ino} has absurd size`, { ino });
  const type = fileTypeOfMode(mode);
  const out: XfsInode = {
    ino,
    mode: mode & 0o7777,
    type,
    uid: r.u32be(8),
    gid: r.u32be(12),
    nlink: version === 1 ? r.u16be(6) : r.u32be(16),
    size,
    atimeMs: timestamp(r, 32, bigtime),
    mtimeMs: timestamp(r, 40, bigtime),
    ctimeMs: timestamp(r, 48, bigtime),
    format,
    nextents,
    dataFork: r.bytes(coreSize, dataLen),
  };
  if (version === 3) out.birthtimeMs = timestamp(r, 144, bigtime);
  if (format === FMT_DEV) {
    if (type !== 'chardev' && type !== 'blockdev' && type !== 'fifo' && type !== 'socket') {
      throw corrupt(`xfs: inode ${ino} of type ${type} has device format`, { ino });
    }
    out.rdev = r.u32be(coreSize);
  } else if (format !== FMT_LOCAL && format !== FMT_EXTENTS && format !== FMT_BTREE) {
    throw corrupt(`xfs: inode ${ino} has unknown data fork format ${format}`, { ino });
  }
  if (format === FMT_LOCAL && size > dataLen) throw corrupt(`xfs: inode ${ino}: inline data of ${size} bytes exceeds its fork (${dataLen})`, { ino });
  if (format === FMT_EXTENTS && nextents * 16 > dataLen) throw corrupt(`xfs: inode ${ino}: ${nextents} extents do not fit in its fork`, { ino });
  return out;
}
