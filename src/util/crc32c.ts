/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as VHDX and Btrfs checksum their metadata. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * Standard CRC-32C of `buf`; pass a previous result as `crc` to continue it over
 * more data. (The kernel's raw crc32c(seed, data), without the inversions, is
 * `~crc32c(data, ~seed)`.)
 */
export function crc32c(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const ZERO4 = new Uint8Array(4);

/** CRC-32C of `buf` with its 4-byte checksum field at `at` taken as zero (without copying `buf`). */
export function crc32cWithHole(buf: Uint8Array, at: number): number {
  if (!Number.isSafeInteger(at) || at < 0 || at + 4 > buf.length) throw new RangeError(`checksum field ${at}+4 outside ${buf.length} bytes`);
  const head = crc32c(buf.subarray(0, at));
  return crc32c(buf.subarray(at + 4), crc32c(ZERO4, head));
}
