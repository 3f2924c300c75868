/**
 * A read-only GVariant decoder (GLib's serialisation format, "normal form" as written by
 * g_variant_get_data), for the few files beside the package manager that use it (flatpak's
 * per-deployment `deploy` file). Every offset is checked against the buffer; a malformed
 * value throws CORRUPT_IMAGE for the caller to turn into a warning.
 */

import { corrupt } from '../../protocol/errors.js';

export type GValue = string | number | bigint | boolean | GValue[] | { type: string; value: GValue } | Map<string, GValue>;

const FIXED: Record<string, number> = { y: 1, b: 1, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };

interface TypeInfo {
  align: number;
  /** Fixed size, or undefined for variable-sized types. */
  size?: number;
}

/** Splits the first complete type off a type string: "a{sv}s" → ["a{sv}", "s"]. */
function firstType(t: string): [string, string] {
  const c = t[0];
  if (c === undefined) throw corrupt('gvariant: empty type');
  if (c === 'a' || c === 'm') {
    const [inner, rest] = firstType(t.slice(1));
    return [c + inner, rest];
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    let rest = t.slice(1);
    let out = c;
    while (rest[0] !== close) {
      if (rest.length === 0) throw corrupt(`gvariant: unterminated type ${t}`);
      const [m, r] = firstType(rest);
      out += m;
      rest = r;
    }
    return [out + close, rest.slice(1)];
  }
  if ('ybnqiuhxtdsogv'.includes(c)) return [c, t.slice(1)];
  throw corrupt(`gvariant: unknown type character ${JSON.stringify(c)}`);
}

function members(t: string): string[] {
  const out: string[] = [];
  let rest = t.slice(1, -1);
  while (rest.length) {
    const [m, r] = firstType(rest);
    out.push(m);
    rest = r;
  }
  return out;
}

function info(t: string): TypeInfo {
  const f = FIXED[t];
  if (f !== undefined) return { align: f, size: f };
  const c = t[0];
  if (c === 's' || c === 'o' || c === 'g') return { align: 1 };
  if (c === 'v') return { align: 8 };
  if (c === 'a' || c === 'm') return { align: info(t.slice(1)).align };
  if (c === '(' || c === '{') {
    let align = 1;
    let size: number | undefined = 0;
    for (const m of members(t)) {
      const mi = info(m);
      align = Math.max(align, mi.align);
      if (size !== undefined && mi.size !== undefined) size = alignUp(size, mi.align) + mi.size;
      else size = undefined;
    }
    if (size !== undefined) size = size === 0 ? 1 : alignUp(size, align);
    return { align, size };
  }
  throw corrupt(`gvariant: unknown type ${t}`);
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;
const offsetSize = (n: number): number => (n === 0 ? 0 : n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffff ? 4 : 8);

function readOffset(b: Buffer, at: number, size: number): number {
  if (size === 0 || at < 0 || at + size > b.length) throw corrupt('gvariant: framing offset out of range');
  if (size === 1) return b[at]!;
  if (size === 2) return b.readUInt16LE(at);
  if (size === 4) return b.readUInt32LE(at);
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(b.length)) throw corrupt('gvariant: framing offset out of range');
  return Number(v);
}

function slice(b: Buffer, start: number, end: number): Buffer {
  if (start < 0 || end < start || end > b.length) throw corrupt('gvariant: member out of range');
  return b.subarray(start, end);
}

/** Decodes `b` as a value of GVariant type `type`. `depth` bounds nesting (hostile input). */
export function decodeGVariant(b: Buffer, type: string, depth = 0): GValue {
  if (depth > 32) throw corrupt('gvariant: nesting too deep');
  const c = type[0];
  switch (c) {
    case 'y':
      return b.length === 1 ? b[0]! : 0;
    case 'b':
      return b.length === 1 && b[0] === 1;
    case 'n':
      return b.length === 2 ? b.readInt16LE(0) : 0;
    case 'q':
      return b.length === 2 ? b.readUInt16LE(0) : 0;
    case 'i':
    case 'h':
      return b.length === 4 ? b.readInt32LE(0) : 0;
    case 'u':
      return b.length === 4 ? b.readUInt32LE(0) : 0;
    case 'x':
      return b.length === 8 ? b.readBigInt64LE(0) : 0n;
    case 't':
      return b.length === 8 ? b.readBigUInt64LE(0) : 0n;
    case 'd':
      return b.length === 8 ? b.readDoubleLE(0) : 0;
    case 's':
    case 'o':
    case 'g':
      // Normal form ends with a NUL; anything else is the default (empty) value.
      return b.length > 0 && b[b.length - 1] === 0 ? b.toString('utf8', 0, b.length - 1) : '';
    case 'v': {
      const z = b.lastIndexOf(0);
      if (z < 0) throw corrupt('gvariant: variant without a type');
      const t = b.toString('latin1', z + 1);
      const [one, rest] = firstType(t);
      if (rest) throw corrupt(`gvariant: variant type ${t} is not one type`);
      return { type: one, value: decodeGVariant(b.subarray(0, z), one, depth + 1) };
    }
    case 'm': {
      if (b.length === 0) return [];
      const inner = type.slice(1);
      const ii = info(inner);
      return [decodeGVariant(ii.size === undefined ? b.subarray(0, b.length - 1) : b, inner, depth + 1)];
    }
    case 'a': {
      const inner = type.slice(1);
      const items = decodeArray(b, inner, depth);
      if (inner.startsWith('{s')) {
        const m = new Map<string, GValue>();
        for (const it of items) {
          const [k, v] = it as GValue[];
          if (typeof k === 'string' && !m.has(k)) m.set(k, v!);
        }
        return m;
      }
      return items;
    }
    case '(':
    case '{':
      return decodeTuple(b, members(type), depth);
    default:
      throw corrupt(`gvariant: unknown type ${type}`);
  }
}

function decodeArray(b: Buffer, inner: string, depth: number): GValue[] {
  const ii = info(inner);
  const out: GValue[] = [];
  if (b.length === 0) return out;
  if (ii.size !== undefined) {
    if (b.length % ii.size !== 0) throw corrupt('gvariant: array length not a multiple of its element size');
    for (let at = 0; at < b.length; at += ii.size) out.push(decodeGVariant(b.subarray(at, at + ii.size), inner, depth + 1));
    return out;
  }
  const osz = offsetSize(b.length);
  const tableStart = readOffset(b, b.length - osz, osz);
  if (tableStart > b.length || (b.length - tableStart) % osz !== 0) throw corrupt('gvariant: bad array framing');
  const n = (b.length - tableStart) / osz;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = readOffset(b, tableStart + i * osz, osz);
    start = alignUp(start, ii.align);
    out.push(decodeGVariant(slice(b, start, Math.min(end, tableStart)), inner, depth + 1));
    start = end;
  }
  return out;
}

function decodeTuple(b: Buffer, ms: string[], depth: number): GValue[] {
  const osz = offsetSize(b.length);
  let frame = b.length; // framing offsets are read backwards from the end
  let start = 0;
  const out: GValue[] = [];
  ms.forEach((m, i) => {
    const mi = info(m);
    start = alignUp(start, mi.align);
    let end: number;
    if (mi.size !== undefined) end = start + mi.size;
    else if (i === ms.length - 1) end = frame;
    else {
      frame -= osz;
      end = readOffset(b, frame, osz);
    }
    out.push(decodeGVariant(slice(b, start, Math.min(end, frame)), m, depth + 1));
    start = end;
  });
  return out;
}
