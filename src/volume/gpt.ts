import type { BlockDevice } from '../disk/types.js';
import { GuestkitError, corrupt } from '../protocol/errors.js';
import { BinaryReader } from '../util/binary.js';
import { crc32 } from './crc32.js';
import type { Partition, PartitionTable } from './partition.js';
import { gptTypeName } from './part-types.js';

const SIGNATURE = Buffer.from('EFI PART', 'latin1');
/** Far above any real table (128 × 128 bytes is usual); guards allocation from a hostile count. */
const MAX_ENTRY_ARRAY_BYTES = 4 * 1024 * 1024;
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';

export interface GptHeader {
  revision: number;
  headerSize: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  numEntries: number;
  entrySize: number;
  entriesCrc: number;
}

/**
 * Finds the logical sector size from where a GPT header sits: "EFI PART" at LBA 1 (512 or
 * 4096 bytes), else at the last LBA (the backup, when the primary is gone). Null when none.
 */
export async function detectGptSectorSize(dev: BlockDevice): Promise<number | null> {
  for (const ss of [512, 4096]) {
    if (dev.size >= ss * 2 && (await dev.read(ss, 8)).equals(SIGNATURE)) return ss;
  }
  for (const ss of [512, 4096]) {
    if (dev.size >= ss * 3 && dev.size % ss === 0 && (await dev.read(dev.size - ss, 8)).equals(SIGNATURE)) return ss;
  }
  return null;
}

/** Reads and checks one header (signature, size, CRC32, own LBA, entry array bounds). */
export async function readGptHeader(dev: BlockDevice, lba: number, ss: number): Promise<GptHeader> {
  const where = `GPT header at LBA ${lba}`;
  if ((lba + 1) * ss > dev.size) throw corrupt(`${where}: lies past the end of ${dev.name}`);
  const buf = await dev.read(lba * ss, ss);
  const r = new BinaryReader(buf, where);
  if (!r.bytes(0, 8).equals(SIGNATURE)) throw corrupt(`${where}: no "EFI PART" signature`);
  const headerSize = r.u32le(12);
  if (headerSize < 92 || headerSize > ss) throw corrupt(`${where}: header size ${headerSize} is not within 92..${ss}`);
  const stored = r.u32le(16);
  const copy = Buffer.from(buf.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  const actual = crc32(copy);
  if (actual !== stored) {
    throw corrupt(`${where}: header CRC32 mismatch (stored ${hex32(stored)}, computed ${hex32(actual)})`);
  }
  const h: GptHeader = {
    revision: r.u32le(8),
    headerSize,
    myLba: r.u64le(24),
    alternateLba: r.u64le(32),
    firstUsableLba: r.u64le(40),
    lastUsableLba: r.u64le(48),
    diskGuid: r.guid(56),
    entriesLba: r.u64le(72),
    numEntries: r.u32le(80),
    entrySize: r.u32le(84),
    entriesCrc: r.u32le(88),
  };
  if (h.myLba !== lba) throw corrupt(`${where}: header says it is at LBA ${h.myLba}`);
  if (h.entrySize < 128 || h.entrySize > 4096 || (h.entrySize & (h.entrySize - 1)) !== 0) {
    throw corrupt(`${where}: partition entry size ${h.entrySize} is not 128 × 2^n`);
  }
  const bytes = h.numEntries * h.entrySize;
  if (bytes > MAX_ENTRY_ARRAY_BYTES) {
    throw corrupt(`${where}: partition entry array of ${h.numEntries} × ${h.entrySize} bytes is implausibly large`);
  }
  if (h.entriesLba * ss + bytes > dev.size) {
    throw corrupt(`${where}: partition entry array (LBA ${h.entriesLba}, ${bytes} bytes) lies past the end of ${dev.name}`);
  }
  if (h.firstUsableLba > h.lastUsableLba) {
    throw corrupt(`${where}: first usable LBA ${h.firstUsableLba} is after last usable LBA ${h.lastUsableLba}`);
  }
  return h;
}

/** Reads the entry array of a checked header and verifies its CRC32. */
export async function readGptEntries(dev: BlockDevice, h: GptHeader, ss: number): Promise<Buffer> {
  const buf = await dev.read(h.entriesLba * ss, h.numEntries * h.entrySize);
  const actual = crc32(buf);
  if (actual !== h.entriesCrc) {
    throw corrupt(`GPT partition entry array at LBA ${h.entriesLba}: CRC32 mismatch (stored ${hex32(h.entriesCrc)}, computed ${hex32(actual)})`);
  }
  return buf;
}

/**
 * Reads a GPT: the primary header and entries, or — when either is damaged — the backup
 * (at the primary's alternate LBA or the disk's last LBA) with a warning saying so. Both
 * damaged is CORRUPT_IMAGE.
 */
export async function readGpt(dev: BlockDevice, sectorSize?: number): Promise<PartitionTable> {
  const ss = sectorSize ?? (await detectGptSectorSize(dev));
  if (ss === null) throw corrupt(`${dev.name}: protective MBR present but no GPT header found (primary or backup)`);
  const warnings: string[] = [];
  let primaryError: string;
  let alternate: number | undefined;
  try {
    const h = await readGptHeader(dev, 1, ss);
    alternate = h.alternateLba;
    const entries = await readGptEntries(dev, h, ss);
    return build(dev, h, entries, ss, warnings, false);
  } catch (err) {
    if (!(err instanceof GuestkitError)) throw err;
    primaryError = err.message;
  }
  const lastLba = Math.floor(dev.size / ss) - 1;
  const candidates = [...new Set([alternate, lastLba].filter((x): x is number => x !== undefined && x > 1))];
  const backupErrors: string[] = [];
  for (const lba of candidates) {
    try {
      const h = await readGptHeader(dev, lba, ss);
      const entries = await readGptEntries(dev, h, ss);
      warnings.push(`${dev.name}: primary GPT is damaged (${primaryError}); using the backup GPT at LBA ${lba}`);
      return build(dev, h, entries, ss, warnings, true);
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      backupErrors.push(err.message);
    }
  }
  throw corrupt(`${dev.name}: both GPT copies are damaged: primary: ${primaryError}; backup: ${backupErrors.join('; ') || 'none found'}`, {
    device: dev.name,
  });
}

function build(dev: BlockDevice, h: GptHeader, entries: Buffer, ss: number, warnings: string[], usedBackup: boolean): PartitionTable {
  const totalSectors = Math.floor(dev.size / ss);
  if (h.lastUsableLba >= totalSectors) {
    warnings.push(`${dev.name}: GPT last usable LBA ${h.lastUsableLba} is beyond the disk (${totalSectors} sectors); the image may be truncated`);
  }
  const r = new BinaryReader(entries, 'GPT partition entries');
  const partitions: Partition[] = [];
  for (let i = 0; i < h.numEntries; i++) {
    const o = i * h.entrySize;
    const typeGuid = r.guid(o);
    if (typeGuid === ZERO_GUID) continue;
    const number = i + 1;
    const first = r.u64leBig(o + 32);
    const last = r.u64leBig(o + 40);
    if (last < first) {
      warnings.push(`${dev.name}: GPT partition ${number} ends (LBA ${last}) before it starts (LBA ${first}); ignored`);
      continue;
    }
    if (first >= BigInt(totalSectors)) {
      warnings.push(`${dev.name}: GPT partition ${number} starts at LBA ${first}, past the end of the disk (${totalSectors} sectors); ignored`);
      continue;
    }
    const start = Number(first);
    let sectors = Number(last - first) + 1;
    if (start + sectors > totalSectors) {
      warnings.push(`${dev.name}: GPT partition ${number} (LBA ${first}–${last}) extends past the end of the disk; truncated`);
      sectors = totalSectors - start;
    }
    const attrs = r.u64leBig(o + 48);
    const rawName = r.utf16le(o + 56, Math.min(72, h.entrySize - 56));
    const nul = rawName.indexOf('\u0000');
    partitions.push({
      number,
      start: start * ss,
      size: sectors * ss,
      type: typeGuid,
      type_name: gptTypeName(typeGuid),
      type_guid: typeGuid,
      name: nul < 0 ? rawName : rawName.slice(0, nul),
      partuuid: r.guid(o + 16),
      bootable: (attrs & 4n) !== 0n,
      attributes: attrs.toString(16).toUpperCase().padStart(16, '0'),
      scheme: 'gpt',
    });
  }
  return {
    scheme: 'gpt',
    sectorSize: ss,
    id: h.diskGuid,
    partitions,
    warnings,
    firstUsableLba: h.firstUsableLba,
    lastUsableLba: h.lastUsableLba,
    ...(usedBackup ? { usedBackup: true } : {}),
  };
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
