import { GuestkitError } from '../protocol/errors.js';

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

/** What each code means for a guest path named by a user or a job. */
const GUEST_REASONS: Record<FsErrorCode, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component is not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'symbolic link loop (more than 40 links followed)',
  EINVAL: 'invalid for this file type',
  EFBIG: 'file larger than the read limit',
  ENAMETOOLONG: 'path too long',
};

export class FsError extends Error {
  readonly code: FsErrorCode;
  readonly path: string;
  readonly syscall: string;
  readonly extra?: string;
  constructor(code: FsErrorCode, syscall: string, path: string, extra?: string) {
    // A missing path is an answer, not a fault: inspection asks for dozens, and a stack costs more than the lookup.
    const limit = Error.stackTraceLimit;
    if (code === 'ENOENT' || code === 'ENOTDIR') Error.stackTraceLimit = 0;
    super(`${code}: ${MESSAGES[code]}${extra ? ` (${extra})` : ''}, ${syscall} '${path}'`);
    Error.stackTraceLimit = limit;
    if (extra !== undefined) this.extra = extra;
    this.name = 'FsError';
    this.code = code;
    this.path = path;
    this.syscall = syscall;
  }

  /**
   * The protocol's view: a path that does not resolve is NOT_FOUND, anything else an
   * EXECUTION_ERROR; never worth a retry, since the guest's files decide the outcome.
   */
  toGuestkitError(): GuestkitError {
    const code = this.code === 'ENOENT' || this.code === 'ENOTDIR' || this.code === 'ELOOP' ? 'NOT_FOUND' : 'EXECUTION_ERROR';
    const reason = GUEST_REASONS[this.code] + (this.extra ? ` (${this.extra})` : '');
    return new GuestkitError(code, `guest path ${this.path}: ${reason}`, {
      details: { path: this.path, errno: this.code },
      recoverable: false,
      retryRecommended: false,
      cause: this,
    });
  }
}

export function isFsError(err: unknown, code?: FsErrorCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}
