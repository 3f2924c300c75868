import { BinaryReader } from '../../util/binary.js';
import { corrupt } from '../../protocol/errors.js';
import { vhdChecksum } from './footer.js';

export const DYNAMIC_HEADER_SIZE = 1024;

export interface ParentLocator {
  /** W2ru (relative Windows path), W2ku (absolute Windows path), MacX (file URL), Wi2r/Wi2k (deprecated). */
  code: string;
  dataSpace: number;
  dataLength: number;
  dataOffset: number;
}

/** The 1024-byte dynamic disk header ("cxsparse", big-endian). */
export interface DynamicHeader {
  tableOffset: number;
  maxTableEntries: number;
  blockSize: number;
  parentUniqueId: string;
  parentTimestamp: number;
  parentName: string;
  locators: ParentLocator[];
}

export function parseDynamicHeader(buf: Buffer, at: number): DynamicHeader {
  const r = new BinaryReader(buf, `VHD dynamic header at ${at}`);
  if (buf.toString('latin1', 0, 8) !== 'cxsparse') throw corrupt(`VHD dynamic header at ${at}: no "cxsparse" cookie`);
  const checksum = r.u32be(36);
  const want = vhdChecksum(buf.subarray(0, DYNAMIC_HEADER_SIZE), 36);
  if (checksum !== want) {
    throw corrupt(`VHD dynamic header at ${at}: checksum mismatch (stored 0x${checksum.toString(16)}, computed 0x${want.toString(16)})`);
  }
  const blockSize = r.u32be(32);
  // a power of two, at least one sector: the bitmap math below relies on it
  // Hyper-V uses 512 KiB or 2 MiB; the cap bounds the per-block bitmap kept in memory
  if (blockSize < 512 || blockSize > 256 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw corrupt(`VHD dynamic header at ${at}: block size ${blockSize} is not a power of two between 512 and 256 MiB`);
  }
  const nameRaw = Buffer.from(r.bytes(64, 512));
  nameRaw.swap16(); // UTF-16 big-endian on disk
  const nul = nameRaw.indexOf(Buffer.from([0, 0]));
  let end = nul;
  while (end >= 0 && end % 2 !== 0) end = nameRaw.indexOf(Buffer.from([0, 0]), end + 1);
  const locators: ParentLocator[] = [];
  for (let i = 0; i < 8; i++) {
    const o = 576 + i * 24;
    const codeNum = r.u32be(o);
    if (codeNum === 0) continue;
    locators.push({
      code: r.bytes(o, 4).toString('latin1'),
      dataSpace: r.u32be(o + 4),
      dataLength: r.u32be(o + 8),
      dataOffset: r.u64be(o + 16),
    });
  }
  return {
    tableOffset: r.u64be(16),
    maxTableEntries: r.u32be(28),
    blockSize,
    parentUniqueId: r.uuid(40),
    parentTimestamp: r.u32be(56),
    parentName: nameRaw.subarray(0, end < 0 ? nameRaw.length : end).toString('utf16le'),
    locators,
  };
}
