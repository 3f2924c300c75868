/**
 * Marvin32 (the keyed hash of the .NET runtime), as the registry's new-format transaction
 * log uses it for its entry hashes. Returns the 64-bit result as Windows stores it: the
 * low state word in the low 32 bits.
 */
export function marvin32(data: Buffer, seed: bigint): bigint {
  let p0 = Number(seed & 0xffffffffn) >>> 0;
  let p1 = Number((seed >> 32n) & 0xffffffffn) >>> 0;
  const rotl = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;
  const block = (): void => {
    p1 = (p1 ^ p0) >>> 0;
    p0 = rotl(p0, 20);
    p0 = (p0 + p1) >>> 0;
    p1 = rotl(p1, 9);
    p1 = (p1 ^ p0) >>> 0;
    p0 = rotl(p0, 27);
    p0 = (p0 + p1) >>> 0;
    p1 = rotl(p1, 19);
  };
  const whole = data.length & ~3;
  for (let o = 0; o < whole; o += 4) {
    p0 = (p0 + data.readUInt32LE(o)) >>> 0;
    block();
  }
  let final = 0x80;
  for (let i = data.length - 1; i >= whole; i--) final = ((final << 8) | data[i]!) >>> 0;
  p0 = (p0 + final) >>> 0;
  block();
  block();
  return (BigInt(p1) << 32n) | BigInt(p0);
}

/**
 * The seed of the registry's log entry hashes, as the kernel passes it (a little-endian u64;
 * msuhanov's spec writes the same 8 bytes as the decimal 14219357686671994754).
 */
export const REGISTRY_LOG_SEED = 0x82ef4d887a4e55c5n;
