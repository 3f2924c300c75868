import { Decompress } from 'fzstd';
import { corrupt, GuestkitError } from '../protocol/errors.js';

/**
 * zstd decoded in memory, streamed so that at most `max` bytes are ever held: a small frame of RLE
 * blocks can claim gigabytes (CORRUPT_IMAGE beyond `max`; messages start with `what`). With
 * `keepTrailing`, bytes after the last frame that are not zstd end the output instead of failing
 * it (padding after an initramfs archive).
 */
export function zstdDecompress(data: Buffer, max: number, what: string, opts: { keepTrailing?: boolean } = {}): Buffer {
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    const d = new Decompress((chunk) => {
      n += chunk.length;
      if (n > max) throw corrupt(`${what}: zstd output larger than ${max} bytes`);
      parts.push(chunk);
    });
    d.push(data, true);
  } catch (err) {
    if (err instanceof GuestkitError) throw err;
    if (!opts.keepTrailing || n === 0) throw corrupt(`${what}: zstd: ${(err as Error).message}`);
  }
  return Buffer.concat(parts, n);
}
