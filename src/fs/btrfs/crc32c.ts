/** CRC-32C (Castagnoli), as Btrfs uses for checksums and directory name hashes. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The kernel's crc32c(seed, data): no pre/post inversion (callers pass ~0 and invert as needed). */
export function crc32cRaw(seed: number, data: Uint8Array): number {
  let c = seed >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** Standard CRC-32C of `data` (as stored in Btrfs checksum fields). */
export function crc32c(data: Uint8Array): number {
  return ~crc32cRaw(0xffffffff, data) >>> 0;
}

/** btrfs_name_hash: the DIR_ITEM key offset of a name. */
export function btrfsNameHash(name: Buffer): number {
  return crc32cRaw(0xfffffffe, name);
}
