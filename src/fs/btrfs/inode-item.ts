import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const INODE_ITEM_SIZE = 160;

export interface BtrfsInode {
  size: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  rdev: number;
  flags: number;
  atimeMs: number;
  ctimeMs: number;
  mtimeMs: number;
  otimeMs: number;
}

function ts(r: BinaryReader, off: number): number {
  return r.i64le(off) * 1000 + Math.floor(r.u32le(off + 8) / 1e6);
}

export function parseInodeItem(data: Buffer, what: string): BtrfsInode {
  if (data.length < INODE_ITEM_SIZE) throw corrupt(`btrfs: ${what}: inode item of ${data.length} bytes`);
  const r = new BinaryReader(data, `btrfs ${what}`);
  const size = r.u64le(16);
  return {
    size,
    nlink: r.u32le(40),
    uid: r.u32le(44),
    gid: r.u32le(48),
    mode: r.u32le(52),
    rdev: r.u32le(56),
    flags: r.u32le(64),
    atimeMs: ts(r, 112),
    ctimeMs: ts(r, 124),
    mtimeMs: ts(r, 136),
    otimeMs: ts(r, 148),
  };
}
