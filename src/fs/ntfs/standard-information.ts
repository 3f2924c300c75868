import { BinaryReader } from '../../util/binary.js';

export const FILE_ATTR = {
  READONLY: 0x0001,
  HIDDEN: 0x0002,
  SYSTEM: 0x0004,
  DIRECTORY: 0x0010,
  ARCHIVE: 0x0020,
  SPARSE: 0x0200,
  REPARSE_POINT: 0x0400,
  COMPRESSED: 0x0800,
  ENCRYPTED: 0x4000,
} as const;

export interface StandardInformation {
  birthtimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  atimeMs: number;
  fileAttributes: number;
}

/** 100 ns intervals from 1601 to 1970. */
const EPOCH_DIFF = 116444736000000000n;

/** NTFS time (100 ns since 1601) → milliseconds since 1970, keeping sub-millisecond precision. */
export function ntfsTimeToMs(t: bigint): number {
  const d = t - EPOCH_DIFF;
  return Number(d / 10000n) + Number(d % 10000n) / 10000;
}

export function parseStandardInformation(buf: Buffer, what: string): StandardInformation {
  const r = new BinaryReader(buf, what);
  return {
    birthtimeMs: ntfsTimeToMs(r.u64leBig(0)),
    mtimeMs: ntfsTimeToMs(r.u64leBig(8)),
    ctimeMs: ntfsTimeToMs(r.u64leBig(16)),
    atimeMs: ntfsTimeToMs(r.u64leBig(24)),
    fileAttributes: r.u32le(32),
  };
}
