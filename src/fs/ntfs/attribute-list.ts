import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { refRecord } from './mft-record.js';

export interface AttrListEntry {
  type: number;
  name: string;
  startVcn: number;
  recNo: number;
  id: number;
}

/** Parses an $ATTRIBUTE_LIST value: where each attribute of a file lives. */
export function parseAttributeList(buf: Buffer, what: string): AttrListEntry[] {
  const r = new BinaryReader(buf, what);
  const out: AttrListEntry[] = [];
  let off = 0;
  // Each entry is at least 26 bytes, so the loop ends within buf.length / 26 steps.
  while (off + 26 <= buf.length) {
    const type = r.u32le(off);
    const len = r.u16le(off + 4);
    if (len < 26 || off + len > buf.length) throw corrupt(`${what}: entry at ${off} has length ${len}`);
    const nameLen = r.u8(off + 6);
    const nameOff = r.u8(off + 7);
    if (nameLen > 0 && nameOff + nameLen * 2 > len) throw corrupt(`${what}: entry name at ${off} lies outside the entry`);
    out.push({
      type,
      name: nameLen > 0 ? r.utf16le(off + nameOff, nameLen * 2) : '',
      startVcn: r.i64le(off + 8),
      recNo: refRecord(r.u64leBig(off + 16)),
      id: r.u16le(off + 24),
    });
    off += len;
  }
  return out;
}
