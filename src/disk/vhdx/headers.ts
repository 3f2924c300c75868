import { BinaryReader } from '../../util/binary.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { crc32cWithHole } from '../../util/crc32c.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const HEADER_OFFSETS = [64 * KiB, 128 * KiB] as const;
export const REGION_TABLE_OFFSETS = [192 * KiB, 256 * KiB] as const;
export const HEADER_SECTION_END = 1 * MiB;
export const BAT_GUID = '2DC27766-F623-4200-9D64-115E9BFD4A08';
export const METADATA_GUID = '8B7CA206-4790-4B9A-B8FE-575F050F886E';
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export function hasVhdxSignature(head: Buffer): boolean {
  return head.length >= 8 && head.toString('latin1', 0, 8) === 'vhdxfile';
}

/** The file type identifier's creator string (UTF-16LE at 8..520). */
export function parseCreator(buf: Buffer): string {
  const r = new BinaryReader(buf, 'VHDX file identifier');
  const s = r.utf16le(8, 512);
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/** One of the two 4 KiB headers. */
export interface VhdxHeader {
  offset: number;
  sequence: bigint;
  fileWriteGuid: string;
  dataWriteGuid: string;
  logGuid: string;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number;
}

/** Parses a header; returns an Error (not throws) when it is invalid, since the other copy may be fine. */
export function parseHeader(buf: Buffer, offset: number): VhdxHeader | Error {
  const r = new BinaryReader(buf, `VHDX header at ${offset}`);
  if (buf.toString('latin1', 0, 4) !== 'head') return corrupt(`VHDX header at ${offset}: no "head" signature`);
  const stored = r.u32le(4);
  const computed = crc32cWithHole(buf.subarray(0, 4 * KiB), 4);
  if (stored !== computed) {
    return corrupt(`VHDX header at ${offset}: CRC-32C mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  }
  const version = r.u16le(66);
  if (version !== 1) return new GuestkitError('UNSUPPORTED_FORMAT', `VHDX header at ${offset}: version ${version} is not supported (only 1)`);
  return {
    offset,
    sequence: r.u64leBig(8),
    fileWriteGuid: r.guid(16),
    dataWriteGuid: r.guid(32),
    logGuid: r.guid(48),
    logVersion: r.u16le(64),
    version,
    logLength: r.u32le(68),
    logOffset: r.u64le(72),
  };
}

export function logIsActive(h: VhdxHeader): boolean {
  return h.logGuid !== ZERO_GUID;
}

export interface Region {
  guid: string;
  offset: number;
  length: number;
  required: boolean;
}

export function parseRegionTable(buf: Buffer, offset: number): Region[] | Error {
  const r = new BinaryReader(buf, `VHDX region table at ${offset}`);
  if (buf.toString('latin1', 0, 4) !== 'regi') return corrupt(`VHDX region table at ${offset}: no "regi" signature`);
  const stored = r.u32le(4);
  const computed = crc32cWithHole(buf.subarray(0, 64 * KiB), 4);
  if (stored !== computed) {
    return corrupt(`VHDX region table at ${offset}: CRC-32C mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  }
  const count = r.u32le(8);
  if (count > 2047) return corrupt(`VHDX region table at ${offset}: ${count} entries (at most 2047)`);
  const out: Region[] = [];
  for (let i = 0; i < count; i++) {
    const o = 16 + i * 32;
    out.push({ guid: r.guid(o), offset: r.u64le(o + 16), length: r.u32le(o + 24), required: (r.u32le(o + 28) & 1) !== 0 });
  }
  return out;
}
