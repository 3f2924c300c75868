import { corrupt } from '../../protocol/errors.js';
import type { Inode } from './inode.js';
import { XATTR_INDEX_SYSTEM, findIbodyXattr } from './xattr.js';

/**
 * inline_data: the first 60 bytes live in i_block, the rest in the
 * "system.data" in-inode xattr. Returns the two parts.
 */
export function inlineParts(inode: Inode): { head: Buffer; tail: Buffer } {
  const tail = findIbodyXattr(inode.ino, inode.extra, XATTR_INDEX_SYSTEM, 'data') ?? Buffer.alloc(0);
  return { head: inode.iblock, tail };
}

/** The contents of an inline-data file or symlink (exactly i_size bytes). */
export function inlineData(inode: Inode): Buffer {
  const { head, tail } = inlineParts(inode);
  if (inode.size > head.length + tail.length) {
    throw corrupt(`ext inode ${inode.ino}: inline data size ${inode.size} exceeds the ${head.length + tail.length} bytes stored in the inode`, {
      inode: inode.ino,
      size: inode.size,
    });
  }
  return Buffer.concat([head, tail]).subarray(0, inode.size);
}
