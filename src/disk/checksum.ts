import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { GuestkitError } from '../protocol/errors.js';

const CHUNK = 4 * 1024 * 1024;
const FORM = /^sha256:[0-9a-f]{64}$/;

/** Streaming sha256 of a file as `sha256:<hex>` (the job protocol's checksum form). */
export async function sha256File(path: string, onProgress?: (done: number, total: number) => void): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EACCES') {
      throw new GuestkitError('IMAGE_NOT_FOUND', `image file not found or not readable: ${path}`, { details: { path } });
    }
    throw err;
  }
  try {
    const total = (await fh.stat()).size;
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let done = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, done);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      done += bytesRead;
      onProgress?.(done, total);
    }
    return `sha256:${h.digest('hex')}`;
  } finally {
    await fh.close();
  }
}

/**
 * Checks a file against a job's `checksum` (`sha256:<hex>`, case-insensitive).
 * Throws IMAGE_CHECKSUM_MISMATCH when it differs or is not in that form.
 */
export async function verifyChecksum(path: string, expected: string): Promise<string> {
  const want = expected.trim().toLowerCase();
  if (!FORM.test(want)) {
    throw new GuestkitError('IMAGE_CHECKSUM_MISMATCH', `checksum "${expected}" is not sha256:<64 hex digits>`, {
      details: { path, expected },
    });
  }
  const actual = await sha256File(path);
  if (actual !== want) {
    throw new GuestkitError('IMAGE_CHECKSUM_MISMATCH', `${path}: checksum ${actual} does not match the expected ${want}`, {
      details: { path, expected: want, actual },
    });
  }
  return actual;
}
