import { corrupt } from '../../protocol/errors.js';

const CHUNK = 4096;

/**
 * LZNT1 decompression of one NTFS compression unit into `out` (its size is the
 * unit size). Chunks are 4 KiB of output each; a chunk that decodes short is
 * zero-filled, as NTFS does. Every back-reference is checked against the
 * bytes already produced in its chunk.
 */
export function lznt1Decompress(src: Buffer, out: Buffer, what: string): void {
  let sp = 0;
  let chunkStart = 0;
  while (sp + 2 <= src.length && chunkStart < out.length) {
    const header = src.readUInt16LE(sp);
    if (header === 0) break;
    const size = (header & 0x0fff) + 1;
    const compressed = (header & 0x8000) !== 0;
    const srcEnd = sp + 2 + size;
    if (srcEnd > src.length) throw corrupt(`${what}: LZNT1 chunk of ${size} bytes runs past the compressed data`);
    const chunkEnd = Math.min(chunkStart + CHUNK, out.length);
    sp += 2;
    if (!compressed) {
      if (size > chunkEnd - chunkStart) throw corrupt(`${what}: uncompressed LZNT1 chunk of ${size} bytes is larger than 4 KiB`);
      src.copy(out, chunkStart, sp, srcEnd);
      out.fill(0, chunkStart + size, chunkEnd);
    } else {
      let dp = chunkStart;
      while (sp < srcEnd) {
        const tags = src[sp++]!;
        for (let bit = 0; bit < 8 && sp < srcEnd; bit++) {
          if ((tags & (1 << bit)) === 0) {
            if (dp >= chunkEnd) throw corrupt(`${what}: LZNT1 literal past the end of its chunk`);
            out[dp++] = src[sp++]!;
            continue;
          }
          if (sp + 2 > srcEnd) throw corrupt(`${what}: LZNT1 back-reference cut off`);
          const token = src.readUInt16LE(sp);
          sp += 2;
          const pos = dp - chunkStart;
          if (pos === 0) throw corrupt(`${what}: LZNT1 back-reference at the start of a chunk`);
          // The offset field widens as the position in the chunk grows.
          let lenBits = 12;
          for (let i = pos - 1; i >= 0x10; i >>= 1) lenBits--;
          const back = (token >>> lenBits) + 1;
          const len = (token & ((1 << lenBits) - 1)) + 3;
          if (back > pos) throw corrupt(`${what}: LZNT1 back-reference ${back} bytes before the chunk start`);
          if (dp + len > chunkEnd) throw corrupt(`${what}: LZNT1 match runs past the end of its chunk`);
          if (back >= len) {
            out.copyWithin(dp, dp - back, dp - back + len);
            dp += len;
          } else {
            // Overlapping match repeats the last `back` bytes.
            for (let i = 0; i < len; i++, dp++) out[dp] = out[dp - back]!;
          }
        }
      }
      out.fill(0, dp, chunkEnd);
    }
    sp = srcEnd;
    chunkStart += CHUNK;
  }
  if (chunkStart < out.length) out.fill(0, chunkStart);
}
