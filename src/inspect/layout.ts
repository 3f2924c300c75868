import type { BlockDevice } from '../disk/types.js';
import { bitlockerVolumeError } from '../volume/bitlocker.js';
import { enumerateVolumes } from '../volume/enumerate.js';
import type { GuestDevice } from './devices.js';

export interface Layout {
  devices: GuestDevice[];
  tables: { device: string; scheme: string }[];
}

/** The guest's devices (disks, partitions, LVs) with what probing found, in inspection's terms. */
export async function describeLayout(disks: BlockDevice[], warnings: string[]): Promise<Layout> {
  const e = await enumerateVolumes(disks);
  warnings.push(...e.warnings);
  const devices: GuestDevice[] = [];
  const tables: Layout['tables'] = [];
  for (const v of e.devices) {
    if (v.table) tables.push({ device: v.device, scheme: v.table.scheme });
    if (v.partition?.extended) continue;
    if (v.error) warnings.push(`${v.device}: ${v.error.message}`);
    // A bare partition-table signature is not a filesystem.
    const p = v.probe && v.probe.pttype === v.probe.type ? null : v.probe;
    // an encrypted volume (BitLocker) is listed with its ENCRYPTED error; inspection goes on with the others
    const encrypted = p?.bitlocker && !v.error ? bitlockerVolumeError(v.device, p.bitlocker, p.version).toProtocol() : undefined;
    if (encrypted) warnings.push(encrypted.message);
    devices.push({
      device: v.device,
      aliases: v.aliases ?? [],
      kind: v.kind,
      size: v.size,
      dev: v.dev,
      ...(p && !v.error ? { fsType: p.type, usage: p.usage } : {}),
      ...(p?.uuid ? { uuid: p.uuid } : {}),
      ...(p?.label ? { label: p.label } : {}),
      ...(v.partition?.partuuid ? { partuuid: v.partition.partuuid } : {}),
      ...(v.partition?.name ? { partlabel: v.partition.name } : {}),
      ...(encrypted ? { error: encrypted } : {}),
    });
  }
  return { devices, tables };
}
