import { corrupt } from '../protocol/errors.js';
import { BinaryReader } from '../util/binary.js';

/** nk flag: the name is stored in 8-bit (Latin-1) characters, not UTF-16. */
export const KEY_COMP_NAME = 0x0020;
export const KEY_HIVE_ENTRY = 0x0004;

/** An nk (key node) record. Offsets are cell offsets relative to the first hbin; 0xFFFFFFFF is none. */
export interface KeyNode {
  offset: number;
  flags: number;
  lastWritten: bigint;
  parent: number;
  subkeyCount: number;
  subkeyList: number;
  valueCount: number;
  valueList: number;
  security: number;
  classOffset: number;
  classLength: number;
  name: string;
}

export const NONE = 0xffffffff;

export function parseKeyNode(cell: Buffer, offset: number): KeyNode {
  const r = new BinaryReader(cell, `registry key at 0x${offset.toString(16)}`);
  if (cell.length < 0x4c || r.cstring(0, 2) !== 'nk') throw corrupt(`registry hive: cell at 0x${offset.toString(16)} is not a key (nk) record`);
  const flags = r.u16le(2);
  const nameLength = r.u16le(0x48);
  if (0x4c + nameLength > cell.length) {
    throw corrupt(`registry hive: key name (${nameLength} bytes) at 0x${offset.toString(16)} runs past its ${cell.length}-byte cell`);
  }
  return {
    offset,
    flags,
    lastWritten: r.u64leBig(4),
    parent: r.u32le(0x10),
    subkeyCount: r.u32le(0x14),
    subkeyList: r.u32le(0x1c),
    valueCount: r.u32le(0x24),
    valueList: r.u32le(0x28),
    security: r.u32le(0x2c),
    classOffset: r.u32le(0x30),
    classLength: r.u16le(0x4a),
    name: decodeName(r.bytes(0x4c, nameLength), (flags & KEY_COMP_NAME) !== 0),
  };
}

/** Key and value names: Latin-1 when the "compressed" flag is set, else UTF-16LE. */
export function decodeName(b: Buffer, compressed: boolean): string {
  return compressed ? b.toString('latin1') : b.subarray(0, b.length & ~1).toString('utf16le');
}
