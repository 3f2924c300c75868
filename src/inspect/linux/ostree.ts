import type { DirEntry, FileSystem, InodeStat } from '../../fs/types.js';
import { Vfs } from '../../fs/vfs.js';
import type { GuestDevice } from '../devices.js';
import type { AssembledRoot, FsPool, Mountable } from '../guest.js';
import { isReadable } from '../guest.js';
import { fromGuestBytes, guestFaultMessage } from '../faults.js';
import { GuestView } from '../guest-view.js';
import { parseKeyValue } from '../parse.js';
import type { OstreeDeployment } from '../types.js';
import { decodeGVariant } from './gvariant.js';
import { compareText } from '../../util/compare.js';

/**
 * ostree systems (Fedora CoreOS, Silverblue/Kinoite, Fedora IoT, RHEL for Edge, CentOS Stream
 * CoreOS). The root filesystem is the "physical sysroot": no /etc of its own, but
 * /ostree/deploy/<os>/deploy/<checksum>.<serial> directories, each a complete OS tree (usr/,
 * etc/), beside the stateroot's shared /ostree/deploy/<os>/var. The boot loader entries
 * (/boot/loader/entries/*.conf, BLS) say which one boots: `options … ostree=/ostree/boot.N/
 * <os>/<bootcsum>/<serial>`, a symlink chain into the deployment. The entry with the highest
 * `version` is the default; the other deployments are rollbacks.
 *
 * The guest is assembled as ostree-prepare-root does: the deployment at /, the stateroot's var
 * at /var, the physical root at /sysroot, the boot partition at /boot.
 */

export interface OstreeAssembly {
  deployments: OstreeDeployment[];
}

/** One lookup for filesystems that are not ostree sysroots: no /ostree, no further reads. */
export async function isOstreeSysroot(fs: FileSystem, device: string): Promise<boolean> {
  const g = new GuestView(new Vfs(fs, device), []);
  return g.isDir('/ostree/deploy');
}

/** A directory of a filesystem presented as its root (a deployment, a stateroot's var). */
export class SubtreeFs implements FileSystem {
  constructor(
    private readonly inner: FileSystem,
    readonly rootIno: number,
  ) {}
  get info() {
    return this.inner.info;
  }
  lookup(dirIno: number, name: string): Promise<number | undefined> {
    return this.inner.lookup(dirIno, name);
  }
  stat(ino: number): Promise<InodeStat> {
    return this.inner.stat(ino);
  }
  readdir(dirIno: number): Promise<DirEntry[]> {
    return this.inner.readdir(dirIno);
  }
  read(ino: number, offset: number, length: number): Promise<Buffer> {
    return this.inner.read(ino, offset, length);
  }
  readlink(ino: number): Promise<string> {
    return this.inner.readlink(ino);
  }
}

/** A BLS entry's fields ("key value" lines); `options` keeps all its words. */
export interface LoaderEntry {
  file: string;
  version?: string;
  title?: string;
  options: string[];
}

export function parseLoaderEntry(file: string, text: string): LoaderEntry {
  const e: LoaderEntry = { file, options: [] };
  for (const line of text.split('\n')) {
    // "key value": a scan, not /^\s*(\S+)\s+(.*?)\s*$/, whose lazy value retried the trailing
    // \s*$ at every blank of a run (13 s for one line with 80,000 spaces; entries are read up to 4 MiB)
    const lead = line.trimStart();
    const sp = lead.search(/\s/);
    if (sp <= 0 || lead.startsWith('#')) continue;
    const key = lead.slice(0, sp);
    const value = lead.slice(sp).trim();
    if (key === 'options') e.options.push(...value.split(/\s+/).filter((w) => w !== ''));
    else if (key === 'version') e.version = value;
    else if (key === 'title') e.title = value;
  }
  return e;
}

/** Boot menu order as ostree writes it: the highest `version` first (the default), ties by file name. */
function compareEntries(a: LoaderEntry, b: LoaderEntry): number {
  const va = Number(a.version ?? 0);
  const vb = Number(b.version ?? 0);
  return vb - va || compareText(a.file, b.file);
}

/** An ostree origin file (GLib key file): [origin] refspec, [rpmostree] requested-packages. */
export function parseOrigin(text: string): Map<string, Map<string, string>> {
  const groups = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const g = /^\[(.+)\]$/.exec(line);
    if (g) {
      if (!groups.has(g[1]!)) groups.set(g[1]!, new Map());
      cur = groups.get(g[1]!);
      continue;
    }
    const eq = line.indexOf('=');
    if (cur && eq > 0) cur.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return groups;
}

/** A GLib key file string list ("a;b;c;"). */
function keyFileList(v: string | undefined): string[] {
  return (v ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
}

const DEPLOY_NAME = /^([0-9a-f]{64})\.(\d+)$/;

/** The `version` metadata of a commit object in the sysroot's repo ((a{sv}aya(say)sstayay)). */
async function commitVersion(sys: GuestView, checksum: string): Promise<string | undefined> {
  const bytes = await sys.bytes(`/ostree/repo/objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.commit`, 1024 * 1024);
  if (!bytes) return undefined;
  try {
    const commit = decodeGVariant(bytes, '(a{sv}aya(say)sstayay)');
    const meta = Array.isArray(commit) ? commit[0] : undefined;
    const v = meta instanceof Map ? meta.get('version') : undefined;
    const inner = v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Map) ? v.value : v;
    return typeof inner === 'string' ? inner : undefined;
  } catch (err) {
    sys.warn(`ostree: commit ${checksum}: ${guestFaultMessage(fromGuestBytes(err, 'gvariant'))}`);
    return undefined;
  }
}

/** The boot partition's loader entries: /boot on the sysroot, else a filesystem holding loader/entries. */
async function findBoot(sys: GuestView, root: Mountable, devices: GuestDevice[], pool: FsPool, warnings: string[]): Promise<{ fs: FileSystem; device: GuestDevice } | undefined> {
  if ((await sys.list('/boot/loader/entries')).length > 0) return undefined;
  // Fedora CoreOS and RHEL for Edge label it "boot"; others are found by their contents.
  const candidates = devices
    .filter((d) => d !== root.device && d.kind !== 'disk' && isReadable(d))
    .sort((a, b) => Number(b.label === 'boot') - Number(a.label === 'boot'));
  for (const d of candidates) {
    try {
      const fs = await pool.get(d);
      const g = new GuestView(new Vfs(fs, d.device), warnings, pool.budget);
      if ((await g.list('/loader/entries')).length > 0) return { fs, device: d };
    } catch (err) {
      // not a filesystem we can open: not the boot partition (a budget or a bug still goes up)
      guestFaultMessage(err);
    }
  }
  return undefined;
}

/** Assembles the default deployment of an ostree sysroot, and lists every deployment. */
export async function assembleOstree(root: Mountable, devices: GuestDevice[], pool: FsPool): Promise<AssembledRoot | undefined> {
  const warnings: string[] = [];
  const dev = root.device.device;
  const sysVfs = new Vfs(root.fs, dev);
  const sys = new GuestView(sysVfs, warnings, pool.budget);
  const boot = await findBoot(sys, root, devices, pool, warnings);
  if (boot) sysVfs.mount('/boot', boot.fs, boot.device.device);

  const entries: LoaderEntry[] = [];
  for (const name of (await sys.list('/boot/loader/entries')).sort()) {
    if (!name.endsWith('.conf')) continue;
    const text = await sys.text(`/boot/loader/entries/${name}`);
    if (text !== undefined) entries.push(parseLoaderEntry(name, text));
  }
  entries.sort(compareEntries);
  // Each entry's deployment: the ostree= symlink chain's target.
  const booted = new Map<string, number>();
  for (const [i, e] of entries.entries()) {
    const arg = e.options.find((o) => o.startsWith('ostree='))?.slice('ostree='.length);
    if (!arg) continue;
    const target = await sys.realpath(arg);
    if (!target) {
      warnings.push(`ostree: ${e.file}: ostree=${arg} does not lead to a deployment`);
      continue;
    }
    if (!booted.has(target)) booted.set(target, i);
  }

  const found: (OstreeDeployment & { dir: string; order: number })[] = [];
  for (const osname of (await sys.list('/ostree/deploy')).sort()) {
    for (const name of (await sys.list(`/ostree/deploy/${osname}/deploy`)).sort()) {
      const m = DEPLOY_NAME.exec(name);
      const dir = `/ostree/deploy/${osname}/deploy/${name}`;
      if (!m || !(await sys.isDir(dir))) continue;
      const origin = parseOrigin((await sys.text(`${dir}.origin`)) ?? '');
      const refspec = origin.get('origin')?.get('refspec') ?? origin.get('origin')?.get('baserefspec');
      const layered = keyFileList(origin.get('rpmostree')?.get('requested-packages'));
      const osr = parseKeyValue((await sys.text(`${dir}/usr/lib/os-release`)) ?? '');
      const version = (await commitVersion(sys, m[1]!)) ?? osr.get('OSTREE_VERSION') ?? osr.get('VERSION');
      const order = booted.get(dir);
      found.push({
        osname,
        checksum: m[1]!,
        serial: Number(m[2]),
        default: false,
        ...(version ? { version } : {}),
        ...(refspec ? { refspec } : {}),
        ...(layered.length ? { layered_packages: layered } : {}),
        dir,
        order: order ?? Number.MAX_SAFE_INTEGER,
      });
    }
  }
  if (found.length === 0) return undefined;
  found.sort((a, b) => a.order - b.order || compareText(a.osname, b.osname) || b.serial - a.serial);
  const chosen = found[0]!;
  if (chosen.order === Number.MAX_SAFE_INTEGER) warnings.push('ostree: no boot loader entry names a deployment; inspecting the first one found');
  else chosen.default = true;

  const deployIno = (await sysVfs.resolve(chosen.dir, true)).ino;
  const vfs = new Vfs(new SubtreeFs(root.fs, deployIno), dev);
  const mountpoints: Record<string, string> = { '/': dev, '/sysroot': dev };
  vfs.mount('/sysroot', root.fs, dev);
  const varDir = `/ostree/deploy/${chosen.osname}/var`;
  if (await sys.isDir(varDir)) {
    const r = await sysVfs.resolve(varDir, true);
    if (r.mount.fs === root.fs) {
      vfs.mount('/var', new SubtreeFs(root.fs, r.ino), dev);
      mountpoints['/var'] = dev;
    }
  }
  if (boot) {
    vfs.mount('/boot', boot.fs, boot.device.device);
    mountpoints['/boot'] = boot.device.device;
  }
  const deployments = found.map(({ dir: _dir, order: _order, ...d }) => d);
  return {
    root,
    vfs,
    mountpoints: Object.fromEntries(Object.entries(mountpoints).sort(([a], [b]) => compareText(a, b))),
    fstab: [],
    crypttab: [],
    filesystems: [...new Set(Object.values(mountpoints))].sort(),
    warnings,
    ostree: { deployments },
    budget: pool.budget,
  };
}

/**
 * libosinfo's ids for ostree variants of Fedora: CoreOS by stream (fedora-coreos-stable, -testing,
 * -next: the last part of the refspec fedora/x86_64/coreos/stable), Silverblue by release
 * (silverblue37: the first part of the commit version 37.20221220.0; silverblue-unknown without one).
 */
export function ostreeOsinfo(variantId: string | undefined, d: OstreeDeployment | undefined): string | undefined {
  if (variantId === 'silverblue') {
    const major = /^(\d+)\./.exec(d?.version ?? '')?.[1];
    return major ? `silverblue${major}` : 'silverblue-unknown';
  }
  if (variantId !== 'coreos' || !d?.refspec) return undefined;
  const stream = d.refspec.split(/[/:]/).pop() ?? '';
  return ['stable', 'testing', 'next'].includes(stream) ? `fedora-coreos-${stream}` : undefined;
}
