/** The filesystem layer: read-only drivers behind one inode interface, and the VFS that walks paths. */
export { openFilesystem, supportedFilesystems, type FsOpenOptions } from './open.js';
export { Vfs, GuestStats, splitPath, joinPath, DEFAULT_MAX_FILE_BYTES } from './vfs.js';
export { FsError, isFsError, type FsErrorCode } from './errors.js';
export type { DirEntry, FileSystem, FileType, FsInfo, InodeStat } from './types.js';
