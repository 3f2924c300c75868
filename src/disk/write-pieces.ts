/** Size of the pieces a block-format writer looks at: all-zero ones are never written. */
export const WRITE_PIECE = 64 * 1024;
const ZERO = Buffer.alloc(WRITE_PIECE);

/**
 * The non-zero 64 KiB-aligned pieces of `data` written at guest offset `off` (pieces never
 * cross a 64 KiB boundary, so none crosses a block of the sparse formats).
 */
export function* nonZeroPieces(off: number, data: Buffer): Generator<{ at: number; piece: Buffer }> {
  for (let i = 0; i < data.length; ) {
    const at = off + i;
    const len = Math.min(data.length - i, WRITE_PIECE - (at % WRITE_PIECE));
    const piece = data.subarray(i, i + len);
    i += len;
    if (!piece.equals(ZERO.subarray(0, len))) yield { at, piece };
  }
}
