import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { GuestkitError } from '../protocol/errors.js';

/** `sha256:<hex>` or bare 64-hex → lower-case hex; anything else is a validation error. */
export function parseSha256(checksum: string, field: string): string {
  const m = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(checksum.trim());
  if (!m) {
    throw new GuestkitError('VALIDATION_ERROR', `${field}: checksum must be sha256:<64 hex digits>, got ${JSON.stringify(checksum)}`, {
      phase: 'validation',
      details: { field, checksum },
    });
  }
  return m[1]!.toLowerCase();
}

/**
 * Streams the file through sha256 (1 MiB reads, no whole-file buffer) and compares;
 * IMAGE_CHECKSUM_MISMATCH when different. Returns the bytes read (for the read metrics).
 * Aborting the signal stops the stream (timeout / cancel while hashing a large image).
 */
export async function verifySha256(path: string, expected: string, field: string, signal?: AbortSignal): Promise<number> {
  const want = parseSha256(expected, field);
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  const got = hash.digest('hex');
  if (got !== want) {
    throw new GuestkitError('IMAGE_CHECKSUM_MISMATCH', `${field}: sha256 of ${path} is ${got}, the job says ${want}`, {
      phase: 'validation',
      details: { field, path, expected: `sha256:${want}`, actual: `sha256:${got}` },
    });
  }
  return bytes;
}
