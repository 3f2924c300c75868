import { corrupt } from '../../protocol/errors.js';

const LEGACY = 0x184c2102;
const FRAME = 0x184d2204;

export function isLz4(buf: Buffer, at: number): boolean {
  if (at + 4 > buf.length) return false;
  const m = buf.readUInt32LE(at);
  return m === LEGACY || m === FRAME;
}

/**
 * LZ4 as initramfs generators write it: the legacy format (`lz4 -l`, what the kernel reads)
 * or the frame format, one or more streams back to back. Output is capped at `max` bytes.
 */
export function lz4Decompress(buf: Buffer, max: number): Buffer {
  const out = new Output(max);
  let at = 0;
  while (at + 4 <= buf.length) {
    const magic = buf.readUInt32LE(at);
    if (magic === LEGACY) at = legacy(buf, at + 4, out);
    else if (magic === FRAME) at = frame(buf, at + 4, out);
    else break; // padding after the last stream
  }
  if (out.length === 0) throw corrupt('lz4: no stream');
  return out.result();
}

function legacy(buf: Buffer, at: number, out: Output): number {
  while (at + 4 <= buf.length) {
    const size = buf.readUInt32LE(at);
    if (size === LEGACY || size === FRAME || size === 0) return at; // the next stream, or padding
    at += 4;
    if (at + size > buf.length) throw corrupt(`lz4: block of ${size} bytes past the end of the input`);
    block(buf, at, at + size, out);
    at += size;
  }
  return buf.length;
}

function frame(buf: Buffer, at: number, out: Output): number {
  if (at + 3 > buf.length) throw corrupt('lz4: truncated frame header');
  const flg = buf[at]!;
  if (flg >> 6 !== 1) throw corrupt(`lz4: frame version ${flg >> 6}`);
  at += 2 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1; // FLG, BD, content size, dict id, header checksum
  const blockSum = (flg & 0x10) !== 0;
  for (;;) {
    if (at + 4 > buf.length) throw corrupt('lz4: frame ends without its end mark');
    const word = buf.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (at + size > buf.length) throw corrupt(`lz4: block of ${size} bytes past the end of the input`);
    if (word & 0x80000000) out.copy(buf, at, at + size);
    else block(buf, at, at + size, out);
    at += size + (blockSum ? 4 : 0);
  }
  return at + (flg & 0x04 ? 4 : 0);
}

/** One LZ4 block: literal runs and back-references into what was written so far. */
function block(buf: Buffer, at: number, end: number, out: Output): void {
  while (at < end) {
    const token = buf[at++]!;
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (at >= end) throw corrupt('lz4: literal length runs past the block');
        b = buf[at++]!;
        lit += b;
      } while (b === 255);
    }
    if (at + lit > end) throw corrupt('lz4: literals run past the block');
    out.copy(buf, at, at + lit);
    at += lit;
    if (at >= end) return; // the last sequence has literals only
    if (at + 2 > end) throw corrupt('lz4: truncated match offset');
    const offset = buf.readUInt16LE(at);
    at += 2;
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (at >= end) throw corrupt('lz4: match length runs past the block');
        b = buf[at++]!;
        len += b;
      } while (b === 255);
    }
    out.match(offset, len);
  }
}

/** A growing output buffer that refuses to pass `max` bytes. */
class Output {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  constructor(private readonly max: number) {}

  private room(n: number): void {
    if (this.length + n > this.max) throw corrupt(`lz4: output larger than ${this.max} bytes`);
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.min(this.max, Math.max(this.buf.length * 2, this.length + n)));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  copy(src: Buffer, from: number, to: number): void {
    this.room(to - from);
    src.copy(this.buf, this.length, from, to);
    this.length += to - from;
  }

  match(offset: number, len: number): void {
    if (offset === 0 || offset > this.length) throw corrupt(`lz4: match offset ${offset} before the start of the output`);
    this.room(len);
    if (offset >= len) {
      this.buf.copyWithin(this.length, this.length - offset, this.length - offset + len);
      this.length += len;
      return;
    }
    // an overlapping match repeats a pattern: byte by byte
    for (let i = 0; i < len; i++, this.length++) this.buf[this.length] = this.buf[this.length - offset]!;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
