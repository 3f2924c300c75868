import { ATTR_LFN, LfnAssembler } from './lfn.js';

export const ATTR = { READ_ONLY: 0x01, HIDDEN: 0x02, SYSTEM: 0x04, VOLUME_ID: 0x08, DIRECTORY: 0x10, ARCHIVE: 0x20 } as const;

/** One 8.3 directory entry (with its long name when the VFAT parts are intact). */
export interface FatDirent {
  name: string;
  shortName: string;
  attr: number;
  firstCluster: number;
  size: number;
  mtimeMs: number;
  atimeMs: number;
  birthtimeMs: number;
}

/** Code page 437 for the upper half (Linux vfat's default codepage); the lower half is ASCII. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function cp437(b: Buffer): string {
  let s = '';
  for (const c of b) s += c < 0x80 ? String.fromCharCode(c) : CP437_HIGH[c - 0x80]!;
  return s;
}

/** 8.3 name as Linux shows it: NT byte 0x08/0x10 lower-case the base/extension. */
export function shortName(e: Buffer, applyCase: boolean): string {
  const raw = Buffer.from(e.subarray(0, 11));
  if (raw[0] === 0x05) raw[0] = 0xe5; // 0x05 stands for a real leading 0xE5
  const nt = applyCase ? e[12]! : 0;
  let base = cp437(raw.subarray(0, 8)).replace(/ +$/, '');
  let ext = cp437(raw.subarray(8, 11)).replace(/ +$/, '');
  if (nt & 0x08) base = base.toLowerCase();
  if (nt & 0x10) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** FAT date + time (local time of the writer, read as UTC like Linux with tz=UTC) → ms. */
export function fatTime(date: number, time: number, centis = 0): number {
  const year = 1980 + (date >> 9);
  const month = Math.max(1, (date >> 5) & 0xf);
  const day = Math.max(1, date & 0x1f);
  const h = time >> 11;
  const m = (time >> 5) & 0x3f;
  const s = (time & 0x1f) * 2;
  return Date.UTC(year, month - 1, day, h, m, s) + Math.min(centis, 199) * 10;
}

export interface ParsedEntry {
  /** Byte position of the 8.3 entry within the directory's data. */
  pos: number;
  dirent: FatDirent;
}

/**
 * Parses directory data (a fixed root region or a cluster chain's bytes):
 * deleted entries are skipped, "." and ".." are dropped, the volume label
 * entry is reported separately, and parsing stops at the first never-used slot.
 */
export function parseDirectory(data: Buffer, fat32: boolean): { entries: ParsedEntry[]; label?: string } {
  const entries: ParsedEntry[] = [];
  const lfn = new LfnAssembler();
  let label: string | undefined;
  for (let pos = 0; pos + 32 <= data.length; pos += 32) {
    const e = data.subarray(pos, pos + 32);
    const first = e[0]!;
    if (first === 0x00) break;
    if (first === 0xe5) {
      lfn.reset();
      continue;
    }
    const attr = e[11]!;
    if ((attr & 0x3f) === ATTR_LFN) {
      lfn.add(e);
      continue;
    }
    if (attr & ATTR.VOLUME_ID) {
      lfn.reset();
      if (label === undefined && !(attr & ATTR.DIRECTORY)) label = cp437(e.subarray(0, 11)).replace(/[ \0]+$/, '');
      continue;
    }
    const long = lfn.take(e.subarray(0, 11));
    const short = shortName(e, true);
    if (short === '.' || short === '..') continue;
    entries.push({
      pos,
      dirent: {
        name: long ?? short,
        shortName: shortName(e, false),
        ...parseEntryFields(e, fat32),
      },
    });
  }
  return label === undefined ? { entries } : { entries, label };
}

/** The fields of an 8.3 entry other than its name. */
export function parseEntryFields(e: Buffer, fat32: boolean): Omit<FatDirent, 'name' | 'shortName'> {
  const attr = e[11]!;
  return {
    attr,
    // FAT12/16 keep other data (OS/2 EA handles) in the high word, as Linux assumes.
    firstCluster: (fat32 ? e.readUInt16LE(20) * 65536 : 0) + e.readUInt16LE(26),
    size: e.readUInt32LE(28),
    mtimeMs: fatTime(e.readUInt16LE(24), e.readUInt16LE(22)),
    atimeMs: fatTime(e.readUInt16LE(18), 0),
    birthtimeMs: fatTime(e.readUInt16LE(16), e.readUInt16LE(14), e[13]!),
  };
}
