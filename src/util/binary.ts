import { corrupt } from '../protocol/errors.js';

/**
 * Bounds-checked little/big-endian reads over a buffer. Every parser reads
 * on-disk structures through this, so a short or hostile buffer gives
 * CORRUPT_IMAGE instead of a RangeError or garbage.
 */
export class BinaryReader {
  constructor(
    readonly buf: Buffer,
    /** Names the structure in error messages ("qcow2 header"). */
    readonly what = 'structure',
  ) {}

  get length(): number {
    return this.buf.length;
  }

  private check(off: number, len: number): void {
    if (!Number.isInteger(off) || off < 0 || off + len > this.buf.length) {
      throw corrupt(`${this.what}: read of ${len} bytes at offset ${off} is outside its ${this.buf.length} bytes`);
    }
  }

  u8(off: number): number {
    this.check(off, 1);
    return this.buf[off]!;
  }
  u16le(off: number): number {
    this.check(off, 2);
    return this.buf.readUInt16LE(off);
  }
  u16be(off: number): number {
    this.check(off, 2);
    return this.buf.readUInt16BE(off);
  }
  u32le(off: number): number {
    this.check(off, 4);
    return this.buf.readUInt32LE(off);
  }
  u32be(off: number): number {
    this.check(off, 4);
    return this.buf.readUInt32BE(off);
  }
  i32le(off: number): number {
    this.check(off, 4);
    return this.buf.readInt32LE(off);
  }
  /** 64-bit value as a number; throws CORRUPT_IMAGE when it is not exactly representable. */
  u64le(off: number): number {
    return toSafe(this.u64leBig(off), this.what, off);
  }
  u64be(off: number): number {
    return toSafe(this.u64beBig(off), this.what, off);
  }
  u64leBig(off: number): bigint {
    this.check(off, 8);
    return this.buf.readBigUInt64LE(off);
  }
  u64beBig(off: number): bigint {
    this.check(off, 8);
    return this.buf.readBigUInt64BE(off);
  }
  i64le(off: number): number {
    this.check(off, 8);
    const v = this.buf.readBigInt64LE(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw corrupt(`${this.what}: 64-bit value at offset ${off} is out of range`);
    }
    return Number(v);
  }
  bytes(off: number, len: number): Buffer {
    this.check(off, len);
    return this.buf.subarray(off, off + len);
  }
  /** ASCII/latin1 string, cut at the first NUL. */
  cstring(off: number, len: number): string {
    const b = this.bytes(off, len);
    const nul = b.indexOf(0);
    return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
  }
  utf16le(off: number, len: number): string {
    return this.bytes(off, len).toString('utf16le');
  }
  /** Standard mixed-endian GUID text form (as GPT and NTFS store them). */
  guid(off: number): string {
    const b = this.bytes(off, 16);
    const h = (s: Buffer) => s.toString('hex');
    const rev = (s: Buffer) => Buffer.from(s).reverse();
    return `${h(rev(b.subarray(0, 4)))}-${h(rev(b.subarray(4, 6)))}-${h(rev(b.subarray(6, 8)))}-${h(b.subarray(8, 10))}-${h(b.subarray(10, 16))}`.toUpperCase();
  }
  /** Big-endian UUID text form (as ext4, XFS, Btrfs store them). */
  uuid(off: number): string {
    const x = this.bytes(off, 16).toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }
}

export function toSafe(v: bigint, what = 'value', off?: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw corrupt(`${what}: 64-bit value${off === undefined ? '' : ` at offset ${off}`} exceeds 2^53`);
  }
  return Number(v);
}

/** Asserts a byte offset/length pair stays within safe integers and a limit. */
export function checkRange(off: number, len: number, limit: number, what: string): void {
  if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > limit) {
    throw corrupt(`${what}: range ${off}+${len} lies outside 0..${limit}`);
  }
}
