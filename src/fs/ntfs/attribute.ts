import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const AT = {
  STANDARD_INFORMATION: 0x10,
  ATTRIBUTE_LIST: 0x20,
  FILE_NAME: 0x30,
  OBJECT_ID: 0x40,
  SECURITY_DESCRIPTOR: 0x50,
  VOLUME_NAME: 0x60,
  VOLUME_INFORMATION: 0x70,
  DATA: 0x80,
  INDEX_ROOT: 0x90,
  INDEX_ALLOCATION: 0xa0,
  BITMAP: 0xb0,
  REPARSE_POINT: 0xc0,
  END: 0xffffffff,
} as const;

export const ATTR_FLAG = { COMPRESSED: 0x0001, ENCRYPTED: 0x4000, SPARSE: 0x8000 } as const;

interface AttrCommon {
  type: number;
  /** Stream name ("" for the unnamed stream, "$I30" for directory indexes). */
  name: string;
  flags: number;
  id: number;
  /** MFT record the attribute header was found in. */
  recNo: number;
}

export interface ResidentAttr extends AttrCommon {
  resident: true;
  value: Buffer;
}

export interface NonResidentAttr extends AttrCommon {
  resident: false;
  startVcn: number;
  /** -1 for an empty attribute. */
  lastVcn: number;
  /** Raw mapping pairs; decoded by runlist.ts when the attribute is read. */
  mappingPairs: Buffer;
  /** log2 of clusters per compression unit (0 = not compressed). */
  compressionUnit: number;
  /** The sizes are valid only in the segment with startVcn 0. */
  allocatedSize: number;
  dataSize: number;
  initializedSize: number;
}

export type Attr = ResidentAttr | NonResidentAttr;

/** Parses the attribute headers between `start` and `end` of one (fixed-up) MFT record. */
export function parseAttributes(buf: Buffer, start: number, end: number, recNo: number): Attr[] {
  const what = `MFT record ${recNo}`;
  const r = new BinaryReader(buf, what);
  const out: Attr[] = [];
  let off = start;
  // Each attribute is at least 16 bytes, so the loop is bounded by the record size.
  while (true) {
    if (off + 4 > end) throw corrupt(`${what}: attribute list runs past the used bytes without an end marker`);
    const type = r.u32le(off);
    if (type === AT.END) break;
    if (off + 16 > end) throw corrupt(`${what}: attribute header at ${off} is cut off`);
    const len = r.u32le(off + 4);
    if (len < 24 || len % 8 !== 0 || off + len > end) {
      throw corrupt(`${what}: attribute at ${off} has length ${len}`, { type });
    }
    const nonResident = r.u8(off + 8);
    const nameLen = r.u8(off + 9);
    const nameOff = r.u16le(off + 10);
    const flags = r.u16le(off + 12);
    const id = r.u16le(off + 14);
    let name = '';
    if (nameLen > 0) {
      if (nameOff + nameLen * 2 > len) throw corrupt(`${what}: attribute name at ${off} lies outside the attribute`);
      name = r.utf16le(off + nameOff, nameLen * 2);
    }
    if (nonResident === 0) {
      const vlen = r.u32le(off + 16);
      const voff = r.u16le(off + 20);
      if (voff + vlen > len) throw corrupt(`${what}: resident value of attribute 0x${type.toString(16)} lies outside it`);
      out.push({ type, name, flags, id, recNo, resident: true, value: r.bytes(off + voff, vlen) });
    } else if (nonResident === 1) {
      if (len < 64) throw corrupt(`${what}: non-resident attribute at ${off} is only ${len} bytes`);
      const startVcn = r.i64le(off + 16);
      const lastVcn = r.i64le(off + 24);
      const mpOff = r.u16le(off + 32);
      const compressionUnit = r.u16le(off + 34);
      if (mpOff < 64 || mpOff >= len) throw corrupt(`${what}: mapping pairs offset ${mpOff} lies outside the attribute`);
      if (startVcn < 0 || lastVcn < startVcn - 1) throw corrupt(`${what}: attribute VCN range ${startVcn}..${lastVcn}`);
      const allocatedSize = r.i64le(off + 40);
      const dataSize = r.i64le(off + 48);
      const initializedSize = r.i64le(off + 56);
      if (startVcn === 0 && (dataSize < 0 || initializedSize < 0 || allocatedSize < 0 || initializedSize > dataSize)) {
        throw corrupt(`${what}: attribute sizes allocated=${allocatedSize} data=${dataSize} initialized=${initializedSize}`);
      }
      out.push({
        type,
        name,
        flags,
        id,
        recNo,
        resident: false,
        startVcn,
        lastVcn,
        mappingPairs: r.bytes(off + mpOff, len - mpOff),
        compressionUnit,
        allocatedSize,
        dataSize,
        initializedSize,
      });
    } else {
      throw corrupt(`${what}: attribute at ${off} has resident flag ${nonResident}`);
    }
    off += len;
  }
  return out;
}
