import { corrupt, GuestkitError } from '../protocol/errors.js';

/**
 * One .xz stream decoded in memory, at most `max` bytes (CORRUPT_IMAGE beyond, or on bad data;
 * messages start with `what`). xz-decompress is loaded only when a caller meets xz data.
 */
export async function xzDecompress(data: Buffer, max: number, what: string): Promise<Buffer> {
  // a CommonJS package: its export sits on the namespace or on its default, by loader
  const mod = (await import('xz-decompress')) as typeof import('xz-decompress') & { default?: typeof import('xz-decompress') };
  const XzReadableStream = mod.XzReadableStream ?? mod.default!.XzReadableStream;
  const reader = new XzReadableStream(new Blob([data]).stream()).getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      n += r.value.length;
      if (n > max) {
        await reader.cancel().catch(() => undefined);
        throw corrupt(`${what}: xz output larger than ${max} bytes`);
      }
      parts.push(r.value);
    }
  } catch (err) {
    if (err instanceof GuestkitError) throw err;
    throw corrupt(`${what}: xz: ${(err as Error).message}`);
  }
  return Buffer.concat(parts, n);
}
