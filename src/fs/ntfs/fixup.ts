import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

/** The update sequence stride is fixed at 512 bytes, whatever the sector size. */
const STRIDE = 512;

/**
 * Applies the update sequence array of a multi-sector record (FILE, INDX) in place.
 * The last two bytes of every 512-byte stride must hold the update sequence number;
 * a mismatch means a torn or corrupt write.
 */
export function applyFixups(buf: Buffer, what: string): void {
  const r = new BinaryReader(buf, what);
  const usaOff = r.u16le(4);
  const usaCount = r.u16le(6);
  const strides = buf.length / STRIDE;
  if (!Number.isInteger(strides) || usaCount !== strides + 1) {
    throw corrupt(`${what}: update sequence array has ${usaCount} entries for ${buf.length} bytes`);
  }
  if (usaOff % 2 !== 0 || usaOff < 8 || usaOff + usaCount * 2 > STRIDE - 2) {
    throw corrupt(`${what}: update sequence array at offset ${usaOff} is misplaced`);
  }
  const usn = buf.readUInt16LE(usaOff);
  for (let i = 1; i < usaCount; i++) {
    const pos = i * STRIDE - 2;
    if (buf.readUInt16LE(pos) !== usn) {
      throw corrupt(`${what}: update sequence mismatch in sector ${i - 1} (torn or corrupt record)`, {
        expected: usn,
        found: buf.readUInt16LE(pos),
      });
    }
    buf.writeUInt16LE(buf.readUInt16LE(usaOff + i * 2), pos);
  }
}
