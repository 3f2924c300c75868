import type { BlockDevice } from '../../disk/types.js';
import type { ProbeResult } from '../probe/context.js';
import { type MdSuperblock, OFFSET_11, OFFSET_12, SB_BYTES, blkidUuid, offset090, offset10, parseSuperblock090, parseSuperblock1 } from './superblock.js';

/** GPT "Linux RAID" and MBR type 0xfd: partitions installers make for md members. */
const RAID_PART_TYPES = new Set(['A19D880F-05FC-4D3B-A006-743F0F84911E', 'FD']);

export function isRaidPartitionType(type: string | undefined): boolean {
  return type !== undefined && RAID_PART_TYPES.has(type.toUpperCase());
}

/**
 * Looks for an md superblock where mdadm puts one: 1.2 at 4 KiB, 1.1 at 0 (both within the
 * first 8 KiB, one read), and — only when `ends` — 1.0 near the end and 0.90 in the last
 * 64 KiB-aligned block (two 4 KiB reads). Null when there is none; CORRUPT_IMAGE for a
 * superblock whose magic is right and whose contents are not.
 */
export async function findMdSuperblock(dev: BlockDevice, ends: boolean): Promise<MdSuperblock | null> {
  if (dev.size >= 8192) {
    const head = await dev.read(0, 8192);
    const v12 = parseSuperblock1(head.subarray(OFFSET_12, OFFSET_12 + SB_BYTES), OFFSET_12, dev.size, '1.2', dev.name);
    if (v12) return v12;
    const v11 = parseSuperblock1(head.subarray(OFFSET_11, OFFSET_11 + SB_BYTES), OFFSET_11, dev.size, '1.1', dev.name);
    if (v11) return v11;
  }
  if (!ends || dev.size < 128 * 1024) return null;
  const at10 = offset10(dev.size);
  const v10 = parseSuperblock1(await dev.read(at10, Math.min(SB_BYTES, dev.size - at10)), at10, dev.size, '1.0', dev.name);
  if (v10) return v10;
  const at090 = offset090(dev.size);
  return parseSuperblock090(await dev.read(at090, SB_BYTES), at090, dev.name);
}

/** What `blkid -p` says about an md member: TYPE=linux_raid_member, the array's UUID and (1.x) name as LABEL. */
export function mdProbeResult(sb: MdSuperblock): ProbeResult {
  const r: ProbeResult = { type: 'linux_raid_member', usage: 'raid', uuid: blkidUuid(sb), version: sb.version === '0.90' ? '0.90.0' : sb.version };
  if (sb.name) r.label = sb.name;
  if (sb.deviceUuid) r.uuid_sub = sb.deviceUuid;
  return r;
}

/**
 * Whether a device is worth an md probe, so guests without md pay nothing: a Linux RAID
 * partition type, or nothing recognised on it, or a whole disk without a partition table.
 * The end-of-device superblocks (0.90, 1.0) are looked for on the same devices; a RAID1
 * member with one of them shows its filesystem at offset 0, which is why the partition type
 * alone is enough to look.
 */
export function wantsMdProbe(found: ProbeResult | null, partType: string | undefined, wholeDisk: boolean): boolean {
  if (found && (found.usage === 'crypto' || found.type === 'LVM2_member')) return isRaidPartitionType(partType);
  return found === null || wholeDisk || isRaidPartitionType(partType);
}
