/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as VHDX checksums its headers and tables. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < buf.length; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32C of `buf` with its 4-byte checksum field at `at` taken as zero. */
export function crc32cWithHole(buf: Buffer, at: number): number {
  const copy = Buffer.from(buf);
  copy.fill(0, at, at + 4);
  return crc32c(copy);
}
