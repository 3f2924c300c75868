/** File types as Node's Dirent reports them. */
export type FileType = 'file' | 'directory' | 'symlink' | 'chardev' | 'blockdev' | 'fifo' | 'socket' | 'unknown';

/** What a filesystem driver knows about one inode. Times are milliseconds since the epoch. */
export interface InodeStat {
  ino: number;
  type: FileType;
  /** Permission and special bits (07777), without the type bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs?: number;
  /** Device number for char/block devices. */
  rdev?: number;
  /** Names of alternate data streams (NTFS), when the file has any. */
  streams?: string[];
}

export interface DirEntry {
  name: string;
  ino: number;
  /** 'unknown' when the directory format does not carry it; the VFS then stats. */
  type: FileType;
}

/** Facts about a filesystem for listings (like blkid / virt-filesystems). */
export interface FsInfo {
  type: string;
  uuid?: string;
  label?: string;
  blockSize?: number;
  totalBytes?: number;
  freeBytes?: number;
  usedBytes?: number;
  /** Things a user should know (dirty log not replayed, …). */
  warnings?: string[];
  [k: string]: unknown;
}

/**
 * The inode-level interface every filesystem implements. Path walking,
 * symlink following and mount crossing live once, in the VFS (vfs.ts).
 * Names are compared as the driver does (NTFS: case-insensitive).
 */
export interface FileSystem {
  readonly info: FsInfo;
  readonly rootIno: number;
  /** Inode of `name` in directory `dirIno`, or undefined. Throws ENOTDIR when dirIno is not a directory. */
  lookup(dirIno: number, name: string): Promise<number | undefined>;
  stat(ino: number): Promise<InodeStat>;
  readdir(dirIno: number): Promise<DirEntry[]>;
  /** Reads up to `length` bytes at `offset` (short only at end of file); holes read as zeros. */
  read(ino: number, offset: number, length: number): Promise<Buffer>;
  readlink(ino: number): Promise<string>;
  close?(): Promise<void>;
}
