/** Error codes of job protocol v1; the one vocabulary every layer throws in. */
export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'UNSUPPORTED_OPERATION',
  'CAPABILITY_MISMATCH',
  'IMAGE_NOT_FOUND',
  'IMAGE_CHECKSUM_MISMATCH',
  'PATH_NOT_ALLOWED',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'ENCRYPTED',
  'NO_OS_FOUND',
  'EXECUTION_ERROR',
  'TIMEOUT',
  'CANCELLED',
  'WORKER_LOST',
  'DUPLICATE_JOB',
  'NOT_FOUND',
  'USAGE_ERROR',
  // the control plane's answers (HTTP API): who may do what, and when
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'QUOTA_EXCEEDED',
  'INVALID_STATE',
  'UNAVAILABLE',
  // an inspection stopped by one of its resource budgets (bytes, files, entries, wall time)
  'BUDGET_EXCEEDED',
  // extension: a parent of the job (execution.depends_on) ended other than completed
  'DEPENDENCY_FAILED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const PHASES = [
  'validation',
  'disk_attach',
  'disk_inspection',
  'os_detection',
  'package_scan',
  'service_scan',
  'security_scan',
  'result_generation',
  'cleanup',
] as const;
export type Phase = (typeof PHASES)[number] | (string & {});

/** The protocol's error object, as it appears in results and `--json` output. */
export interface ProtocolError {
  code: ErrorCode;
  message: string;
  phase: Phase;
  details?: Record<string, unknown>;
  recoverable: boolean;
  retry_recommended: boolean;
}

export interface GuestkitErrorOptions {
  phase?: Phase;
  details?: Record<string, unknown>;
  recoverable?: boolean;
  retryRecommended?: boolean;
  cause?: unknown;
}

/** Retrying cannot help these: the input itself is wrong. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'VALIDATION_ERROR',
  'UNSUPPORTED_OPERATION',
  'CAPABILITY_MISMATCH',
  'IMAGE_NOT_FOUND',
  'IMAGE_CHECKSUM_MISMATCH',
  'PATH_NOT_ALLOWED',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'ENCRYPTED',
  'NO_OS_FOUND',
  'CANCELLED',
  'DUPLICATE_JOB',
  'NOT_FOUND',
  'USAGE_ERROR',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'INVALID_STATE',
  'DEPENDENCY_FAILED',
]);

/** The one error class of the project: thrown where the fault is known, turned into a ProtocolError at the edge. */
export class GuestkitError extends Error {
  readonly code: ErrorCode;
  readonly phase: Phase;
  readonly details?: Record<string, unknown>;
  readonly recoverable: boolean;
  readonly retryRecommended: boolean;

  constructor(code: ErrorCode, message: string, opts: GuestkitErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GuestkitError';
    this.code = code;
    this.phase = opts.phase ?? defaultPhase(code);
    this.details = opts.details;
    const retryable = !NOT_RETRYABLE.has(code);
    this.recoverable = opts.recoverable ?? retryable;
    this.retryRecommended = opts.retryRecommended ?? retryable;
  }

  toProtocol(): ProtocolError {
    const out: ProtocolError = {
      code: this.code,
      message: this.message,
      phase: this.phase,
      recoverable: this.recoverable,
      retry_recommended: this.retryRecommended,
    };
    if (this.details) out.details = this.details;
    return out;
  }
}

function defaultPhase(code: ErrorCode): Phase {
  switch (code) {
    case 'VALIDATION_ERROR':
    case 'UNSUPPORTED_OPERATION':
    case 'CAPABILITY_MISMATCH':
    case 'PATH_NOT_ALLOWED':
    case 'IMAGE_CHECKSUM_MISMATCH':
    case 'USAGE_ERROR':
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'QUOTA_EXCEEDED':
      return 'validation';
    case 'IMAGE_NOT_FOUND':
    case 'UNSUPPORTED_FORMAT':
    case 'ENCRYPTED':
      return 'disk_attach';
    case 'CORRUPT_IMAGE':
      return 'disk_inspection';
    case 'NO_OS_FOUND':
      return 'os_detection';
    default:
      return 'execution';
  }
}

/** Shorthand for the most common throw in the parsers. */
export function corrupt(what: string, details?: Record<string, unknown>): GuestkitError {
  return new GuestkitError('CORRUPT_IMAGE', what, { details });
}

/** An error of a lower layer that knows its protocol form (the guest filesystems' FsError). */
interface ConvertibleError {
  toGuestkitError(): GuestkitError;
}

function isConvertible(err: unknown): err is ConvertibleError {
  return typeof err === 'object' && err !== null && typeof (err as Partial<ConvertibleError>).toGuestkitError === 'function';
}

/** Any thrown value as a protocol error; unknown errors become EXECUTION_ERROR. */
export function toProtocolError(err: unknown, phase?: Phase): ProtocolError {
  if (err instanceof GuestkitError) return err.toProtocol();
  if (isConvertible(err)) return err.toGuestkitError().toProtocol();
  const e = err as { code?: unknown; message?: unknown; errno?: unknown } | null;
  const message = e && typeof e.message === 'string' ? e.message : String(err);
  // Only a host system error (which carries errno) means the image file is missing.
  if (e && e.code === 'ENOENT' && typeof e.errno === 'number') {
    return new GuestkitError('IMAGE_NOT_FOUND', message, { phase }).toProtocol();
  }
  return new GuestkitError('EXECUTION_ERROR', message, { phase }).toProtocol();
}

export function isGuestkitError(err: unknown, code?: ErrorCode): err is GuestkitError {
  return err instanceof GuestkitError && (code === undefined || err.code === code);
}
