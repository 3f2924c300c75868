import type { FileType } from './types.js';

/** S_IFMT bits of each file type (0 for unknown). */
export const TYPE_BITS: Readonly<Record<FileType, number>> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  chardev: 0o020000,
  blockdev: 0o060000,
  fifo: 0o010000,
  socket: 0o140000,
  unknown: 0,
};

const BY_BITS = new Map<number, FileType>(Object.entries(TYPE_BITS).map(([t, b]) => [b, t as FileType]));

/** The type of an inode from its POSIX mode (S_IFMT bits), as ext4, XFS and Btrfs store it. */
export function fileTypeOfMode(mode: number): FileType {
  const bits = mode & 0o170000;
  return bits === 0 ? 'unknown' : (BY_BITS.get(bits) ?? 'unknown');
}

/** Directory entry type codes shared by ext4 (EXT4_FT_*), XFS (XFS_DIR3_FT_*) and Btrfs (BTRFS_FT_*). */
const DIRENT_TYPES: readonly FileType[] = ['unknown', 'file', 'directory', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];

/** The type a directory entry's file-type byte names; codes past 7 (whiteout, xattr) are 'unknown'. */
export function fileTypeOfDirentType(code: number): FileType {
  return DIRENT_TYPES[code] ?? 'unknown';
}
