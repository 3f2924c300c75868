import type { BlockDevice } from '../disk/types.js';
import { GuestkitError } from '../protocol/errors.js';
import { isProtectiveMbr, parseMbrSector } from './mbr.js';
import { probeBitlocker } from './probe/bitlocker.js';
import { probeBtrfs } from './probe/btrfs.js';
import { type ProbeResult, ProbeContext } from './probe/context.js';
import { probeExfat } from './probe/exfat.js';
import { probeExt } from './probe/ext.js';
import { probeFat } from './probe/fat.js';
import { probeIso9660 } from './probe/iso9660.js';
import { probeLuks } from './probe/luks.js';
import { probeLvm2 } from './probe/lvm2.js';
import { probeNtfs } from './probe/ntfs.js';
import { probeSwap } from './probe/swap.js';
import { probeXfs } from './probe/xfs.js';

export type { ProbeResult, Usage } from './probe/context.js';

/**
 * Signatures in the order they are tried. Ones with a strong magic come first; FAT (whose
 * boot sector is recognised by plausibility checks) and ISO9660 (at 32 KiB) come last.
 */
const PROBERS: ((ctx: ProbeContext) => Promise<ProbeResult | null>)[] = [
  probeLuks,
  // before FAT: a BitLocker 7+ header looks like a FAT32 boot sector apart from its signature
  probeBitlocker,
  probeLvm2,
  probeSwap,
  probeXfs,
  probeExt,
  probeBtrfs,
  probeNtfs,
  probeExfat,
  probeFat,
  probeIso9660,
];

/** Types whose boot sector carries 0x55AA without being a partition table. */
const BOOT_SECTOR_FS = new Set(['vfat', 'ntfs', 'exfat', 'BitLocker']);

/**
 * blkid-like probing of one device: filesystem / swap / crypto / LVM signature with UUID,
 * label and version, plus whether a partition table is present. Reads a few KiB. Null when
 * nothing is recognised. A signature that is present but damaged is treated as absent.
 */
export async function probe(dev: BlockDevice): Promise<ProbeResult | null> {
  const ctx = new ProbeContext(dev);
  let found: ProbeResult | null = null;
  for (const p of PROBERS) {
    try {
      found = await p(ctx);
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      found = null;
    }
    if (found) break;
  }
  const pttype = await partitionTableType(ctx, found);
  if (pttype) {
    if (found) found.pttype = pttype;
    else found = { type: pttype, usage: 'other', pttype };
  }
  return found;
}

async function partitionTableType(ctx: ProbeContext, found: ProbeResult | null): Promise<'dos' | 'gpt' | undefined> {
  for (const ss of [512, 4096]) {
    const sig = await ctx.at(ss, 8);
    if (sig && sig.toString('latin1') === 'EFI PART') return 'gpt';
  }
  if (found && BOOT_SECTOR_FS.has(found.type)) return undefined;
  const sector = await ctx.at(0, 512);
  const mbr = sector ? parseMbrSector(sector) : null;
  if (mbr && isProtectiveMbr(mbr)) return 'gpt';
  if (mbr && mbr.entries.some((e) => e.type !== 0 && e.sectors !== 0)) return 'dos';
  return undefined;
}
