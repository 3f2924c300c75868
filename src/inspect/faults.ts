import { corrupt, GuestkitError } from '../protocol/errors.js';
import { isBudgetError } from './budget.js';

/*
 * What a collector's exception means. The guest's files are untrusted: a file that cannot be
 * parsed is a warning and the other facts go on. Our parsers say so with typed errors
 * (GuestkitError, the filesystems' FsError) or host I/O errors. Anything else — a TypeError,
 * ReferenceError, an assertion, a RangeError from our own code — is a bug in guestkit: it
 * fails the inspection loudly, with its stack, and is never a warning. Parsers that rely on
 * Buffer bounds for truncated input convert those at their boundary (guestBytes below).
 */

export type Fault = 'budget' | 'guest' | 'bug';

/** An error of a lower layer that knows its protocol form (FsError). */
function isConvertible(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { toGuestkitError?: unknown }).toGuestkitError === 'function';
}

/** A host system error (EIO, EBADF, ENOENT of an image file): it carries errno or a system code. */
function isHostIoError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { errno?: unknown; code?: unknown; syscall?: unknown };
  return typeof e.errno === 'number' || (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code));
}

export function faultOf(err: unknown): Fault {
  if (isBudgetError(err)) return 'budget';
  if (err instanceof CollectorBugError) return 'bug';
  if (err instanceof GuestkitError || isConvertible(err) || isHostIoError(err)) return 'guest';
  return 'bug';
}

/** Budget errors and bugs go on up; a fault of the guest's data returns its message (for a warning). */
export function guestFaultMessage(err: unknown): string {
  if (faultOf(err) !== 'guest') throw err;
  return err instanceof Error ? err.message : String(err);
}

/** Node's bounds errors of Buffer reads (readUInt32LE past the end and the like). */
export function isBufferBoundsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof RangeError && (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_BUFFER_OUT_OF_BOUNDS');
}

/**
 * For the boundary of a parser of guest bytes that relies on Buffer bounds (and JSON.parse):
 * a bounds error or a syntax error there means truncated or damaged guest data, so it becomes
 * CORRUPT_IMAGE. Everything else is returned unchanged (a TypeError is still a bug).
 */
export function fromGuestBytes(err: unknown, what: string): unknown {
  if (isBufferBoundsError(err)) return corrupt(`${what}: truncated or damaged data (${(err as Error).message})`, { what });
  if (err instanceof SyntaxError) return corrupt(`${what}: ${err.message}`, { what });
  return err;
}

/** Runs a synchronous parser of guest bytes with the conversion above. */
export function guestBytes<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw fromGuestBytes(err, what);
  }
}

/** A bug in a collector, as the inspection fails with it: EXECUTION_ERROR with the stack in `details`. */
export class CollectorBugError extends GuestkitError {
  constructor(
    readonly collector: string,
    readonly original: unknown,
  ) {
    const e = original instanceof Error ? original : new Error(String(original));
    const frame = e.stack?.split('\n').find((l) => /^\s+at /.test(l))?.trim();
    super(
      'EXECUTION_ERROR',
      `inspect: collector ${collector} failed with a programming error, not a problem of the image: ${e.name}: ${e.message}${frame ? ` (${frame})` : ''}`,
      {
        phase: 'execution',
        details: { collector, error: e.name, stack: e.stack ?? String(original) },
        recoverable: false,
        retryRecommended: false,
        cause: original,
      },
    );
    this.name = 'CollectorBugError';
  }
}

export function isCollectorBug(err: unknown): err is CollectorBugError {
  return err instanceof CollectorBugError;
}

/** Tests only: called inside every collector run, so a test can make one collector fail as a bug would. */
let collectorTestHook: ((fact: string) => void | Promise<void>) | undefined;
export function setCollectorTestHook(hook: ((fact: string) => void | Promise<void>) | undefined): void {
  collectorTestHook = hook;
}

/**
 * How every collector is run (Linux and Windows): a fault of the guest's data is a warning and
 * leaves the fact out; a budget that runs out stops it (the caller ends the inspection partial,
 * or fails it with `on_exceeded: fail`); a bug fails the inspection as a CollectorBugError.
 */
export async function runCollector<T>(fact: string, fn: () => Promise<T>, warn: (message: string) => void, failOnBudget: boolean): Promise<T | undefined> {
  try {
    await collectorTestHook?.(fact);
    return await fn();
  } catch (err) {
    switch (faultOf(err)) {
      case 'budget':
        if (failOnBudget) throw err;
        return undefined;
      case 'guest':
        warn(`${fact}: ${(err as Error).message}`);
        return undefined;
      default:
        throw isCollectorBug(err) ? err : new CollectorBugError(fact, err);
    }
  }
}
