import { corrupt } from '../protocol/errors.js';
import { BinaryReader } from '../util/binary.js';

/** One entry of a subkey index: the nk cell, with the lh name hash when the list carries one. */
export interface SubkeyRef {
  offset: number;
  hash?: number;
}

/** ri lists hold leaf lists; Windows never nests them deeper than one level, allow a little slack. */
const MAX_RI_DEPTH = 3;

export type CellReader = (offset: number, what: string) => Promise<Buffer>;

/**
 * Collects the nk offsets of a subkey index (li, lf, lh, or ri of those), in stored
 * (sorted) order. `limit` bounds the total so a hostile ri that names one list many
 * times cannot make the walk grow beyond what the key says it holds.
 */
export async function readSubkeyList(cell: CellReader, listOffset: number, limit: number, out: SubkeyRef[] = [], depth = 0): Promise<SubkeyRef[]> {
  const where = `0x${listOffset.toString(16)}`;
  const b = await cell(listOffset, 'subkey list');
  const r = new BinaryReader(b, `registry subkey list at ${where}`);
  const sig = r.cstring(0, 2);
  const count = r.u16le(2);
  const width = sig === 'lf' || sig === 'lh' ? 8 : sig === 'li' || sig === 'ri' ? 4 : 0;
  if (width === 0) throw corrupt(`registry hive: cell at ${where} is not a subkey list (signature ${JSON.stringify(sig)})`);
  if (4 + count * width > b.length) throw corrupt(`registry hive: subkey list at ${where} claims ${count} entries, more than its ${b.length}-byte cell holds`);
  if (sig === 'ri') {
    if (depth >= MAX_RI_DEPTH) throw corrupt(`registry hive: subkey index at ${where} nests ri lists deeper than ${MAX_RI_DEPTH}`);
    for (let i = 0; i < count; i++) await readSubkeyList(cell, r.u32le(4 + i * 4), limit, out, depth + 1);
    return out;
  }
  if (out.length + count > limit) throw corrupt(`registry hive: subkey list at ${where} holds more keys than its parent states (${limit})`);
  for (let i = 0; i < count; i++) {
    const o = 4 + i * width;
    out.push(sig === 'lh' ? { offset: r.u32le(o), hash: r.u32le(o + 4) } : { offset: r.u32le(o) });
  }
  return out;
}

/**
 * The lh hash of a name: h = h * 37 + upcase(unit) over its UTF-16 code units, the hash of the
 * upper-cased name (Windows registry file format specification, "Hash leaf"), so it does not
 * depend on the case a lookup spells the name in.
 */
export function lhHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 37) + upcaseUnit(name.charCodeAt(i))) >>> 0;
  return h;
}

/** Upper case of one UTF-16 code unit, kept to one unit (Windows' upcase table maps unit to unit). */
export function upcaseUnit(u: number): number {
  if (u < 0x61) return u;
  if (u <= 0x7a) return u - 0x20;
  if (u < 0x80) return u;
  const up = String.fromCharCode(u).toUpperCase();
  return up.length === 1 ? up.charCodeAt(0) : u;
}

/** Case-insensitive comparison key of a name, unit by unit as Windows compares. */
export function foldName(name: string): string {
  let ascii = true;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) ascii = false;
  if (ascii) return name.toUpperCase();
  let s = '';
  for (let i = 0; i < name.length; i++) s += String.fromCharCode(upcaseUnit(name.charCodeAt(i)));
  return s;
}
