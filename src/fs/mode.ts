import type { FileType } from './types.js';

/** The type of an inode from its POSIX mode (S_IFMT bits), as ext4, XFS and Btrfs store it. */
export function fileTypeOfMode(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'chardev';
    case 0o060000:
      return 'blockdev';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    default:
      return 'unknown';
  }
}

/** Directory entry type codes shared by ext4 (EXT4_FT_*), XFS (XFS_DIR3_FT_*) and Btrfs (BTRFS_FT_*). */
const DIRENT_TYPES: readonly FileType[] = ['unknown', 'file', 'directory', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];

/** The type a directory entry's file-type byte names; codes past 7 (whiteout, xattr) are 'unknown'. */
export function fileTypeOfDirentType(code: number): FileType {
  return DIRENT_TYPES[code] ?? 'unknown';
}
