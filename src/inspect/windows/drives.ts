import type { Hive } from '../../registry/index.js';
import { BinaryReader } from '../../util/binary.js';
import { ldmVolumeGuid } from '../../volume/ldm/volume-device.js';
import type { GuestDevice } from '../devices.js';
import { compareText } from '../../util/compare.js';

/**
 * Drive letters from SYSTEM\MountedDevices: "\DosDevices\C:" holds 12 bytes (MBR disk
 * signature + partition byte offset) or "DMIO:ID:" + the GPT partition GUID or the dynamic-disk
 * (LDM) volume GUID. Letters whose
 * target is not a partition of the given disks (CD-ROMs, removed disks) are left out, as
 * libguestfs does.
 */
export async function readDriveMappings(system: Hive, devices: GuestDevice[]): Promise<Record<string, string>> {
  const md = await system.key('MountedDevices');
  const out: Record<string, string> = {};
  if (!md) return out;
  for (const v of await md.values()) {
    const m = /^\\DosDevices\\([A-Za-z]):$/.exec(v.name);
    if (!m) continue;
    const dev = deviceFor(v.data, devices);
    if (dev) out[m[1]!.toUpperCase()] = dev.device;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => compareText(a, b)));
}

function deviceFor(data: Buffer, devices: GuestDevice[]): GuestDevice | undefined {
  const r = new BinaryReader(data, 'MountedDevices value');
  if (data.length === 12) {
    const sig = r.u32le(0).toString(16).padStart(8, '0');
    const offset = r.u64le(4);
    return devices.find((d) => d.kind === 'partition' && d.partuuid?.toLowerCase().startsWith(`${sig}-`) && sliceStart(d) === offset);
  }
  if (data.length === 24 && data.toString('latin1', 0, 8) === 'DMIO:ID:') {
    const guid = r.guid(8).toLowerCase();
    const part = devices.find((d) => d.kind === 'partition' && d.partuuid?.toLowerCase() === guid);
    if (part) return part;
    // LDM volumes: ldmtool prints the VBLK's GUID bytes big-endian; the registry holds a GUID
    // structure, so both byte orders are tried
    const raw = r.uuid(8).toLowerCase();
    return devices.find((d) => d.kind === 'ldm' && (ldmVolumeGuid(d.dev) === guid || ldmVolumeGuid(d.dev) === raw));
  }
  return undefined;
}

/** Byte offset of a partition on its disk (the volume layer's partitions are slices of the disk). */
function sliceStart(d: GuestDevice): number | undefined {
  const s = (d.dev as { start?: unknown }).start;
  return typeof s === 'number' ? s : undefined;
}
