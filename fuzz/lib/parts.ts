/**
 * Several files (or disks) as one fuzz input: a VMDK descriptor with its extents, the member
 * disks of an md array. Layout: "GKMP" | u32 count | count × u32 length | the parts, in order.
 * An input without the magic is one part; lengths a mutation broke are clipped to what is there;
 * there is always at least one part.
 */
const MAGIC = 0x504d4b47; // "GKMP" little-endian
/** More parts than this are dropped: every part becomes a file or a disk. */
export const MAX_PARTS = 8;

export function encodeParts(parts: Buffer[]): Buffer {
  const head = Buffer.alloc(8 + 4 * parts.length);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(parts.length, 4);
  parts.forEach((p, i) => head.writeUInt32LE(p.length, 8 + 4 * i));
  return Buffer.concat([head, ...parts]);
}

export function decodeParts(buf: Buffer): Buffer[] {
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC) return [buf];
  const count = Math.min(buf.readUInt32LE(4), MAX_PARTS, Math.floor((buf.length - 8) / 4));
  const out: Buffer[] = [];
  let at = 8 + 4 * count;
  for (let i = 0; i < count; i++) {
    const len = Math.min(buf.readUInt32LE(8 + 4 * i), Math.max(0, buf.length - at));
    out.push(buf.subarray(at, at + len));
    at += len;
  }
  // a count of 0 is one empty part: a target always has a first file or disk
  return out.length > 0 ? out : [Buffer.alloc(0)];
}
