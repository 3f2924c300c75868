import type { Application, GroupInfo, OperatingSystem, ServiceInfo, UserInfo } from '../inspect/types.js';
import type { AccountDiff, CompareReport, FieldChange, GroupRef, PackageDiff, ServiceDiff, ServiceRef, UserRef } from './types.js';
import { compareVersions, formatVersion } from './versions.js';

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fieldChanges<T extends object>(a: T, b: T, fields: readonly (keyof T & string)[]): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of fields) if (!same(a[f], b[f])) out.push({ field: f, baseline: a[f] ?? null, target: b[f] ?? null });
  return out;
}

/** The OS identity: what a person means by "the OS drifted". */
export function osDrift(a: OperatingSystem, b: OperatingSystem): CompareReport['os'] {
  const changes = fieldChanges(a, b, ['type', 'distro', 'product_name', 'pretty_name', 'major_version', 'minor_version', 'arch', 'hostname', 'build_id', 'edition', 'init_system', 'default_target']);
  const ka = new Set((a.kernels ?? []).map((k) => k.version));
  const kb = new Set((b.kernels ?? []).map((k) => k.version));
  if (a.bootloader?.default_kernel !== b.bootloader?.default_kernel && (a.bootloader || b.bootloader)) {
    changes.push({ field: 'default_kernel', baseline: a.bootloader?.default_kernel ?? null, target: b.bootloader?.default_kernel ?? null });
  }
  return {
    changes,
    kernels_added: [...kb].filter((k) => !ka.has(k)).sort(),
    kernels_removed: [...ka].filter((k) => !kb.has(k)).sort(),
  };
}

/** Packages keyed by name and architecture (dpkg multi-arch and rpm multilib install one name twice). */
export function packageDiff(a: Application[], b: Application[], format: string | undefined): PackageDiff {
  const key = (p: Application) => `${p.name}\u0000${p.arch}`;
  const ma = new Map(a.map((p) => [key(p), p]));
  const mb = new Map(b.map((p) => [key(p), p]));
  const ref = (p: Application) => ({ name: p.name, arch: p.arch, version: formatVersion(p) });
  const out: PackageDiff = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [k, p] of mb) if (!ma.has(k)) out.added.push(ref(p));
  for (const [k, p] of ma) {
    const q = mb.get(k);
    if (!q) {
      out.removed.push(ref(p));
      continue;
    }
    const va = formatVersion(p);
    const vb = formatVersion(q);
    if (va === vb && p.epoch === q.epoch) {
      out.unchanged++;
      continue;
    }
    const c = compareVersions(p, q, format);
    out.changed.push({
      name: p.name,
      arch: p.arch,
      baseline_version: va,
      target_version: vb,
      direction: c === undefined || c === 0 ? 'changed' : c < 0 ? 'upgrade' : 'downgrade',
    });
  }
  const order = (x: { name: string; arch: string }, y: { name: string; arch: string }) => byName(x, y) || (x.arch < y.arch ? -1 : x.arch > y.arch ? 1 : 0);
  out.added.sort(order);
  out.removed.sort(order);
  out.changed.sort(order);
  return out;
}

function serviceRef(s: ServiceInfo): ServiceRef {
  const r: ServiceRef = { name: s.name, kind: s.kind };
  if (s.enabled_in.length) r.enabled_in = [...s.enabled_in].sort();
  if (s.start !== undefined) r.start = s.start;
  if (s.alias_of !== undefined) r.alias_of = s.alias_of;
  return r;
}

/** Windows services are all listed; those that start at boot or on their own count as enabled. */
function isEnabled(s: ServiceInfo): boolean {
  if (s.start !== undefined) return s.start === 'boot' || s.start === 'system' || s.start === 'auto' || s.start === 'auto-delayed';
  return s.enabled_in.length > 0;
}

export function serviceDiff(a: ServiceInfo[], b: ServiceInfo[]): ServiceDiff {
  const ea = new Map(a.filter(isEnabled).map((s) => [s.name, s]));
  const eb = new Map(b.filter(isEnabled).map((s) => [s.name, s]));
  const out: ServiceDiff = { enabled: [], disabled: [], changed: [] };
  for (const [n, s] of eb) if (!ea.has(n)) out.enabled.push(serviceRef(s));
  for (const [n, s] of ea) {
    const t = eb.get(n);
    if (!t) {
      out.disabled.push(serviceRef(s));
      continue;
    }
    const changes = fieldChanges(serviceRef(s), serviceRef(t), ['enabled_in', 'start', 'alias_of']);
    if (changes.length) out.changed.push({ name: n, changes });
  }
  out.enabled.sort(byName);
  out.disabled.sort(byName);
  out.changed.sort(byName);
  return out;
}

function userRef(u: UserInfo): UserRef {
  return { name: u.name, uid: u.uid, gid: u.gid, shell: u.shell, home: u.home, login_allowed: u.login_allowed, password: u.password, groups: [...u.groups].sort() };
}

function groupRef(g: GroupInfo): GroupRef {
  return { name: g.name, gid: g.gid, members: [...g.members].sort() };
}

function accountDiff<S extends { name: string }, R extends { name: string }>(a: S[], b: S[], ref: (x: S) => R, fields: readonly (keyof R & string)[]): AccountDiff<R> {
  const ma = new Map(a.map((x) => [x.name, ref(x)]));
  const mb = new Map(b.map((x) => [x.name, ref(x)]));
  const out: AccountDiff<R> = { added: [], removed: [], changed: [] };
  for (const [n, x] of mb) if (!ma.has(n)) out.added.push(x);
  for (const [n, x] of ma) {
    const y = mb.get(n);
    if (!y) out.removed.push(x);
    else {
      const changes = fieldChanges(x, y, fields);
      if (changes.length) out.changed.push({ name: n, changes });
    }
  }
  out.added.sort(byName);
  out.removed.sort(byName);
  out.changed.sort(byName);
  return out;
}

export function userDiff(a: UserInfo[], b: UserInfo[]): AccountDiff<UserRef> {
  return accountDiff(a, b, userRef, ['uid', 'gid', 'shell', 'home', 'login_allowed', 'password', 'groups']);
}

export function groupDiff(a: GroupInfo[], b: GroupInfo[]): AccountDiff<GroupRef> {
  return accountDiff(a, b, groupRef, ['gid', 'members']);
}

/**
 * Everything the two inspections can tell apart: OS identity, packages (when asked), services,
 * users and groups. A part one side did not collect is left out, with a warning naming the side.
 */
export function inventoryDiff(
  a: OperatingSystem,
  b: OperatingSystem,
  opts: { packages: boolean },
): Pick<CompareReport, 'os' | 'packages' | 'services' | 'users' | 'groups' | 'warnings'> {
  const warnings: string[] = [];
  const missing = (what: string, x: unknown, y: unknown): boolean => {
    if (x !== undefined && y !== undefined) return false;
    const sides = [x === undefined ? 'baseline' : '', y === undefined ? 'target' : ''].filter(Boolean).join(' and ');
    warnings.push(`${what} not compared: the ${sides} inspection has none (collected with that part switched off?)`);
    return true;
  };
  const out: ReturnType<typeof inventoryDiff> = { os: osDrift(a, b), warnings };
  if (opts.packages && !missing('packages', a.applications, b.applications)) {
    if (a.package_format !== b.package_format) warnings.push(`package formats differ (${a.package_format ?? 'none'} vs ${b.package_format ?? 'none'}): versions are not ordered`);
    out.packages = packageDiff(a.applications!, b.applications!, a.package_format === b.package_format ? a.package_format : undefined);
  }
  if (!missing('services', a.services, b.services)) out.services = serviceDiff(a.services!, b.services!);
  if (!missing('users', a.users, b.users)) out.users = userDiff(a.users!, b.users!);
  if (!missing('groups', a.groups, b.groups)) out.groups = groupDiff(a.groups!, b.groups!);
  return out;
}
