import { corrupt } from '../../protocol/errors.js';

/** Reads the variable-length fields of a VBLK record body (length byte, then big-endian bytes). */
export class VblkCursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw corrupt(`${this.what}: record ends inside a field (${n} bytes at ${this.pos} of ${this.buf.length})`);
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  u64(): number {
    const b = this.bytes(8);
    const v = b.readBigUInt64BE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${this.what}: 64-bit field exceeds 2^53`);
    return Number(v);
  }
  /** A variable-length integer of at most `max` bytes. */
  varint(max: 4 | 8 = 4): number {
    const n = this.u8();
    if (n > max) throw corrupt(`${this.what}: ${n}-byte integer where at most ${max} bytes fit`);
    const b = this.bytes(n);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${this.what}: integer exceeds 2^53`);
    return Number(v);
  }
  varstring(): string {
    return this.bytes(this.u8()).toString('latin1');
  }
  skipVar(): void {
    this.skip(this.u8());
  }
}

/** Big-endian 16 bytes in the text form libldm/ldmtool print (uuid_unparse, lower case). */
export function uuidText(b: Buffer): string {
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
