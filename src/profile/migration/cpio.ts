import { corrupt } from '../../protocol/errors.js';

/** One member of a newc/crc cpio archive (the format every initramfs uses). */
export interface CpioEntry {
  name: string;
  mode: number;
  size: number;
}

const HEADER = 110;
const MAGICS = new Set(['070701', '070702']);

export function isCpio(buf: Buffer, at: number): boolean {
  return at + 6 <= buf.length && MAGICS.has(buf.toString('latin1', at, at + 6));
}

/**
 * Lists one archive starting at `at`, up to its TRAILER!!! entry. Returns the entries and the
 * offset just past the trailer (archives are concatenated: early microcode, then the main one).
 * `maxEntries` bounds the work on a hostile archive.
 */
export function listCpio(buf: Buffer, at: number, maxEntries: number): { entries: CpioEntry[]; end: number } {
  const entries: CpioEntry[] = [];
  let off = at;
  for (;;) {
    if (off + HEADER > buf.length) throw corrupt(`cpio: archive ends inside a header at ${off}`);
    if (!isCpio(buf, off)) throw corrupt(`cpio: no newc header at ${off}`);
    const field = (i: number) => {
      const s = buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8);
      if (!/^[0-9A-Fa-f]{8}$/.test(s)) throw corrupt(`cpio: header field ${i} at ${off} is not hex: ${JSON.stringify(s)}`);
      return parseInt(s, 16);
    };
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    if (nameSize < 1 || nameSize > 4096) throw corrupt(`cpio: name size ${nameSize} at ${off}`);
    const nameEnd = off + HEADER + nameSize;
    if (nameEnd > buf.length) throw corrupt(`cpio: archive ends inside a name at ${off}`);
    const name = buf.toString('utf8', off + HEADER, nameEnd - 1);
    const dataAt = align4(nameEnd);
    off = align4(dataAt + size);
    if (dataAt + size > buf.length) throw corrupt(`cpio: ${name}: ${size} bytes of data past the end of the archive`);
    if (name === 'TRAILER!!!') return { entries, end: Math.min(off, buf.length) };
    if (entries.length >= maxEntries) throw corrupt(`cpio: more than ${maxEntries} entries`);
    entries.push({ name: name.replace(/^\.?\//, ''), mode, size });
  }
}

const align4 = (n: number) => (n + 3) & ~3;
