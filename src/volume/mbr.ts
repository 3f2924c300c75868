import type { BlockDevice } from '../disk/types.js';
import { BinaryReader } from '../util/binary.js';
import type { Partition, PartitionTable } from './partition.js';
import { MBR_EXTENDED_TYPES, MBR_GPT_PROTECTIVE, mbrTypeName } from './part-types.js';

/** One of the four 16-byte entries of an MBR or EBR. */
export interface MbrEntry {
  status: number;
  type: number;
  startLba: number;
  sectors: number;
}

export interface MbrSector {
  /** Disk signature (offset 440). */
  signature: number;
  entries: MbrEntry[];
}

/** Linux stops following an EBR chain after about this many links (fs/partitions/msdos.c). */
const MAX_EBR_LINKS = 128;

/**
 * Parses a boot sector as an MBR: the 0x55AA mark and four entries whose status byte is
 * 0x00 or 0x80 (anything else is boot code or a filesystem, as blkid decides). Null when
 * the sector is not an MBR.
 */
export function parseMbrSector(sector: Buffer): MbrSector | null {
  const r = new BinaryReader(sector, 'MBR');
  if (r.length < 512 || r.u16le(510) !== 0xaa55) return null;
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    const status = r.u8(o);
    if (status !== 0 && status !== 0x80) return null;
    entries.push({ status, type: r.u8(o + 4), startLba: r.u32le(o + 8), sectors: r.u32le(o + 12) });
  }
  return { signature: r.u32le(440), entries };
}

export function isProtectiveMbr(m: MbrSector): boolean {
  return m.entries.some((e) => e.type === MBR_GPT_PROTECTIVE);
}

function isEmpty(e: MbrEntry): boolean {
  return e.type === 0 || e.sectors === 0;
}

/**
 * Reads an MBR partition table: primaries 1–4, then the logical partitions of each
 * extended partition numbered from 5 as Linux does. Damage (a looping or broken EBR chain,
 * partitions past the end of the disk) becomes warnings; what is sound is still listed.
 */
export async function readMbr(dev: BlockDevice, mbr: MbrSector, sectorSize = 512): Promise<PartitionTable> {
  const warnings: string[] = [];
  const partitions: Partition[] = [];
  const sig = mbr.signature.toString(16).padStart(8, '0');
  const totalSectors = Math.floor(dev.size / sectorSize);

  /** Adds a partition after clipping it to the disk; false when it lies wholly outside. */
  const add = (p: Omit<Partition, 'start' | 'size' | 'scheme' | 'partuuid'>, startLba: number, sectors: number): boolean => {
    if (startLba >= totalSectors) {
      warnings.push(`${dev.name}: partition ${p.number} starts at sector ${startLba}, past the end of the disk (${totalSectors} sectors); ignored`);
      return false;
    }
    let n = sectors;
    if (startLba + n > totalSectors) {
      n = totalSectors - startLba;
      warnings.push(`${dev.name}: partition ${p.number} (sectors ${startLba}+${sectors}) extends past the end of the disk; truncated to ${n} sectors`);
    }
    partitions.push({
      ...p,
      start: startLba * sectorSize,
      size: n * sectorSize,
      partuuid: `${sig}-${p.number.toString(16).padStart(2, '0')}`,
      scheme: 'mbr',
    });
    return true;
  };

  const extendeds: { start: number; sectors: number; number: number }[] = [];
  mbr.entries.forEach((e, i) => {
    if (isEmpty(e)) return;
    const extended = MBR_EXTENDED_TYPES.has(e.type);
    const ok = add(
      {
        number: i + 1,
        type: e.type.toString(16),
        type_name: mbrTypeName(e.type),
        bootable: e.status === 0x80,
        ...(extended ? { extended: true } : {}),
      },
      e.startLba,
      e.sectors,
    );
    if (ok && extended) extendeds.push({ start: e.startLba, sectors: e.sectors, number: i + 1 });
  });

  let next = 5;
  for (const ext of extendeds) {
    next = await readLogicals(dev, ext, sectorSize, next, add, warnings);
  }
  return { scheme: 'mbr', sectorSize, id: `0x${sig}`, partitions, warnings };
}

/** Follows one EBR chain; returns the next free partition number. */
async function readLogicals(
  dev: BlockDevice,
  ext: { start: number; sectors: number; number: number },
  sectorSize: number,
  first: number,
  add: (p: Omit<Partition, 'start' | 'size' | 'scheme' | 'partuuid'>, startLba: number, sectors: number) => boolean,
  warnings: string[],
): Promise<number> {
  let number = first;
  const visited = new Set<number>();
  let ebr = ext.start;
  for (let links = 0; ; links++) {
    if (links >= MAX_EBR_LINKS) {
      warnings.push(`${dev.name}: extended partition ${ext.number} has more than ${MAX_EBR_LINKS} EBRs; stopped there`);
      break;
    }
    if (visited.has(ebr)) {
      warnings.push(`${dev.name}: EBR chain of extended partition ${ext.number} loops back to sector ${ebr}; stopped there`);
      break;
    }
    visited.add(ebr);
    if ((ebr + 1) * sectorSize > dev.size) {
      warnings.push(`${dev.name}: EBR at sector ${ebr} lies past the end of the disk; logical partitions after it are lost`);
      break;
    }
    const sec = parseMbrSector(await dev.read(ebr * sectorSize, 512));
    if (!sec) {
      warnings.push(`${dev.name}: EBR at sector ${ebr} has no valid signature; logical partitions after it are lost`);
      break;
    }
    let link: MbrEntry | undefined;
    for (const e of sec.entries) {
      if (isEmpty(e)) continue;
      if (MBR_EXTENDED_TYPES.has(e.type)) {
        link ??= e;
        continue;
      }
      const start = ebr + e.startLba;
      if (start < ext.start || start + e.sectors > ext.start + ext.sectors) {
        warnings.push(`${dev.name}: logical partition ${number} (sectors ${start}+${e.sectors}) lies outside its extended partition`);
      }
      // The number is used up even when the partition is dropped, as in Linux.
      add({ number, type: e.type.toString(16), type_name: mbrTypeName(e.type), bootable: e.status === 0x80, logical: true }, start, e.sectors);
      number++;
    }
    if (!link) break;
    // Links are relative to the start of the extended partition, not to this EBR.
    ebr = ext.start + link.startLba;
  }
  return number;
}
