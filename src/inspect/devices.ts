import type { BlockDevice } from '../disk/types.js';
import type { ProtocolError } from '../protocol/errors.js';
import { diskName } from '../volume/enumerate.js';

/**
 * One block device of the guest as inspection sees it: a whole disk, a
 * partition or an LV, with what probing found on it. The volume layer's
 * enumeration is mapped onto this in guest.ts.
 */
export interface GuestDevice {
  /** virt-inspector naming: /dev/sda, /dev/sda1, /dev/VG/LV. */
  device: string;
  /** Other names the guest may use for it (/dev/mapper/VG-LV). */
  aliases: string[];
  kind: 'disk' | 'partition' | 'lv' | 'md' | 'ldm';
  size: number;
  dev: BlockDevice;
  fsType?: string;
  uuid?: string;
  label?: string;
  partuuid?: string;
  partlabel?: string;
  usage?: string;
  /** Why its contents cannot be read although its type is known (ENCRYPTED: BitLocker). */
  error?: ProtocolError;
}

/** Index of a letter disk name: a→0, z→25, aa→26. */
function diskIndex(letters: string): number {
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

/**
 * Maps a guest's own device name to guestkit's naming, as libguestfs does:
 * the guest may call its first disk vda, hda, xvda or nvme0n1; here it is sda.
 */
export function canonicalDeviceName(name: string): string {
  const m = /^\/dev\/(?:[hsv]d|xvd)([a-z]+)(\d*)$/.exec(name);
  if (m) return `${diskName(diskIndex(m[1]!))}${m[2]}`;
  const n = /^\/dev\/nvme(\d+)n1(?:p(\d+))?$/.exec(name);
  if (n) return `${diskName(Number(n[1]))}${n[2] ?? ''}`;
  return name;
}

/** Resolves an fstab/crypttab spec (UUID=, LABEL=, PARTUUID=, /dev/…, /dev/disk/by-*) to one of the guest's devices. */
export function resolveSpec(spec: string, devices: GuestDevice[]): GuestDevice | undefined {
  const eqSpec = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.*)$/.exec(spec);
  const byPath = /^\/dev\/disk\/by-(uuid|label|partuuid|partlabel)\/(.+)$/.exec(spec);
  const kv = eqSpec ? [eqSpec[1]!, eqSpec[2]!] : byPath ? [byPath[1]!.toUpperCase(), decodeUdev(byPath[2]!)] : undefined;
  if (kv) {
    const [key, raw] = kv as [string, string];
    const value = raw.replace(/^"(.*)"$/, '$1');
    const lc = value.toLowerCase();
    switch (key) {
      case 'UUID':
        return devices.find((d) => d.uuid !== undefined && d.uuid.toLowerCase() === lc);
      case 'LABEL':
        return devices.find((d) => d.label === value);
      case 'PARTUUID':
        return devices.find((d) => d.partuuid !== undefined && d.partuuid.toLowerCase() === lc);
      case 'PARTLABEL':
        return devices.find((d) => d.partlabel === value);
    }
  }
  if (!spec.startsWith('/dev/')) return undefined;
  // udev's name for a device-mapper device (LVs among them): /dev/disk/by-id/dm-name-VG-LV.
  const dmName = /^\/dev\/disk\/by-id\/dm-name-(.+)$/.exec(spec);
  if (dmName) return devices.find((d) => d.aliases.includes(`/dev/mapper/${dmName[1]}`));
  const canon = canonicalDeviceName(spec);
  return devices.find((d) => d.device === canon || d.aliases.includes(spec) || d.aliases.includes(canon));
}

/** udev escapes characters in by-label names as \xNN. */
function decodeUdev(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}
