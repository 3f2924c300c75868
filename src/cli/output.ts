import { GuestkitError, toProtocolError, type ProtocolError } from '../protocol/errors.js';

/** Exit codes of every guestkit command (documented in the README). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Reports an error the protocol way: `guestkit: CODE: message` on stderr, or
 * the error object on stdout with --json. Expected errors never print a stack.
 */
export function reportError(err: unknown, json: boolean): number {
  const perr: ProtocolError = toProtocolError(err);
  if (json) writeJson({ error: perr });
  else process.stderr.write(`guestkit: ${perr.code}: ${perr.message}\n`);
  if (!(err instanceof GuestkitError) && process.env.GUESTKIT_DEBUG) {
    process.stderr.write(String((err as Error)?.stack ?? err) + '\n');
  }
  return perr.code === 'USAGE_ERROR' ? EXIT_USAGE : EXIT_FAILED;
}

/** Wraps a command action: any throw becomes a reported error and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    const opts = args.find((a) => a && typeof a === 'object' && !Array.isArray(a) && 'json' in (a as object)) as
      | { json?: boolean }
      | undefined;
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT_OK;
    } catch (err) {
      process.exitCode = reportError(err, Boolean(opts?.json));
    }
  };
}

export function usage(message: string): GuestkitError {
  return new GuestkitError('USAGE_ERROR', message, { phase: 'validation' });
}
