import * as zlib from 'node:zlib';

/** CRC-32 (IEEE, as GPT uses): node:zlib's when present (Node ≥ 20.15), else a table. */
export function crc32(buf: Uint8Array, value = 0): number {
  const native = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (native) return native(buf, value) >>> 0;
  let c = ~value >>> 0;
  for (let i = 0; i < buf.length; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * LVM2's checksum: the same polynomial, but seeded with `initial` and without the final
 * inversion (lib/misc/crc.c). Expressed through the standard one so zlib's fast path serves.
 */
export function lvmCrc(buf: Uint8Array, initial = LVM_INITIAL_CRC): number {
  return ~crc32(buf, ~initial >>> 0) >>> 0;
}
export const LVM_INITIAL_CRC = 0xf597a6cf;
