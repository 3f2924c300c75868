import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

/** MD_SB_MAGIC, the first word of every md superblock (0.90 and 1.x). */
export const MD_MAGIC = 0xa92b4efc;

export type MdVersion = '0.90' | '1.0' | '1.1' | '1.2';

/** What one member's superblock says about the array and about the member itself. */
export interface MdSuperblock {
  version: MdVersion;
  /** Array UUID, 16 bytes as stored (blkid prints them in order, dashed). */
  uuidBytes: Buffer;
  /** 1.x: set_name ("host:name" or "name"). */
  name?: string;
  /** 0.90: md_minor, the preferred /dev/mdN. */
  preferredMinor?: number;
  /** md level: -1 linear, 0, 1, 4, 5, 6, 10; -4 multipath, -5 faulty. */
  level: number;
  layout: number;
  /** Chunk size in bytes (0 when the level has none). */
  chunkBytes: number;
  raidDisks: number;
  /** Bytes of each member the array uses (raid1/4/5/6/10); 0 for raid0/linear, which use dataSize. */
  componentSize: number;
  /** Where the array's data starts on this member, in bytes. */
  dataOffset: number;
  /** Bytes of data this member holds from dataOffset. */
  dataSize: number;
  /** Where the superblock itself is, in bytes from the member's start. */
  superOffset: number;
  /** This member's slot: 0..raidDisks-1 when active, or spare/faulty/journal. */
  role: number | 'spare' | 'faulty' | 'journal';
  /** Slots this superblock records as active (working and in sync). */
  activeRoles: number[];
  events: bigint;
  featureMap: number;
  /** The member is being rebuilt (1.x recovery_offset set): its data is not yet whole. */
  recovering: boolean;
  /** A reshape is in progress: the layout changes part-way through. */
  reshaping: boolean;
  /** 1.x: device_uuid. */
  deviceUuid?: string;
  /** The checksum as stored and as computed (mdadm reports "correct" when they match). */
  checksum: number;
  ctime: number;
  utime: number;
}

/** Byte offset of a 0.90 superblock on a device of `size` bytes: the last 64 KiB-aligned 64 KiB block. */
export function offset090(size: number): number {
  return Math.floor(size / 65536) * 65536 - 65536;
}

/** Byte offset of a 1.0 superblock: 8 KiB from the end, rounded down to 4 KiB. */
export function offset10(size: number): number {
  const sectors = Math.floor(size / 512);
  return Math.floor((sectors - 16) / 8) * 8 * 512;
}

export const OFFSET_11 = 0;
export const OFFSET_12 = 4096;
/** Bytes read to take in one superblock: 0.90's is 4096; 1.x's 256 + 2 per slot (max_dev ≤ 1920, in 4 KiB). */
export const SB_BYTES = 4096;

const LEVELS: Record<number, string> = { [-5]: 'faulty', [-4]: 'multipath', [-1]: 'linear', 0: 'raid0', 1: 'raid1', 4: 'raid4', 5: 'raid5', 6: 'raid6', 10: 'raid10' };

/** mdadm's name for a level (raid1, linear, …). */
export function levelName(level: number): string {
  return LEVELS[level] ?? `level ${level}`;
}

/** blkid's UUID form of the array UUID, dashed: 1.x its 16 bytes in order, 0.90 its four words as numbers. */
export function blkidUuid(sb: MdSuperblock): string {
  const x = sb.version === '0.90' ? mdadmUuid(sb).replace(/:/g, '') : sb.uuidBytes.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** mdadm's form: four 32-bit groups joined by ':' (0.90 prints its words as numbers, 1.x its bytes in order). */
export function mdadmUuid(sb: MdSuperblock): string {
  const b = sb.uuidBytes;
  const groups = [0, 4, 8, 12].map((o) => (sb.version === '0.90' ? b.readUInt32LE(o).toString(16).padStart(8, '0') : b.subarray(o, o + 4).toString('hex')));
  return groups.join(':');
}

/** Sum of little-endian 32-bit words with the checksum word taken as zero, folded to 32 bits (mdadm's calc_sb_1_csum / calc_sb0_csum). */
function foldedSum(b: Buffer, len: number, csumAt: number): number {
  let sum = 0n;
  let i = 0;
  for (; i + 4 <= len; i += 4) if (i !== csumAt) sum += BigInt(b.readUInt32LE(i));
  if (i + 2 <= len) sum += BigInt(b.readUInt16LE(i));
  const folded = (sum & 0xffffffffn) + (sum >> 32n);
  return Number(folded & 0xffffffffn);
}

/**
 * Parses a 0.90 superblock (4096 bytes, little-endian as x86 writes it) found at byte `at`. Null when the magic or version is not there; CORRUPT_IMAGE when
 * they are but the rest cannot be right.
 */
export function parseSuperblock090(buf: Buffer, at: number, where: string): MdSuperblock | null {
  const r = new BinaryReader(buf, `${where}: md 0.90 superblock`);
  if (buf.length < SB_BYTES || r.u32le(0) !== MD_MAGIC || r.u32le(4) !== 0 || r.u32le(8) !== 90) return null;
  const stored = r.u32le(38 * 4);
  const computed = foldedSum(buf, SB_BYTES, 38 * 4);
  if (stored !== computed) throw corrupt(`${where}: md 0.90 superblock checksum ${hex(stored)} does not match ${hex(computed)}`);
  const level = r.i32le(7 * 4);
  const raidDisks = r.u32le(10 * 4);
  if (raidDisks < 1 || raidDisks > 27) throw corrupt(`${where}: md 0.90 superblock lists ${raidDisks} raid disks (1..27 allowed)`);
  const uuidBytes = Buffer.concat([r.bytes(5 * 4, 4), r.bytes(13 * 4, 12)]);
  const sizeKiB = r.u32le(8 * 4);
  const chunkBytes = r.u32le(65 * 4);
  // The per-disk descriptors: number, major, minor, raid_disk, state (faulty 1, active 2, sync 4).
  const desc = (i: number) => ({ raidDisk: r.u32le((128 + 32 * i + 3) * 4), state: r.u32le((128 + 32 * i + 4) * 4) });
  const activeRoles: number[] = [];
  for (let i = 0; i < 27; i++) {
    const d = desc(i);
    if ((d.state & 1) === 0 && (d.state & 6) === 6 && d.raidDisk < raidDisks && !activeRoles.includes(d.raidDisk)) activeRoles.push(d.raidDisk);
  }
  const thisDisk = { raidDisk: r.u32le((992 + 3) * 4), state: r.u32le((992 + 4) * 4) };
  const role: MdSuperblock['role'] = thisDisk.state & 1 ? 'faulty' : (thisDisk.state & 6) === 6 && thisDisk.raidDisk < raidDisks ? thisDisk.raidDisk : 'spare';
  const events = (BigInt(r.u32le(40 * 4)) << 32n) | BigInt(r.u32le(39 * 4));
  const componentSize = sizeKiB * 1024;
  if (componentSize > at) throw corrupt(`${where}: md 0.90 used device size ${componentSize} exceeds the ${at} bytes before the superblock`);
  return {
    version: '0.90',
    uuidBytes,
    preferredMinor: r.u32le(11 * 4),
    level,
    layout: r.u32le(64 * 4),
    chunkBytes,
    raidDisks,
    componentSize: level === 0 || level === -1 ? 0 : componentSize,
    dataOffset: 0,
    dataSize: at,
    superOffset: at,
    role,
    activeRoles: activeRoles.sort((a, b) => a - b),
    events,
    featureMap: 0,
    recovering: false,
    // minor_version 90 has no reshape fields; 91 does (reshape in progress).
    reshaping: false,
    checksum: stored,
    ctime: r.u32le(6 * 4),
    utime: r.u32le(32 * 4),
  };
}

/** Feature bits of 1.x superblocks (md_p.h MD_FEATURE_*). */
const FEATURE_RECOVERY_OFFSET = 2;
const FEATURE_RESHAPE_ACTIVE = 4;
const MAX_DEV_1X = 1920;

/**
 * Parses a 1.x superblock found at `at` on a device of `devSize` bytes. `version` is which of
 * the three places it was looked for (1.0 end, 1.1 start, 1.2 4 KiB in); its super_offset must
 * agree. Null when there is no magic there.
 */
export function parseSuperblock1(buf: Buffer, at: number, devSize: number, version: '1.0' | '1.1' | '1.2', where: string): MdSuperblock | null {
  const r = new BinaryReader(buf, `${where}: md ${version} superblock`);
  if (buf.length < 256 || r.u32le(0) !== MD_MAGIC || r.u32le(4) !== 1) return null;
  const superOffset = r.u64le(144) * 512;
  // A superblock whose recorded place is elsewhere belongs to another layout (or a copy).
  if (superOffset !== at) return null;
  const maxDev = r.u32le(220);
  if (maxDev > MAX_DEV_1X || 256 + 2 * maxDev > buf.length) throw corrupt(`${where}: md ${version} superblock has max_dev ${maxDev} (at most ${MAX_DEV_1X})`);
  const stored = r.u32le(216);
  const computed = foldedSum(buf, 256 + 2 * maxDev, 216);
  if (stored !== computed) throw corrupt(`${where}: md ${version} superblock checksum ${hex(stored)} does not match ${hex(computed)}`);
  const featureMap = r.u32le(8);
  const level = r.i32le(72);
  const raidDisks = r.u32le(92);
  if (raidDisks < 1 || raidDisks > maxDev) throw corrupt(`${where}: md ${version} superblock lists ${raidDisks} raid disks with ${maxDev} role slots`);
  const dataOffset = r.u64le(128) * 512;
  const dataSize = r.u64le(136) * 512;
  const componentSize = r.u64le(80) * 512;
  if (!Number.isSafeInteger(dataOffset + dataSize) || dataOffset + dataSize > devSize) {
    throw corrupt(`${where}: md ${version} data area ${dataOffset}+${dataSize} lies outside the ${devSize}-byte device`);
  }
  if (level !== 0 && level !== -1 && componentSize > dataSize) {
    throw corrupt(`${where}: md ${version} component size ${componentSize} exceeds the member's data size ${dataSize}`);
  }
  const devNumber = r.u32le(160);
  const roleOf = (v: number): MdSuperblock['role'] => (v === 0xffff ? 'spare' : v === 0xfffe ? 'faulty' : v === 0xfffd ? 'journal' : v < raidDisks ? v : 'spare');
  const activeRoles = new Set<number>();
  for (let i = 0; i < maxDev; i++) {
    const v = r.u16le(256 + 2 * i);
    if (v < raidDisks) activeRoles.add(v);
  }
  const role = devNumber < maxDev ? roleOf(r.u16le(256 + 2 * devNumber)) : 'spare';
  const recovering = (featureMap & FEATURE_RECOVERY_OFFSET) !== 0 && r.u64le(152) * 512 < dataSize;
  return {
    version,
    uuidBytes: Buffer.from(r.bytes(16, 16)),
    name: r.cstring(32, 32),
    level,
    layout: r.u32le(76),
    chunkBytes: r.u32le(88) * 512,
    raidDisks,
    componentSize: level === 0 || level === -1 ? 0 : componentSize,
    dataOffset,
    dataSize,
    superOffset,
    role,
    activeRoles: [...activeRoles].sort((a, b) => a - b),
    events: r.u64leBig(200),
    featureMap,
    recovering,
    reshaping: (featureMap & FEATURE_RESHAPE_ACTIVE) !== 0,
    deviceUuid: r.uuid(168),
    checksum: stored,
    ctime: Number(r.u64leBig(64) & 0xffffffffffn),
    utime: Number(r.u64leBig(192) & 0xffffffffffn),
  };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
