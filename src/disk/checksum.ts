import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { GuestkitError } from '../protocol/errors.js';
import { checksumHex } from '../protocol/payloads/image.js';

/** Bytes per read while hashing (at least 1 MiB: a multi-GiB image in few calls). */
const CHUNK = 4 * 1024 * 1024;

/**
 * The checksum of an image reference as lower-case hex. Accepted as the job protocol defines it
 * (`isWellFormedChecksum`): `sha256:<64 hex digits>` or the 64 digits alone, digits in any case,
 * surrounding blanks ignored. Anything else is VALIDATION_ERROR naming `field`.
 */
export function parseSha256(checksum: string, field: string): string {
  const hex = checksumHex(checksum.trim());
  if (hex === null) {
    throw new GuestkitError('VALIDATION_ERROR', `${field}: checksum must be sha256:<64 hex digits>, got ${JSON.stringify(checksum)}`, {
      phase: 'validation',
      details: { field, checksum },
    });
  }
  return hex;
}

interface HashOptions {
  onProgress?: (done: number, total: number) => void;
  /** Stops hashing between reads; the signal's reason is thrown. */
  signal?: AbortSignal;
  /** The job field the file was named by (added to IMAGE_NOT_FOUND details). */
  field?: string;
}

/** Streams a file through sha256 (CHUNK-sized reads, no whole-file buffer). */
async function hashFile(path: string, o: HashOptions): Promise<{ hex: string; bytes: number }> {
  o.signal?.throwIfAborted();
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EACCES') {
      throw new GuestkitError('IMAGE_NOT_FOUND', `image file not found or not readable: ${path}`, {
        ...(o.field === undefined ? {} : { phase: 'validation' as const }),
        details: o.field === undefined ? { path } : { field: o.field, path },
        cause: err,
      });
    }
    throw err;
  }
  try {
    const total = (await fh.stat()).size;
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let done = 0;
    for (;;) {
      o.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, CHUNK, done);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      done += bytesRead;
      o.onProgress?.(done, total);
    }
    return { hex: h.digest('hex'), bytes: done };
  } finally {
    await fh.close();
  }
}

/**
 * Streaming sha256 of a file as `sha256:<hex>` (the job protocol's checksum form). A missing or
 * unreadable file is IMAGE_NOT_FOUND; an aborted signal stops it with the signal's reason.
 */
export async function sha256File(path: string, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<string> {
  return `sha256:${(await hashFile(path, { onProgress, signal })).hex}`;
}

/**
 * Checks a file against the checksum a job states for it in `field` (e.g.
 * `payload.data.image.checksum`) and returns the bytes read (for the read metrics).
 * A malformed checksum is VALIDATION_ERROR (before any read); a missing or unreadable
 * file IMAGE_NOT_FOUND; a different sum IMAGE_CHECKSUM_MISMATCH with details
 * `{ field, path, expected: 'sha256:<hex>', actual: 'sha256:<hex>' }`. Aborting `signal`
 * (timeout, cancel while hashing a large image) stops the reads with the signal's reason.
 */
export async function verifySha256(path: string, expected: string, field: string, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<number> {
  const want = parseSha256(expected, field);
  const { hex: got, bytes } = await hashFile(path, { signal, field, onProgress });
  if (got !== want) {
    throw new GuestkitError('IMAGE_CHECKSUM_MISMATCH', `${field}: sha256 of ${path} is ${got}, the job says ${want}`, {
      phase: 'validation',
      details: { field, path, expected: `sha256:${want}`, actual: `sha256:${got}` },
    });
  }
  return bytes;
}
