import { BinaryReader } from '../../util/binary.js';
import { type ProbeContext, type ProbeResult, isPowerOf2, result, trimLabel } from './context.js';

/** At most this much of a root directory is searched for the volume label entry. */
const MAX_ROOT_BYTES = 64 * 1024;
const MAX_ROOT_CLUSTERS = 8;
const ATTR_VOLUME_ID = 0x08;
const ATTR_DIR = 0x10;
const ATTR_LONG_NAME = 0x0f;

/** The BIOS parameter block fields blkid validates before calling a sector FAT. */
export interface FatBpb {
  sectorSize: number;
  clusterSectors: number;
  reserved: number;
  fats: number;
  rootEntries: number;
  totalSectors: number;
  fatSectors: number;
  fat32: boolean;
}

/** Parses sector 0 as a FAT boot sector; null when the BPB is not plausible. */
export function parseFatBpb(sector: Buffer): FatBpb | null {
  const r = new BinaryReader(sector, 'FAT boot sector');
  if (r.length < 512) return null;
  const sectorSize = r.u16le(0x0b);
  const clusterSectors = r.u8(0x0d);
  const reserved = r.u16le(0x0e);
  const fats = r.u8(0x10);
  const media = r.u8(0x15);
  if (!isPowerOf2(sectorSize) || sectorSize < 512 || sectorSize > 4096) return null;
  if (!isPowerOf2(clusterSectors) || reserved === 0 || fats === 0) return null;
  if (!(media >= 0xf8 || media === 0xf0)) return null;
  const fat16Len = r.u16le(0x16);
  const fat32Len = r.u32le(0x24);
  const fat32 = fat16Len === 0;
  if (fat32 && fat32Len === 0) return null;
  return {
    sectorSize,
    clusterSectors,
    reserved,
    fats,
    rootEntries: r.u16le(0x11),
    totalSectors: r.u16le(0x13) || r.u32le(0x20),
    fatSectors: fat32 ? fat32Len : fat16Len,
    fat32,
  };
}

/** FAT12/16/32 ("vfat"): label from the root directory entry as blkid prefers, else the boot sector. */
export async function probeFat(ctx: ProbeContext): Promise<ProbeResult | null> {
  const sector = await ctx.at(0, 512);
  if (!sector) return null;
  const bpb = parseFatBpb(sector);
  if (!bpb) return null;
  const r = new BinaryReader(sector, 'FAT boot sector');
  const rootSectors = Math.ceil((bpb.rootEntries * 32) / bpb.sectorSize);
  const fatEnd = bpb.reserved + bpb.fats * bpb.fatSectors;
  const dataStart = fatEnd + rootSectors;
  if (bpb.totalSectors <= dataStart) return null;
  const clusters = Math.floor((bpb.totalSectors - dataStart) / bpb.clusterSectors);
  let version: string;
  let serialOff: number;
  let bootLabelOff: number;
  let dirLabel: string | undefined;
  if (!bpb.fat32) {
    version = clusters <= 0xff4 ? 'FAT12' : 'FAT16';
    serialOff = 0x27;
    bootLabelOff = 0x2b;
    const len = Math.min(bpb.rootEntries * 32, MAX_ROOT_BYTES);
    const dir = await ctx.at(fatEnd * bpb.sectorSize, len);
    if (dir) dirLabel = findLabel(dir).label;
  } else {
    version = 'FAT32';
    serialOff = 0x43;
    bootLabelOff = 0x47;
    dirLabel = await fat32RootLabel(ctx, bpb, r.u32le(0x2c), fatEnd);
  }
  const serial = r.u32le(serialOff);
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  const bootLabel = trimLabel(r.bytes(bootLabelOff, 11));
  const label = dirLabel ?? (bootLabel === 'NO NAME' ? undefined : bootLabel);
  return result({
    type: 'vfat',
    usage: 'filesystem',
    uuid: `${hex.slice(0, 4)}-${hex.slice(4)}`,
    label: label === 'NO NAME' ? undefined : label,
    version,
    block_size: bpb.sectorSize,
  });
}

/** Walks the FAT32 root directory's cluster chain (bounded) looking for the label entry. */
async function fat32RootLabel(ctx: ProbeContext, bpb: FatBpb, rootCluster: number, dataStart: number): Promise<string | undefined> {
  const clusterBytes = bpb.clusterSectors * bpb.sectorSize;
  const fatEntries = Math.floor((bpb.fatSectors * bpb.sectorSize) / 4);
  let next = rootCluster;
  for (let i = 0; i < MAX_ROOT_CLUSTERS && next >= 2 && next < fatEntries; i++) {
    const off = (dataStart + (next - 2) * bpb.clusterSectors) * bpb.sectorSize;
    const dir = await ctx.at(off, Math.min(clusterBytes, MAX_ROOT_BYTES));
    if (!dir) return undefined;
    const found = findLabel(dir);
    if (found.label !== undefined || found.end) return found.label;
    const fat = await ctx.at(bpb.reserved * bpb.sectorSize + next * 4, 4);
    if (!fat) return undefined;
    next = fat.readUInt32LE(0) & 0x0fffffff;
  }
  return undefined;
}

/** The volume-label entry of a directory block; `end` when the directory's end marker was seen. */
function findLabel(dir: Buffer): { label?: string; end: boolean } {
  for (let o = 0; o + 32 <= dir.length; o += 32) {
    const first = dir[o]!;
    if (first === 0x00) return { end: true };
    const attr = dir[o + 11]!;
    if (first === 0xe5 || dir.readUInt16LE(o + 20) !== 0 || dir.readUInt16LE(o + 26) !== 0) continue;
    if ((attr & ATTR_LONG_NAME) === ATTR_LONG_NAME) continue;
    if ((attr & (ATTR_VOLUME_ID | ATTR_DIR)) === ATTR_VOLUME_ID) {
      const name = Buffer.from(dir.subarray(o, o + 11));
      if (name[0] === 0x05) name[0] = 0xe5;
      return { label: trimLabel(name), end: true };
    }
  }
  return { end: false };
}
