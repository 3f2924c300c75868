import { type ProbeContext, type ProbeResult, result, trimLabel } from './context.js';
import { type FatBpb, parseFatBpb, volumeIdText } from './fat-bpb.js';

/** At most this much of a root directory is searched for the volume label entry. */
const MAX_ROOT_BYTES = 64 * 1024;
const MAX_ROOT_CLUSTERS = 8;
const ATTR_VOLUME_ID = 0x08;
const ATTR_DIR = 0x10;
const ATTR_LONG_NAME = 0x0f;

/** FAT12/16/32 ("vfat"): label from the root directory entry as blkid prefers, else the boot sector. */
export async function probeFat(ctx: ProbeContext): Promise<ProbeResult | null> {
  const sector = await ctx.at(0, 512);
  if (!sector) return null;
  const bpb = parseFatBpb(sector);
  if (!bpb) return null;
  const fatEnd = bpb.reservedSectors + bpb.numFats * bpb.fatSectors;
  if (bpb.totalSectors <= bpb.firstDataSector) return null;
  let version: string;
  let dirLabel: string | undefined;
  // blkid goes by the BPB's layout (16-bit FAT size 0: FAT32), then FAT12/16 by cluster count
  if (!bpb.fat32Layout) {
    version = bpb.clusterCount <= 0xff4 ? 'FAT12' : 'FAT16';
    const len = Math.min(bpb.rootEntries * 32, MAX_ROOT_BYTES);
    const dir = await ctx.at(fatEnd * bpb.bytesPerSector, len);
    if (dir) dirLabel = findLabel(dir).label;
  } else {
    version = 'FAT32';
    dirLabel = await fat32RootLabel(ctx, bpb, bpb.rootCluster, fatEnd);
  }
  const bootLabel = bpb.bootLabel;
  const label = dirLabel ?? (bootLabel === 'NO NAME' ? undefined : bootLabel);
  return result({
    type: 'vfat',
    usage: 'filesystem',
    uuid: volumeIdText(bpb.volumeId),
    label: label === 'NO NAME' ? undefined : label,
    version,
    block_size: bpb.bytesPerSector,
  });
}

/** Walks the FAT32 root directory's cluster chain (bounded) looking for the label entry. */
async function fat32RootLabel(ctx: ProbeContext, bpb: FatBpb, rootCluster: number, dataStart: number): Promise<string | undefined> {
  const clusterBytes = bpb.sectorsPerCluster * bpb.bytesPerSector;
  const fatEntries = Math.floor((bpb.fatSectors * bpb.bytesPerSector) / 4);
  let next = rootCluster;
  for (let i = 0; i < MAX_ROOT_CLUSTERS && next >= 2 && next < fatEntries; i++) {
    const off = (dataStart + (next - 2) * bpb.sectorsPerCluster) * bpb.bytesPerSector;
    const dir = await ctx.at(off, Math.min(clusterBytes, MAX_ROOT_BYTES));
    if (!dir) return undefined;
    const found = findLabel(dir);
    if (found.label !== undefined || found.end) return found.label;
    const fat = await ctx.at(bpb.reservedSectors * bpb.bytesPerSector + next * 4, 4);
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
