import type { FileSystem } from '../fs/types.js';
import { openFilesystem, supportedFilesystems } from '../fs/open.js';
import { Vfs } from '../fs/vfs.js';
import { InspectionBudget, isBudgetError } from './budget.js';
import { classifyFilesystem, type FsRole } from './classify.js';
import { resolveSpec, type GuestDevice } from './devices.js';
import { GuestView } from './guest-view.js';
import { assembleFlatcar, flatcarLayoutOf, type FlatcarAssembly } from './linux/flatcar.js';
import { expectsDevice, isMountable, mountOption, parseCrypttab, parseFstab } from './linux/fstab.js';
import { assembleOstree, isOstreeSysroot, type OstreeAssembly } from './linux/ostree.js';
import type { CrypttabEntry, FstabEntry } from './types.js';
import { compareText } from '../util/compare.js';

/** A filesystem that can be mounted, optionally a Btrfs subvolume of it. */
export interface Mountable {
  device: GuestDevice;
  subvol?: string;
  fs: FileSystem;
  role: FsRole;
}

/** One OS root with its filesystems attached where its fstab says. */
export interface AssembledRoot {
  root: Mountable;
  vfs: Vfs;
  mountpoints: Record<string, string>;
  fstab: FstabEntry[];
  crypttab: CrypttabEntry[];
  filesystems: string[];
  warnings: string[];
  /** Flatcar: the ROOT/USR/OEM partitions this root was assembled from (no fstab). */
  flatcar?: FlatcarAssembly;
  /** ostree: the sysroot's deployments; the default one is the root's view. */
  ostree?: OstreeAssembly;
  /** The inspection's budget (the pool's), for the collectors' views. */
  budget: InspectionBudget;
}

const BTRFS_TOP_LEVEL = 5;

/** A Btrfs subvolume as fstab names it: by path (`subvol=`) or by id (`subvolid=`). */
export type SubvolRef = string | { id: number };

/** Opens each filesystem once (per device and subvolume) and remembers failures. */
export class FsPool {
  private readonly open = new Map<string, Promise<FileSystem>>();

  /** The inspection's budget travels with its filesystems to every view made of them. */
  constructor(readonly budget: InspectionBudget = InspectionBudget.unlimited()) {}

  get(device: GuestDevice, subvol?: SubvolRef): Promise<FileSystem> {
    // fstab writes "/@/home" where the subvolume list says "@/home": one subvolume, one open.
    const path = typeof subvol === 'string' ? subvol.split('/').filter((c) => c !== '').join('/') : undefined;
    const key = `${device.device}\0${typeof subvol === 'object' ? `#${subvol.id}` : path === undefined ? '' : `/${path}`}`;
    let p = this.open.get(key);
    if (!p) {
      // No subvol= mounts the default subvolume; subvol=/ is the top level (id 5).
      const opts = typeof subvol === 'object' ? { subvolid: subvol.id } : path === undefined ? {} : path === '' ? { subvolid: BTRFS_TOP_LEVEL } : { subvol: path };
      p = openFilesystem(device.dev, device.fsType!, opts);
      this.open.set(key, p);
    }
    return p;
  }

  async close(): Promise<void> {
    for (const p of this.open.values()) {
      const fs = await p.catch(() => undefined);
      await fs?.close?.().catch(() => undefined);
    }
  }
}

export function isReadable(d: GuestDevice): boolean {
  return d.usage !== 'swap' && d.fsType !== undefined && supportedFilesystems().includes(d.fsType);
}

/** Opens and classifies every readable filesystem; a damaged one is a warning, never the end of inspection. */
export async function classifyAll(devices: GuestDevice[], pool: FsPool, warnings: string[]): Promise<Mountable[]> {
  const out: Mountable[] = [];
  for (const device of devices) {
    if (!isReadable(device)) continue;
    let fs: FileSystem;
    try {
      fs = await pool.get(device);
    } catch (err) {
      if (isBudgetError(err) || pool.budget.exhausted) throw pool.budget.exhausted ?? err;
      warnings.push(`${device.device}: cannot open ${device.fsType} filesystem: ${(err as Error).message}`);
      continue;
    }
    const candidates: { subvol?: string; fs: FileSystem }[] = [{ fs }];
    // Btrfs roots usually live in a subvolume (@, root): look at each. The device opened
    // without subvol= shows the default subvolume (openSUSE: @/.snapshots/1/snapshot),
    // already a candidate: listing it again would report its OS twice.
    const subvols = (fs as { subvolumes?: () => Promise<{ id?: number; path: string }[]> }).subvolumes;
    if (subvols) {
      try {
        for (const sv of await subvols.call(fs)) {
          if (sv.id !== undefined && sv.id === fs.info.subvolid) continue;
          if (isBackupSnapshot(sv.path)) continue;
          candidates.push({ subvol: sv.path, fs: await pool.get(device, sv.path) });
        }
      } catch (err) {
        if (isBudgetError(err) || pool.budget.exhausted) throw pool.budget.exhausted ?? err;
        warnings.push(`${device.device}: cannot list btrfs subvolumes: ${(err as Error).message}`);
      }
    }
    for (const c of candidates) {
      try {
        // Flatcar's ROOT holds /etc and /var but no fstab: its partition layout says what it is.
        let role: FsRole = c.subvol === undefined && (await flatcarLayoutOf(device, devices)) ? 'linux-root' : await classifyFilesystem(new GuestView(new Vfs(c.fs, device.device), warnings, pool.budget));
        // An ostree sysroot has no /etc of its own, only /ostree/deploy (one lookup for others).
        if (role === 'data' && (await isOstreeSysroot(c.fs, device.device))) role = 'linux-root';
        out.push({ device, fs: c.fs, role, ...(c.subvol !== undefined ? { subvol: c.subvol } : {}) });
      } catch (err) {
        if (isBudgetError(err) || pool.budget.exhausted) throw pool.budget.exhausted ?? err;
        warnings.push(`${device.device}${c.subvol ? ` (subvol ${c.subvol})` : ''}: cannot classify: ${(err as Error).message}`);
      }
    }
  }
  return out;
}

/** Builds a root's view: its fstab's filesystems attached at their mount points. */
export async function assembleRoot(root: Mountable, devices: GuestDevice[], pool: FsPool): Promise<AssembledRoot> {
  const flatcar = root.subvol === undefined ? await flatcarLayoutOf(root.device, devices) : undefined;
  if (flatcar) return assembleFlatcar(root, flatcar, pool);
  const ostree = (await isOstreeSysroot(root.fs, root.device.device)) ? await assembleOstree(root, devices, pool) : undefined;
  if (ostree) return ostree;
  const warnings: string[] = [];
  const vfs = new Vfs(root.fs, root.device.device);
  const g = new GuestView(vfs, warnings, pool.budget);
  const fstab = parseFstab((await g.text('/etc/fstab')) ?? '');
  const crypttab = parseCrypttab((await g.text('/etc/crypttab')) ?? '');
  const mountpoints: Record<string, string> = { '/': root.device.device };
  const filesystems = new Set<string>([root.device.device]);
  for (const e of fstab) {
    // The kernel's name for whatever it booted as root.
    const dev = e.file === '/' && e.spec === '/dev/root' ? root.device : resolveSpec(e.spec, devices);
    if (dev) e.device = dev.device;
    // A dm-crypt mapping opened from crypttab at boot: its backing device is what the disks hold.
    const crypt = dev ? undefined : cryptMapping(e.spec, crypttab, devices);
    if (crypt?.backing) filesystems.add(crypt.backing.device);
    if (e.vfstype === 'swap') {
      if (dev) filesystems.add(dev.device);
      else if (!crypt && expectsDevice(e)) warnings.push(`fstab: swap ${e.spec} not found on the given disks`);
      continue;
    }
    if (!isMountable(e)) continue;
    if (e.file === '/') {
      // The root was found by its contents; an fstab naming a device no disk holds is still worth saying.
      if (!dev && !crypt && expectsDevice(e)) warnings.push(`fstab: ${e.spec} (for /) not found on the given disks; the root inspected is ${root.device.device}`);
      continue;
    }
    if (!dev) {
      if (crypt) {
        const where = crypt.backing?.device ?? `${crypt.entry.device}, not found on the given disks`;
        warnings.push(`fstab: ${e.file} is on the encrypted volume ${crypt.entry.name} (${where}), which cannot be read without its key`);
      } else if (expectsDevice(e)) {
        warnings.push(`fstab: ${e.spec} (for ${e.file}) not found on the given disks`);
      }
      continue;
    }
    mountpoints[e.file] = dev.device;
    filesystems.add(dev.device);
    if (!isReadable(dev)) {
      warnings.push(`fstab: ${e.file} is on ${dev.device} (${dev.fsType ?? 'unknown type'}), which cannot be read`);
      continue;
    }
    try {
      const subvol = mountOption(e.options, 'subvol');
      const subvolid = mountOption(e.options, 'subvolid');
      const ref: SubvolRef | undefined = subvol ?? (subvolid !== undefined && /^\d+$/.test(subvolid) ? { id: Number(subvolid) } : undefined);
      const fs = await pool.get(dev, ref);
      vfs.mount(e.file, fs, dev.device);
    } catch (err) {
      if (isBudgetError(err) || pool.budget.exhausted) throw pool.budget.exhausted ?? err;
      warnings.push(`fstab: cannot attach ${dev.device} at ${e.file}: ${(err as Error).message}`);
    }
  }
  const sorted = Object.fromEntries(Object.entries(mountpoints).sort(([a], [b]) => compareText(a, b)));
  return { root, vfs, mountpoints: sorted, fstab, crypttab, filesystems: [...filesystems].sort(), warnings, budget: pool.budget };
}

/** The crypttab entry behind /dev/mapper/NAME (or by-id/dm-name-NAME), with its backing device when present. */
function cryptMapping(spec: string, crypttab: CrypttabEntry[], devices: GuestDevice[]): { entry: CrypttabEntry; backing?: GuestDevice } | undefined {
  const m = /^\/dev\/(?:mapper\/|disk\/by-id\/dm-name-)(.+)$/.exec(spec);
  const entry = m ? crypttab.find((c) => c.name === m[1]) : undefined;
  if (!entry) return undefined;
  const backing = resolveSpec(entry.device, devices);
  return backing ? { entry, backing } : { entry };
}

/**
 * Snapshots that snapper (openSUSE: @/.snapshots/N/snapshot) and Timeshift
 * (timeshift-btrfs/snapshots/DATE/@) keep of a root: earlier copies of the same
 * OS, not guests of their own. The snapshot that boots (after a rollback) is the
 * default subvolume, which is examined unnamed, so it is still found.
 */
function isBackupSnapshot(path: string): boolean {
  return /(?:^|\/)\.snapshots\/\d+\/snapshot$/.test(path) || /(?:^|\/)timeshift-btrfs\/snapshots\//.test(path);
}
