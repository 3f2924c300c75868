import { corrupt } from '../../protocol/errors.js';
import type { ByteSource } from '../source.js';

const BLOCK = 512;
/** OVAs hold an OVF, a manifest, a certificate and a few disks; far more is not an appliance. */
const MAX_MEMBERS = 10000;
/** GNU long names and pax headers are short; bounds what is read for them. */
const MAX_META_BYTES = 1 << 20;

export interface TarMember {
  name: string;
  /** Byte offset of the member's data in the tar. */
  offset: number;
  size: number;
  /** '0' regular file, '5' directory, … (after long-name / pax records are applied). */
  type: string;
}

export function isTarHeader(h: Buffer): boolean {
  if (h.length < BLOCK) return false;
  const magic = h.toString('latin1', 257, 262);
  return magic === 'ustar' && checksumOk(h);
}

function checksumOk(h: Buffer): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  if (stored === null) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

function parseOctal(b: Buffer): number | null {
  const s = b.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return null;
  return parseInt(s, 8);
}

/** Size field: octal, or GNU base-256 (high bit set) for members over 8 GiB. */
function parseSize(b: Buffer, where: string): number {
  if (b[0]! & 0x80) {
    let v = b[0]! & 0x7f;
    for (let i = 1; i < b.length; i++) {
      v = v * 256 + b[i]!;
      if (!Number.isSafeInteger(v)) throw corrupt(`${where}: member size does not fit in 2^53`);
    }
    return v;
  }
  const v = parseOctal(b);
  if (v === null) throw corrupt(`${where}: member size field is not octal`);
  return v;
}

function cstr(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** pax extended header records: "LEN key=value\n" repeated. */
function parsePax(data: Buffer, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  let p = 0;
  while (p < data.length) {
    const sp = data.indexOf(0x20, p);
    if (sp < 0) break;
    const len = Number(data.toString('latin1', p, sp));
    if (!Number.isSafeInteger(len) || len <= sp - p || p + len > data.length) throw corrupt(`${where}: malformed pax record at ${p}`);
    const rec = data.subarray(sp + 1, p + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    p += len;
  }
  return out;
}

/**
 * Lists the members of a POSIX (ustar) tar, with GNU long names ('L') and pax
 * extended headers ('x': path, size) applied. Reads only the headers.
 */
export async function listTar(src: ByteSource): Promise<TarMember[]> {
  const out: TarMember[] = [];
  let pos = 0;
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  for (let n = 0; n < MAX_MEMBERS * 3; n++) {
    if (pos + BLOCK > src.size) {
      // a tar ends with zero blocks; running out of file mid-archive is truncation
      throw corrupt(`${src.path}: tar header at ${pos} lies past end of file (${src.size} bytes); the archive is truncated`);
    }
    const h = await src.read(pos, BLOCK);
    if (h.every((b) => b === 0)) return out;
    const where = `${src.path}: tar header at ${pos}`;
    if (!checksumOk(h)) throw corrupt(`${where}: checksum mismatch (not a tar, or damaged)`);
    const type = String.fromCharCode(h[156]!) === '\0' ? '0' : String.fromCharCode(h[156]!);
    let size = parseSize(h.subarray(124, 136), where);
    const dataAt = pos + BLOCK;
    if (type === 'L' || type === 'x' || type === 'g') {
      if (size > MAX_META_BYTES || dataAt + size > src.size) throw corrupt(`${where}: ${type} record of ${size} bytes is too large or truncated`);
      const data = await src.read(dataAt, size);
      if (type === 'L') longName = cstr(data);
      else if (type === 'x') pax = parsePax(data, where);
    } else {
      let name = cstr(h.subarray(0, 100));
      if (h.toString('latin1', 257, 263) === 'ustar\0') {
        const prefix = cstr(h.subarray(345, 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      if (pax['path'] !== undefined) name = pax['path'];
      if (pax['size'] !== undefined) {
        const s = Number(pax['size']);
        if (!Number.isSafeInteger(s) || s < 0) throw corrupt(`${where}: pax size "${pax['size']}" is invalid`);
        size = s;
      }
      if (dataAt + size > src.size) {
        throw corrupt(`${where}: member ${name} (${size} bytes) runs past end of file (${src.size} bytes); the archive is truncated`);
      }
      if (out.length >= MAX_MEMBERS) throw corrupt(`${src.path}: more than ${MAX_MEMBERS} tar members`);
      out.push({ name: name.replace(/^\.\//, ''), offset: dataAt, size, type });
      longName = undefined;
      pax = {};
    }
    pos = dataAt + Math.ceil(size / BLOCK) * BLOCK;
  }
  throw corrupt(`${src.path}: too many tar records`);
}
