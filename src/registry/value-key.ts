import { corrupt } from '../protocol/errors.js';
import { BinaryReader } from '../util/binary.js';
import { decodeName } from './key-node.js';
import type { CellReader } from './subkey-list.js';

/** vk flag: the value name is stored in 8-bit (Latin-1) characters. */
export const VALUE_COMP_NAME = 0x0001;

/** Data this long or longer sits in a db (big data) record in hives of version 1.4 and later. */
export const BIG_DATA_THRESHOLD = 16344;

/** A vk (value key) record. */
export interface ValueKey {
  offset: number;
  name: string;
  type: number;
  /** Data length (without the "inline" bit). */
  length: number;
  /** Data is stored in the offset field itself (≤ 4 bytes). */
  inline: boolean;
  dataOffset: number;
  /** The raw 4 bytes of the offset field (the data when inline). */
  dataField: Buffer;
}

export function parseValueKey(cell: Buffer, offset: number): ValueKey {
  const where = `0x${offset.toString(16)}`;
  const r = new BinaryReader(cell, `registry value at ${where}`);
  if (cell.length < 0x14 || r.cstring(0, 2) !== 'vk') throw corrupt(`registry hive: cell at ${where} is not a value (vk) record`);
  const nameLength = r.u16le(2);
  const rawLength = r.u32le(4);
  const flags = r.u16le(0x10);
  if (0x14 + nameLength > cell.length) throw corrupt(`registry hive: value name (${nameLength} bytes) at ${where} runs past its ${cell.length}-byte cell`);
  const inline = (rawLength & 0x80000000) !== 0;
  const length = rawLength & 0x7fffffff;
  if (inline && length > 4) throw corrupt(`registry hive: value at ${where} claims ${length} bytes of inline data (at most 4)`);
  return {
    offset,
    name: nameLength === 0 ? '' : decodeName(r.bytes(0x14, nameLength), (flags & VALUE_COMP_NAME) !== 0),
    type: r.u32le(0x0c),
    length,
    inline,
    dataOffset: r.u32le(8),
    dataField: r.bytes(8, 4),
  };
}

/**
 * The data of a value: inline in the offset field, one data cell, or a db record whose
 * segment list names cells of up to 16344 bytes each. `binsSize` bounds the length: data
 * longer than the hive itself cannot exist, whatever the record says.
 */
export async function readValueData(cell: CellReader, vk: ValueKey, minorVersion: number, binsSize: number): Promise<Buffer> {
  const where = `0x${vk.offset.toString(16)}`;
  if (vk.inline) return Buffer.from(vk.dataField.subarray(0, vk.length));
  if (vk.length === 0) return Buffer.alloc(0);
  if (vk.length > binsSize) throw corrupt(`registry hive: value at ${where} claims ${vk.length} bytes, more than the hive holds`);
  const first = await cell(vk.dataOffset, 'value data');
  if (vk.length > BIG_DATA_THRESHOLD && minorVersion >= 4 && first.length >= 8 && first.toString('latin1', 0, 2) === 'db') {
    return readBigData(cell, first, vk, where);
  }
  if (vk.length > first.length) throw corrupt(`registry hive: value at ${where} claims ${vk.length} bytes, its data cell holds ${first.length}`);
  return Buffer.from(first.subarray(0, vk.length));
}

async function readBigData(cell: CellReader, db: Buffer, vk: ValueKey, where: string): Promise<Buffer> {
  const r = new BinaryReader(db, `registry big data record for value at ${where}`);
  const segments = r.u16le(2);
  const list = await cell(r.u32le(4), 'big data segment list');
  if (segments * 4 > list.length) throw corrupt(`registry hive: big data of value at ${where} names ${segments} segments, its list holds ${list.length >> 2}`);
  if (segments * BIG_DATA_THRESHOLD < vk.length) {
    throw corrupt(`registry hive: big data of value at ${where}: ${segments} segments cannot hold ${vk.length} bytes`);
  }
  const out = Buffer.alloc(vk.length);
  let filled = 0;
  for (let i = 0; i < segments && filled < vk.length; i++) {
    const seg = await cell(list.readUInt32LE(i * 4), 'big data segment');
    const take = Math.min(BIG_DATA_THRESHOLD, vk.length - filled);
    if (seg.length < take) throw corrupt(`registry hive: big data segment ${i} of value at ${where} holds ${seg.length} bytes, ${take} expected`);
    seg.copy(out, filled, 0, take);
    filled += take;
  }
  return out;
}
