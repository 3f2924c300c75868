import { corrupt } from '../protocol/errors.js';
import { BinaryReader } from '../util/binary.js';

export const BASE_BLOCK_SIZE = 4096;

/** The REGF base block: the first 4 KiB of a hive file. */
export interface BaseBlock {
  primarySequence: number;
  secondarySequence: number;
  /** Last written, as a FILETIME (100 ns since 1601) in a bigint. */
  lastWritten: bigint;
  majorVersion: number;
  minorVersion: number;
  /** 0 primary file, 1/2/6 transaction logs. */
  fileType: number;
  /** Offset of the root key cell, relative to the first hbin. */
  rootCell: number;
  /** Length of the hive bins data as the header states it. */
  binsSize: number;
  /** File name stored in the header (often the tail of the hive's path). */
  fileName: string;
  checksum: number;
  /** The XOR checksum computed over the first 508 bytes. */
  computedChecksum: number;
}

export function parseBaseBlock(buf: Buffer): BaseBlock {
  const r = new BinaryReader(buf, 'registry base block');
  if (buf.length < BASE_BLOCK_SIZE) throw corrupt(`registry hive: ${buf.length} bytes is shorter than the 4096-byte base block`);
  if (r.cstring(0, 4) !== 'regf') throw corrupt('registry hive: no "regf" signature at offset 0');
  return {
    primarySequence: r.u32le(4),
    secondarySequence: r.u32le(8),
    lastWritten: r.u64leBig(12),
    majorVersion: r.u32le(0x14),
    minorVersion: r.u32le(0x18),
    fileType: r.u32le(0x1c),
    rootCell: r.u32le(0x24),
    binsSize: r.u32le(0x28),
    fileName: r.utf16le(0x30, 64).replace(/\0[\s\S]*$/, ''),
    checksum: r.u32le(0x1fc),
    computedChecksum: baseBlockChecksum(buf),
  };
}

/** XOR of the first 127 dwords; 0 and ~0 are reserved and map to 1 and ~0-1 (as Windows writes it). */
export function baseBlockChecksum(buf: Buffer): number {
  let x = 0;
  for (let o = 0; o < 0x1fc; o += 4) x ^= buf.readUInt32LE(o);
  x >>>= 0;
  if (x === 0) return 1;
  if (x === 0xffffffff) return 0xfffffffe;
  return x;
}
