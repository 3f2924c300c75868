import type { BlockDevice } from '../disk/types.js';
import { GuestkitError, type ProtocolError } from '../protocol/errors.js';
import { type LdmCandidate, isLdmPartitionType, privheadOffset, scanLdm } from './ldm/scan.js';
import { scanLvm } from './lvm/scan.js';
import { MdScan } from './md/scan.js';
import type { Partition, PartitionTable } from './partition.js';
import { type ProbeResult, probe } from './probe.js';
import { SliceDevice } from './slice.js';
import { readPartitionTable } from './table.js';

/** One device a guest would see. */
export interface VolumeEntry {
  /** /dev/sda, /dev/sda1, /dev/VG/LV. */
  device: string;
  /** Other names of the same device (/dev/mapper/VG-LV). */
  aliases?: string[];
  kind: 'disk' | 'partition' | 'lv' | 'md' | 'ldm';
  size: number;
  dev: BlockDevice;
  partition?: Partition;
  /** Partition table of a disk, when it has one. */
  table?: Omit<PartitionTable, 'partitions' | 'warnings'>;
  lv?: { vg: string; name: string; uuid: string; segtypes: string[]; incomplete?: boolean };
  /** Linux software RAID array (kind 'md'). */
  md?: { uuid: string; name?: string; level: string; version: string; members: (string | null)[]; degraded?: boolean };
  /** Windows dynamic-disk volume (kind 'ldm'); `guid` is what SYSTEM\MountedDevices names it by. */
  ldm?: { group: string; group_guid: string; name: string; guid: string; type: string; disks: string[]; missing_disks?: string[]; hint?: string };
  /** blkid-like signature; null when nothing was recognised or the device cannot be read. */
  probe: ProbeResult | null;
  /** Why the device cannot be read (unsupported LV type, missing PV, …). */
  error?: ProtocolError;
}

export interface VolumeEnumeration {
  devices: VolumeEntry[];
  warnings: string[];
}

/** Disk index → Linux name: 0 → sda, 25 → sdz, 26 → sdaa. */
export function diskName(index: number): string {
  let s = '';
  let n = index;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `/dev/sd${s}`;
}

/** device-mapper name: '-' inside VG and LV names is doubled, then joined with '-'. */
export function mapperName(vg: string, lv: string): string {
  return `/dev/mapper/${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/**
 * The block devices a guest booted with `disks` would have, named as virt-filesystems
 * names them: each disk, its partitions, md arrays, and the LVs of every VG found on them
 * (LVM on md and md on LVs both work). Damage in
 * one disk's table becomes a warning and never hides the other disks.
 */
export async function enumerateVolumes(disks: BlockDevice[]): Promise<VolumeEnumeration> {
  const devices: VolumeEntry[] = [];
  const warnings: string[] = [];
  const pvCandidates: BlockDevice[] = [];
  const md = new MdScan(warnings);
  const ldmDisks: LdmCandidate[] = [];
  const safeProbe = async (dev: BlockDevice): Promise<ProbeResult | null> => {
    try {
      return await probe(dev);
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      warnings.push(`${dev.name}: ${err.message}`);
      return null;
    }
  };

  for (let i = 0; i < disks.length; i++) {
    const disk = disks[i]!;
    const name = diskName(i);
    const named = new SliceDevice(disk, 0, disk.size, name);
    let table: PartitionTable | null = null;
    let tableError: string | undefined;
    try {
      table = await readPartitionTable(named);
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      tableError = `${name}: partition table unreadable: ${err.message}`;
    }
    const diskProbe = table ? await safeProbe(named) : await md.check(named, await safeProbe(named), undefined, true);
    // A whole-disk md member shows the array's own (partitioned) data: its GPT is the array's.
    if (tableError && diskProbe?.type !== 'linux_raid_member') warnings.push(tableError);
    const entry: VolumeEntry = { device: name, kind: 'disk', size: disk.size, dev: named, probe: diskProbe };
    if (table) {
      const { partitions: _p, warnings: w, ...rest } = table;
      entry.table = rest;
      warnings.push(...w);
    }
    devices.push(entry);
    if (table && privheadOffset(table) !== undefined) ldmDisks.push({ dev: named, table });
    if (!table) {
      if (diskProbe?.type === 'LVM2_member') pvCandidates.push(named);
      continue;
    }
    for (const p of table.partitions) {
      const pname = `${name}${p.number}`;
      const dev = new SliceDevice(disk, p.start, p.size, pname);
      // a dynamic disk's partitions are read through its LDM volumes only, as libguestfs does
      const pr = p.extended || isLdmPartitionType(p.type) ? null : await md.check(dev, await safeProbe(dev), p.type, false);
      devices.push({ device: pname, kind: 'partition', size: p.size, dev, partition: p, probe: pr });
      if (pr?.type === 'LVM2_member') pvCandidates.push(dev);
    }
  }

  // md arrays of the disks and partitions; an array holding a PV joins the LVM scan.
  for (const e of await md.arrays(safeProbe)) {
    devices.push(e);
    if (e.probe?.type === 'LVM2_member') pvCandidates.push(e.dev);
  }

  if (pvCandidates.length > 0) {
    const lvm = await scanLvm(pvCandidates);
    warnings.push(...lvm.warnings);
    for (const vg of lvm.vgs) {
      for (const lv of vg.lvs) {
        const e: VolumeEntry = {
          device: `/dev/${vg.name}/${lv.name}`,
          aliases: [mapperName(vg.name, lv.name)],
          kind: 'lv',
          size: lv.size,
          dev: lv.dev,
          lv: { vg: vg.name, name: lv.name, uuid: lv.uuid, segtypes: lv.segtypes, ...(lv.incomplete ? { incomplete: true } : {}) },
          probe: lv.error ? null : await md.check(lv.dev, await safeProbe(lv.dev), undefined, false),
        };
        if (lv.error) e.error = lv.error.toProtocol();
        devices.push(e);
      }
    }
  }
  // Windows dynamic disks: one entry per volume of each disk group.
  if (ldmDisks.length > 0) {
    const ldm = await scanLdm(ldmDisks);
    warnings.push(...ldm.warnings);
    for (const v of ldm.volumes) {
      const e: VolumeEntry = {
        device: v.dev.name,
        kind: 'ldm',
        size: v.size,
        dev: v.dev,
        ldm: {
          group: v.group,
          group_guid: v.groupGuid,
          name: v.name,
          guid: v.guid,
          type: v.type,
          disks: v.disks,
          ...(v.missingDisks ? { missing_disks: v.missingDisks } : {}),
          ...(v.hint ? { hint: v.hint } : {}),
        },
        probe: v.error ? null : await safeProbe(v.dev),
      };
      if (v.error) e.error = v.error.toProtocol();
      devices.push(e);
    }
  }
  // md arrays whose members are LVs.
  devices.push(...(await md.arrays(safeProbe)));
  return { devices, warnings };
}
