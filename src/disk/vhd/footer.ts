import { BinaryReader } from '../../util/binary.js';
import { corrupt } from '../../protocol/errors.js';

export const VHD_COOKIE = 'conectix';
export const DISK_FIXED = 2;
export const DISK_DYNAMIC = 3;
export const DISK_DIFFERENCING = 4;
const NO_DATA_OFFSET = 0xffffffffffffffffn;

/** The 512-byte hard disk footer (big-endian), at the end of every VHD and copied at 0 in dynamic ones. */
export interface VhdFooter {
  features: number;
  version: number;
  /** Byte offset of the dynamic header; null for fixed disks. */
  dataOffset: number | null;
  timestamp: number;
  creatorApp: string;
  creatorVersion: number;
  creatorHostOs: string;
  originalSize: number;
  currentSize: number;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  diskType: number;
  checksum: number;
  uniqueId: string;
  savedState: number;
}

export function hasVhdCookie(b: Buffer, at = 0): boolean {
  return b.length >= at + 8 && b.toString('latin1', at, at + 8) === VHD_COOKIE;
}

/** One's complement of the byte sum with the checksum field (64..67) taken as zero. */
export function vhdChecksum(buf: Buffer, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) {
    if (i >= checksumAt && i < checksumAt + 4) continue;
    sum = (sum + buf[i]!) >>> 0;
  }
  return ~sum >>> 0;
}

/** Parses and verifies a footer; `where` names it in errors ("footer at 67108864"). */
export function parseFooter(buf: Buffer, where: string): VhdFooter {
  const r = new BinaryReader(buf, `VHD ${where}`);
  if (r.length < 512 || !hasVhdCookie(buf)) throw corrupt(`VHD ${where}: no "conectix" cookie`);
  const checksum = r.u32be(64);
  const want = vhdChecksum(buf.subarray(0, 512), 64);
  if (checksum !== want) {
    throw corrupt(`VHD ${where}: checksum mismatch (stored 0x${checksum.toString(16)}, computed 0x${want.toString(16)})`, {
      stored: checksum,
      computed: want,
    });
  }
  const dataOffsetBig = r.u64beBig(16);
  const diskType = r.u32be(60);
  if (diskType !== DISK_FIXED && diskType !== DISK_DYNAMIC && diskType !== DISK_DIFFERENCING) {
    throw corrupt(`VHD ${where}: unknown disk type ${diskType}`);
  }
  return {
    features: r.u32be(8),
    version: r.u32be(12),
    dataOffset: dataOffsetBig === NO_DATA_OFFSET ? null : r.u64be(16),
    timestamp: r.u32be(24),
    creatorApp: r.cstring(28, 4),
    creatorVersion: r.u32be(32),
    creatorHostOs: r.cstring(36, 4),
    originalSize: r.u64be(40),
    currentSize: r.u64be(48),
    cylinders: r.u16be(56),
    heads: r.u8(58),
    sectorsPerTrack: r.u8(59),
    diskType,
    checksum,
    uniqueId: r.uuid(68),
    savedState: r.u8(84),
  };
}
