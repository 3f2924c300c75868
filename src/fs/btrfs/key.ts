import type { BinaryReader } from '../../util/binary.js';

/**
 * A Btrfs key (objectid, type, offset). The 64-bit fields are held as doubles:
 * exact below 2^53 (every inode number, file offset and hash in practice) and
 * still correctly ordered above it (special objectids near 2^64), which is all
 * a B-tree search needs.
 */
export interface Key {
  oid: number;
  type: number;
  off: number;
}

export const KEY_SIZE = 17;
export const MAX_U64 = 2 ** 64;

export const INODE_ITEM = 1;
export const INODE_REF = 12;
export const DIR_ITEM = 84;
export const DIR_INDEX = 96;
export const EXTENT_DATA = 108;
export const ROOT_ITEM = 132;
export const ROOT_REF = 156;
export const CHUNK_ITEM = 228;

export const ROOT_TREE_OBJECTID = 1;
export const CHUNK_TREE_OBJECTID = 3;
export const FS_TREE_OBJECTID = 5;
export const ROOT_TREE_DIR_OBJECTID = 6;
export const FIRST_FREE_OBJECTID = 256;
export const FIRST_CHUNK_TREE_OBJECTID = 256;

function u64(r: BinaryReader, off: number): number {
  return r.u32le(off + 4) * 2 ** 32 + r.u32le(off);
}

export function readKey(r: BinaryReader, off: number): Key {
  return { oid: u64(r, off), type: r.u8(off + 8), off: u64(r, off + 9) };
}

export function cmpKey(a: Key, b: Key): number {
  if (a.oid !== b.oid) return a.oid < b.oid ? -1 : 1;
  if (a.type !== b.type) return a.type - b.type;
  if (a.off !== b.off) return a.off < b.off ? -1 : 1;
  return 0;
}
