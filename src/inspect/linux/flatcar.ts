import { Vfs } from '../../fs/vfs.js';
import { GuestkitError } from '../../protocol/errors.js';
import { readPartitionTable } from '../../volume/table.js';
import type { GuestDevice } from '../devices.js';
import type { AssembledRoot, FsPool, Mountable } from '../guest.js';
import { isReadable } from '../guest.js';
import { guestFaultMessage } from '../faults.js';
import { GuestView } from '../guest-view.js';
import { parseKeyValue, parseMajorMinor } from '../parse.js';
import type { UsrPartition } from '../types.js';
import type { ReleaseFacts } from './release.js';
import { compareText } from '../../util/compare.js';

/**
 * Flatcar Container Linux (and CoreOS Container Linux before it): a read/write ROOT
 * partition (/etc, /var, /home) and two /usr partitions, USR-A and USR-B, of which the one
 * the boot loader picks is mounted read-only at /usr. There is no fstab and no package
 * database; /etc/os-release is a symlink into /usr.
 *
 * The partitions are found by their GPT names (no reads: the names are in the layout), then
 * confirmed by the disk's GPT: the /usr type GUID, and the ChromeOS/Flatcar attribute bits
 * (48–51 priority, 52–55 tries left, 56 successful) that choose the active /usr as the boot
 * loader does. Only guests with those partition names pay the one GPT read.
 */

/** Flatcar's (CoreOS's) partition type GUIDs: "coreos-usr" and "coreos-resize" (ROOT). */
export const FLATCAR_USR_TYPE = '5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6';
export const FLATCAR_ROOT_TYPE = '3884DD41-8582-4404-B9A8-E9B84F2DF50E';

export interface FlatcarLayout {
  root: GuestDevice;
  usr: GuestDevice;
  /** How the active /usr was chosen. */
  chosenBy: 'attributes' | 'label';
  usrPartitions: (Omit<UsrPartition, 'version'> & { dev: GuestDevice })[];
  oem?: GuestDevice;
}

/** A Flatcar root as assembled: its layout and each /usr partition with its version. */
export interface FlatcarAssembly {
  layout: FlatcarLayout;
  usrPartitions: UsrPartition[];
}

const USR_LABELS = new Set(['USR-A', 'USR-B']);

function diskOf(device: string): string | undefined {
  return /^(\/dev\/[a-z]+?)\d+$/.exec(device)?.[1];
}

function partNumber(device: string): number {
  return Number(/(\d+)$/.exec(device)?.[1] ?? NaN);
}

/** A partition named ROOT on a disk that also has a USR-A or USR-B partition: worth confirming. */
export function looksLikeFlatcarRoot(d: GuestDevice, devices: GuestDevice[]): boolean {
  if (d.kind !== 'partition' || d.partlabel !== 'ROOT') return false;
  const disk = diskOf(d.device);
  return devices.some((o) => o.kind === 'partition' && diskOf(o.device) === disk && USR_LABELS.has(o.partlabel ?? ''));
}

const layouts = new WeakMap<GuestDevice[], Map<string, Promise<FlatcarLayout | undefined>>>();

/** The Flatcar layout `root` is the ROOT of, or undefined (memoised per guest). */
export function flatcarLayoutOf(root: GuestDevice, devices: GuestDevice[]): Promise<FlatcarLayout | undefined> {
  if (!looksLikeFlatcarRoot(root, devices)) return Promise.resolve(undefined);
  let m = layouts.get(devices);
  if (!m) layouts.set(devices, (m = new Map()));
  let p = m.get(root.device);
  if (!p) m.set(root.device, (p = readLayout(root, devices)));
  return p;
}

async function readLayout(root: GuestDevice, devices: GuestDevice[]): Promise<FlatcarLayout | undefined> {
  const diskName = diskOf(root.device);
  const disk = devices.find((d) => d.kind === 'disk' && d.device === diskName);
  if (!disk) return undefined;
  let table;
  try {
    table = await readPartitionTable(disk.dev);
  } catch (err) {
    if (err instanceof GuestkitError) return undefined;
    throw err;
  }
  if (!table || table.scheme !== 'gpt') return undefined;
  const byNumber = new Map(table.partitions.map((p) => [p.number, p]));
  const usrPartitions: FlatcarLayout['usrPartitions'] = [];
  for (const d of devices) {
    if (d.kind !== 'partition' || diskOf(d.device) !== diskName) continue;
    const p = byNumber.get(partNumber(d.device));
    if (!p || p.type.toUpperCase() !== FLATCAR_USR_TYPE) continue;
    const attrs = BigInt(`0x${p.attributes ?? '0'}`);
    usrPartitions.push({
      device: d.device,
      ...(p.name ? { label: p.name } : {}),
      active: false,
      priority: Number((attrs >> 48n) & 0xfn),
      tries: Number((attrs >> 52n) & 0xfn),
      successful: ((attrs >> 56n) & 1n) === 1n,
      dev: d,
    });
  }
  if (usrPartitions.length === 0) return undefined;
  // The boot loader's choice: the highest priority among partitions that may boot (successful,
  // or tries left); equal priorities go to the first in the table, as cgpt does.
  const bootable = usrPartitions.filter((u) => u.priority > 0 && (u.successful || u.tries > 0));
  let chosen: FlatcarLayout['usrPartitions'][number] | undefined;
  let chosenBy: FlatcarLayout['chosenBy'] = 'attributes';
  for (const u of bootable) if (!chosen || u.priority > chosen.priority) chosen = u;
  if (!chosen) {
    chosenBy = 'label';
    chosen = usrPartitions.find((u) => u.label === 'USR-A') ?? usrPartitions[0]!;
  }
  chosen.active = true;
  const oem = devices.find((d) => d.kind === 'partition' && diskOf(d.device) === diskName && d.partlabel === 'OEM');
  return { root, usr: chosen.dev, chosenBy, usrPartitions, ...(oem ? { oem } : {}) };
}

/**
 * The guest as Flatcar boots it: ROOT at /, the active USR partition at /usr, OEM at /oem
 * (at /usr/share/oem on releases whose ROOT has no /oem, as CoreOS Container Linux did).
 */
export async function assembleFlatcar(root: Mountable, layout: FlatcarLayout, pool: FsPool): Promise<AssembledRoot> {
  const warnings: string[] = [];
  const vfs = new Vfs(root.fs, root.device.device);
  const mountpoints: Record<string, string> = { '/': root.device.device };
  const attach = async (at: string, d: GuestDevice): Promise<boolean> => {
    if (!isReadable(d)) {
      warnings.push(`flatcar: ${at} is on ${d.device} (${d.fsType ?? 'unknown type'}), which cannot be read`);
      return false;
    }
    try {
      vfs.mount(at, await pool.get(d), d.device);
      mountpoints[at] = d.device;
      return true;
    } catch (err) {
      warnings.push(`flatcar: cannot attach ${d.device} at ${at}: ${guestFaultMessage(err)}`);
      return false;
    }
  };
  await attach('/usr', layout.usr);
  if (layout.oem) {
    const g = new GuestView(vfs, warnings, pool.budget);
    const at = (await g.isDir('/oem')) ? '/oem' : '/usr/share/oem';
    await attach(at, layout.oem);
  }
  const filesystems = Object.values(mountpoints);
  // Each /usr partition's version (the inactive one is the rollback target, or the update to come).
  const usrPartitions: UsrPartition[] = [];
  for (const u of layout.usrPartitions) {
    const { dev, ...rest } = u;
    let version: string | undefined;
    if (isReadable(dev)) {
      try {
        const g = new GuestView(new Vfs(await pool.get(dev), dev.device), warnings, pool.budget);
        version = parseKeyValue((await g.text('/lib/os-release')) ?? '').get('VERSION_ID');
      } catch (err) {
        warnings.push(`flatcar: ${dev.device}: ${guestFaultMessage(err)}`);
      }
    }
    usrPartitions.push({ ...rest, ...(version ? { version } : {}) });
  }
  return {
    root,
    vfs,
    mountpoints: Object.fromEntries(Object.entries(mountpoints).sort(([a], [b]) => compareText(a, b))),
    fstab: [],
    crypttab: [],
    filesystems: [...new Set(filesystems)].sort(),
    warnings,
    flatcar: { layout, usrPartitions },
    budget: pool.budget,
  };
}

export interface FlatcarFacts extends ReleaseFacts {
  build_id?: string;
  osinfo: string;
  usr_partitions: UsrPartition[];
}

/**
 * OS facts from /usr/lib/os-release (ID=flatcar, VERSION_ID 3975.2.0, BUILD_ID), the update
 * channel from update.conf (GROUP=stable), and each /usr partition's version. osinfo-db has
 * no Flatcar entry; the id follows its names for the CoreOS family ("fedora-coreos-stable"):
 * flatcar-<channel>, or "flatcar" when the channel is unknown.
 */
export async function detectFlatcar(g: GuestView, fc: FlatcarAssembly): Promise<FlatcarFacts> {
  const text = (await g.text('/usr/lib/os-release')) ?? (await g.text('/etc/os-release')) ?? '';
  const kv = parseKeyValue(text);
  const id = (kv.get('ID') ?? '').toLowerCase();
  const distro = id === 'flatcar' ? 'flatcar' : id === 'coreos' ? 'coreos' : 'flatcar';
  const v = parseMajorMinor(kv.get('VERSION_ID') ?? '') ?? [0, 0];
  let channel: string | undefined;
  for (const f of ['/etc/flatcar/update.conf', '/usr/share/flatcar/update.conf', '/etc/coreos/update.conf', '/usr/share/coreos/update.conf']) {
    const c = await g.text(f);
    const group = c === undefined ? undefined : parseKeyValue(c).get('GROUP');
    if (group) {
      channel = group.toLowerCase();
      break;
    }
  }
  const usr_partitions = fc.usrPartitions;
  const pretty = kv.get('PRETTY_NAME');
  const build = kv.get('BUILD_ID');
  return {
    distro,
    ...(pretty ? { product_name: pretty, pretty_name: pretty } : {}),
    major_version: v[0],
    minor_version: v[1],
    ...(build ? { build_id: build } : {}),
    osinfo: channel ? `${distro}-${channel}` : distro,
    usr_partitions,
  };
}

/** The report's word on packages: none, and why. */
export const FLATCAR_PACKAGE_NOTE = 'no package database: Flatcar Container Linux ships /usr as one read-only image (updated whole, A/B), so there are no installed packages to list';
