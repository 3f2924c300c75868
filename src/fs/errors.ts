/** Node-shaped filesystem errors, so guest file access feels like fs.promises. */
export type FsErrorCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EINVAL' | 'EFBIG' | 'ENAMETOOLONG';

const MESSAGES: Record<FsErrorCode, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  EINVAL: 'invalid argument',
  EFBIG: 'file too large for the requested bound',
  ENAMETOOLONG: 'path too long',
};

export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly path: string;
  readonly syscall: string;
  constructor(code: FsErrorCode, syscall: string, path: string, extra?: string) {
    super(`${code}: ${MESSAGES[code]}${extra ? ` (${extra})` : ''}, ${syscall} '${path}'`);
    this.name = 'FsError';
    this.code = code;
    this.path = path;
    this.syscall = syscall;
  }
}

export function isFsError(err: unknown, code?: FsErrorCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}
