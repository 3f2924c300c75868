import { GuestkitError } from '../protocol/errors.js';

/** Deepest nesting a request body may have (job documents need a handful of levels). */
export const MAX_BODY_DEPTH = 64;

/**
 * JSON.parse with the depth checked first, on the text, without recursion: a hostile
 * `[[[[…` body is refused before any parser or validator walks it.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined; // POST …/cancel with a JSON content type and no body
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_BODY_DEPTH) throw new GuestkitError('VALIDATION_ERROR', `the body is nested deeper than ${MAX_BODY_DEPTH} levels`, { phase: 'validation', details: { max_depth: MAX_BODY_DEPTH } });
    } else if (c === 125 || c === 93) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new GuestkitError('VALIDATION_ERROR', `the body is not valid JSON: ${(err as Error).message}`, { phase: 'validation' });
  }
}
