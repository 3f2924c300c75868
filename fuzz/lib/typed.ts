import { FsError } from '../../src/fs/errors.js';
import { GuestkitError } from '../../src/protocol/errors.js';

/**
 * What a parser may answer bad bytes with: a typed error a user can act on. Anything else
 * (TypeError, RangeError from a Buffer read, a stack overflow, an assertion) is a finding.
 */
export function isTypedError(err: unknown): boolean {
  return err instanceof GuestkitError || err instanceof FsError;
}

/** Runs one fuzz input; typed errors are the parser doing its job, anything else is rethrown. */
export async function expectTyped(body: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (!isTypedError(err)) throw err;
  }
}
