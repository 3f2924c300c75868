import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { LvDevice, type MappedSegment, UnavailableDevice } from '../lvm/lv-device.js';
import { type MdSuperblock, blkidUuid, levelName } from './superblock.js';

/** A device carrying an md superblock. */
export interface MdMember {
  dev: BlockDevice;
  sb: MdSuperblock;
}

/** One array as the guest's kernel would assemble it. */
export interface MdArray {
  /** /dev/md127, /dev/md126, … as the libguestfs appliance's mdadm names arrays it does not own. */
  device: string;
  /** /dev/md/NAME (1.x name without its "host:" part), /dev/mdN for a 0.90 preferred minor or a numeric name. */
  aliases: string[];
  uuid: string;
  name?: string;
  level: string;
  version: string;
  size: number;
  /** Member devices by role (null: missing). */
  members: (string | null)[];
  /** Reads the array; for an unreadable one every read throws `error`. */
  dev: BlockDevice;
  degraded?: boolean;
  /** Why it cannot be read: UNSUPPORTED_FORMAT naming the level, IMAGE_NOT_FOUND for missing members, … */
  error?: GuestkitError;
}

const READABLE_LEVELS = new Set([-1, 0, 1]);

/**
 * Groups members by array UUID and builds each array: RAID1 from its freshest in-sync member
 * (a warning when members are missing), RAID0 by chunks across all members, linear by
 * concatenation. Other levels are listed, named, and unreadable (UNSUPPORTED_FORMAT).
 * Arrays are numbered downwards from `firstMinor` in the order their first member was seen.
 */
export function assembleMd(members: MdMember[], firstMinor: number, taken: Set<string>, warnings: string[]): MdArray[] {
  const groups = new Map<string, MdMember[]>();
  for (const m of members) {
    const key = m.sb.uuidBytes.toString('hex');
    const g = groups.get(key) ?? [];
    if (m.sb.deviceUuid && g.some((o) => o.sb.deviceUuid === m.sb.deviceUuid)) {
      warnings.push(`${m.dev.name}: md member ${m.sb.deviceUuid} was already seen; ignoring this copy`);
      continue;
    }
    g.push(m);
    groups.set(key, g);
  }
  const out: MdArray[] = [];
  let minor = firstMinor;
  for (const g of groups.values()) {
    while (taken.has(`/dev/md${minor}`) && minor > 0) minor--;
    const device = `/dev/md${minor--}`;
    taken.add(device);
    out.push(buildArray(device, g, taken, warnings));
  }
  return out;
}

function buildArray(device: string, group: MdMember[], taken: Set<string>, warnings: string[]): MdArray {
  // The freshest superblock speaks for the array; members with older event counts are stale.
  let ref = group[0]!.sb;
  for (const m of group) if (m.sb.events > ref.events) ref = m.sb;
  const level = levelName(ref.level);
  const name = ref.name ? ref.name.replace(/^[^:]*:/, '') : undefined;
  // Two arrays of one name (from different hosts) keep the name for the first, as mdadm does.
  const aliases: string[] = [];
  const alias = (a: string) => {
    if (a === device || taken.has(a)) return;
    taken.add(a);
    aliases.push(a);
  };
  if (name) alias(`/dev/md/${name}`);
  const numeric = name !== undefined && /^\d+$/.test(name) ? Number(name) : ref.preferredMinor;
  if (numeric !== undefined) alias(`/dev/md${numeric}`);
  const byRole: (MdMember | undefined)[] = new Array(ref.raidDisks).fill(undefined);
  for (const m of group) {
    if (m.sb.events < ref.events) {
      warnings.push(`${device}: member ${m.dev.name} is stale (events ${m.sb.events} < ${ref.events}); not used`);
      continue;
    }
    if (typeof m.sb.role !== 'number') continue;
    if (m.sb.recovering) {
      warnings.push(`${device}: member ${m.dev.name} is being rebuilt; not used`);
      continue;
    }
    if (m.sb.role < byRole.length && !byRole[m.sb.role]) byRole[m.sb.role] = m;
  }
  const base = {
    device,
    aliases,
    uuid: blkidUuid(ref),
    ...(ref.name ? { name: ref.name } : {}),
    level,
    version: ref.version,
    members: byRole.map((m) => m?.dev.name ?? null),
  };
  const unavailable = (error: GuestkitError, size: number, extra: Partial<MdArray> = {}): MdArray => {
    warnings.push(error.message);
    return { ...base, size, dev: new UnavailableDevice(device, size, error), error, ...extra };
  };
  const present = byRole.filter((m): m is MdMember => m !== undefined);
  const missing = byRole.map((m, i) => (m ? -1 : i)).filter((i) => i >= 0);
  if (!READABLE_LEVELS.has(ref.level)) {
    return unavailable(
      new GuestkitError('UNSUPPORTED_FORMAT', `${device}: md ${level} array is not supported (only raid1, raid0 and linear arrays can be read)`, {
        details: { array: device, level, uuid: base.uuid },
      }),
      0,
    );
  }
  if (ref.reshaping) {
    return unavailable(new GuestkitError('UNSUPPORTED_FORMAT', `${device}: md ${level} array is being reshaped`, { details: { array: device, level } }), 0);
  }
  try {
    if (ref.level === 1) {
      const size = ref.componentSize;
      const src = present[0];
      if (!src) {
        return unavailable(new GuestkitError('IMAGE_NOT_FOUND', `${device}: md raid1 array has no in-sync member among the given disks`, { details: { array: device } }), size);
      }
      checkArea(device, src, size);
      const degraded = present.length < ref.raidDisks;
      if (degraded) {
        warnings.push(`${device}: md raid1 array is degraded (${present.length} of ${ref.raidDisks} members; missing role ${missing.join(', ')}); reading ${src.dev.name}`);
      }
      return { ...base, size, dev: new LvDevice(device, size, [{ start: 0, length: size, stripeSize: 0, areas: [{ dev: src.dev, offset: src.sb.dataOffset }] }]), ...(degraded ? { degraded } : {}) };
    }
    if (missing.length > 0) {
      return unavailable(
        new GuestkitError('IMAGE_NOT_FOUND', `${device}: md ${level} array is incomplete: role ${missing.join(', ')} of ${ref.raidDisks} missing`, {
          details: { array: device, level, missing_roles: missing },
        }),
        0,
      );
    }
    const chunk = ref.chunkBytes;
    if (ref.level === 0) {
      if (chunk < 512 || chunk % 512 !== 0) throw corrupt(`${device}: md raid0 chunk size ${chunk} is not a positive multiple of 512`);
      const per = present.map((m) => Math.floor(m.sb.dataSize / chunk) * chunk);
      if (per.some((p) => p !== per[0])) {
        return unavailable(
          new GuestkitError('UNSUPPORTED_FORMAT', `${device}: md raid0 array with members of different sizes (several zones) is not supported`, { details: { array: device, level } }),
          0,
        );
      }
      const size = per[0]! * present.length;
      for (const m of present) checkArea(device, m, per[0]!);
      const seg: MappedSegment = { start: 0, length: size, stripeSize: chunk, areas: present.map((m) => ({ dev: m.dev, offset: m.sb.dataOffset })) };
      return { ...base, size, dev: present.length === 1 ? new LvDevice(device, size, [{ ...seg, stripeSize: 0 }]) : new LvDevice(device, size, [seg]) };
    }
    // linear: members one after another, each rounded down to the chunk size when there is one.
    const segments: MappedSegment[] = [];
    let start = 0;
    for (const m of present) {
      const len = chunk > 0 ? Math.floor(m.sb.dataSize / chunk) * chunk : m.sb.dataSize;
      checkArea(device, m, len);
      if (len > 0) segments.push({ start, length: len, stripeSize: 0, areas: [{ dev: m.dev, offset: m.sb.dataOffset }] });
      start += len;
    }
    if (segments.length === 0) throw corrupt(`${device}: md linear array has no data`);
    return { ...base, size: start, dev: new LvDevice(device, start, segments) };
  } catch (err) {
    if (err instanceof GuestkitError) return unavailable(err, 0);
    throw err;
  }
}

function checkArea(device: string, m: MdMember, len: number): void {
  const end = m.sb.dataOffset + len;
  if (!Number.isSafeInteger(end) || end > m.dev.size || len > m.sb.dataSize) {
    throw corrupt(`${device}: member ${m.dev.name} data ${m.sb.dataOffset}+${len} lies outside its ${m.dev.size} bytes`);
  }
}
