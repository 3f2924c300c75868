import type { BlockDevice } from '../disk/types.js';
import { detectGptSectorSize, readGpt } from './gpt.js';
import { isProtectiveMbr, parseMbrSector, readMbr } from './mbr.js';
import type { PartitionTable } from './partition.js';
import { parseFatBpb } from './probe/fat-bpb.js';

/**
 * Reads the partition table of a disk: GPT when its header is there (or a protective MBR
 * says it should be), else MBR. Null when there is none — including a boot sector that is
 * really a FAT/NTFS/exFAT filesystem, or an MBR with no entries. A GPT whose two copies
 * are both damaged is CORRUPT_IMAGE.
 */
export async function readPartitionTable(dev: BlockDevice): Promise<PartitionTable | null> {
  if (dev.size < 1024) return null;
  const sector0 = await dev.read(0, 512);
  const mbr = parseMbrSector(sector0);
  const gptSs = await detectGptSectorSize(dev);
  if (gptSs !== null || (mbr && isProtectiveMbr(mbr))) {
    const t = await readGpt(dev, gptSs ?? undefined);
    if (!mbr || !isProtectiveMbr(mbr)) t.warnings.push(`${dev.name}: GPT without a protective MBR`);
    return t;
  }
  if (!mbr || mbr.entries.every((e) => e.type === 0 || e.sectors === 0)) return null;
  const oem = sector0.subarray(3, 11).toString('latin1');
  if (oem === 'NTFS    ' || oem === 'EXFAT   ' || parseFatBpb(sector0)) return null;
  return readMbr(dev, mbr);
}
