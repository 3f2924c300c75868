import type { ImageFormatName } from '../disk/image.js';
import { newReadStats } from '../disk/types.js';
import type { AssembledRoot } from '../inspect/guest.js';
import { GuestView } from '../inspect/guest-view.js';
import { detectApplications } from '../inspect/linux/packages/index.js';
import { detectRelease, packageFormatOf } from '../inspect/linux/release.js';
import { GuestSession } from '../inspect/session.js';
import { findSystemRoot, openGuestHive } from '../inspect/windows/hives.js';
import { currentControlSet } from '../inspect/windows/system.js';
import { readWindowsVersion, windowsDisplayName } from '../inspect/windows/version.js';
import { GuestkitError } from '../protocol/errors.js';
import type { Hive } from '../registry/index.js';
import { CATALOGUE_SOURCE, CIS_BENCHMARKS, catalogue, type CatalogueEntry } from './catalogue.js';
import { evaluateLinux } from './linux/evaluate.js';
import { LinuxGuest } from './linux/guest.js';
import { SEVERITIES, type CheckResult, type Family, type GuestReport, type ProfileName, type ProfileReport, type Score, type Severity, type Status, type Verdict } from './types.js';
import { evaluateWindows, type WindowsGuest } from './windows/evaluate.js';
import { inspectForMigration, migrationOf, type MigrationReadiness, type MigrationTarget } from './migration/index.js';
import type { GuestDevice } from '../inspect/devices.js';
import type { OperatingSystem } from '../inspect/types.js';

export interface ProfileRequest {
  /** Disks of one guest, the first is /dev/sda. */
  disks: string[];
  format?: ImageFormatName | 'img' | 'auto';
  profiles: ProfileName[];
  /** Results below this severity are left out of the report (scores always count every check). */
  severity_threshold?: Severity;
  include_remediation?: boolean;
  allowedRoots?: readonly string[];
  /** The migration profile's target (default kvm). */
  target?: MigrationTarget;
  onStage?: (stage: string) => void;
  /** An open session of `disks` to read through instead of opening them (the caller closes it). */
  session?: GuestSession;
}

type RootReport = Omit<GuestReport, 'summary' | 'scores' | 'results'> & { evaluated: { c: CatalogueEntry; v: Verdict }[]; extra: CheckResult[] };

/** The migration profile's readiness and its findings, when asked for. */
async function migrationPart(a: AssembledRoot, req: ProfileRequest, devices: GuestDevice[], warnings: string[], inspected?: Promise<OperatingSystem>): Promise<{ migration?: MigrationReadiness; extra: CheckResult[] }> {
  if (!req.profiles.includes('migration')) return { extra: [] };
  const m = await migrationOf(a, devices, req.target ?? 'kvm', warnings, inspected);
  return { migration: m.readiness, extra: m.results };
}

/** The migration profile's inspection, started first so the checks can share what it reads. */
function startInspection(a: AssembledRoot, req: ProfileRequest, devices: GuestDevice[]): Promise<OperatingSystem> | undefined {
  if (!req.profiles.includes('migration')) return undefined;
  const p = inspectForMigration(a, devices);
  // awaited by the migration part; a failure must not surface earlier as an unhandled rejection
  p.catch(() => undefined);
  return p;
}

const RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;

const DEBIAN = new Set(['debian', 'ubuntu', 'linuxmint', 'kalilinux', 'pardus']);
const RHEL = new Set(['rhel', 'centos', 'rocky', 'almalinux', 'oraclelinux', 'fedora', 'amazonlinux', 'circle', 'scientificlinux', 'redhat-based']);
const SUSE = new Set(['sles', 'opensuse', 'suse-based']);

export function familiesOf(distro: string): Family[] {
  if (DEBIAN.has(distro)) return ['linux', 'debian'];
  if (RHEL.has(distro)) return ['linux', 'rhel'];
  if (SUSE.has(distro)) return ['linux', 'suse'];
  return ['linux'];
}

/** The CIS benchmark a guest is scored against: its own where one is mapped, else its family's nearest. */
export function benchmarkFor(distro: string, major: number): { id: string; exact: boolean } {
  if (distro === 'debian') return { id: 'debian12', exact: major === 12 };
  if (distro === 'ubuntu') return major >= 24 ? { id: 'ubuntu2404', exact: major === 24 } : { id: 'ubuntu2204', exact: major === 22 };
  if (RHEL.has(distro)) return { id: 'rhel9', exact: major === 9 && distro !== 'fedora' && distro !== 'amazonlinux' };
  if (DEBIAN.has(distro)) return { id: 'debian12', exact: false };
  return { id: 'debian12', exact: false };
}

type Tally = Record<Status, number>;
const tally = (): Tally => ({ pass: 0, fail: 0, not_applicable: 0, error: 0 });

function score(t: Tally): Score {
  const { pass, fail } = t;
  return { score: pass + fail ? Math.round((1000 * pass) / (pass + fail)) / 10 : null, pass, fail, not_applicable: t.not_applicable, error: t.error };
}

async function judge(c: CatalogueEntry, fn: () => Promise<Verdict>): Promise<Verdict> {
  try {
    return await fn();
  } catch (err) {
    return { status: 'error', message: `${c.evaluator.type}: ${(err as Error).message}`, evidence: [] };
  }
}

function selected(profiles: ProfileName[], families: Family[]): CatalogueEntry[] {
  return catalogue().filter((c) => c.profiles.some((p) => profiles.includes(p)) && c.families.some((f) => families.includes(f)));
}

async function linuxReport(a: AssembledRoot, req: ProfileRequest, devices: GuestDevice[]): Promise<RootReport> {
  const warnings = [...a.warnings];
  const view = new GuestView(a.vfs, warnings);
  const rel = await detectRelease(view.scope());
  const families = familiesOf(rel.distro);
  const format = packageFormatOf(rel.distro);
  const inspected = startInspection(a, req, devices);
  // the inspection reads the package database: the package checks take its list rather than
  // reading the database a second time (unless it read another kind: nix, Flatcar's none)
  const installed = inspected && (async () => {
    const os = await inspected;
    return os.package_format === format ? os.applications : detectApplications(view.scope(), format);
  });
  const g = new LinuxGuest(view, format, installed);
  const checks = selected(req.profiles, families);
  const evaluated = await Promise.all(checks.map(async (c) => ({ c, v: await judge(c, () => evaluateLinux(g, c.evaluator)) })));
  const bench = benchmarkFor(rel.distro, rel.major_version);
  const mig = await migrationPart(a, req, devices, warnings, inspected);
  return {
    root: a.root.device.device + (a.root.subvol ? `:${a.root.subvol}` : ''),
    os: { type: 'linux', distro: rel.distro, version: `${rel.major_version}.${rel.minor_version}`, ...(rel.pretty_name ? { pretty_name: rel.pretty_name } : {}), family: families },
    ...(req.profiles.includes('compliance') ? { benchmark: { id: bench.id, title: CIS_BENCHMARKS[bench.id] ?? bench.id, exact: bench.exact } } : {}),
    warnings,
    evaluated,
    ...mig,
  };
}

async function windowsReport(a: AssembledRoot, req: ProfileRequest, devices: GuestDevice[]): Promise<RootReport> {
  const warnings = [...a.warnings];
  const view = new GuestView(a.vfs, warnings);
  const systemRoot = (await findSystemRoot(view.scope())) ?? '/Windows';
  const hives = new Map<string, Promise<Hive | undefined>>();
  const hive = (name: string) => {
    let p = hives.get(name);
    if (!p) {
      p = openGuestHive(view.scope(), systemRoot, name).catch((err: unknown) => {
        warnings.push(`${systemRoot}/System32/config/${name}: ${(err as Error).message}`);
        return undefined;
      });
      hives.set(name, p);
    }
    return p;
  };
  const system = await hive('SYSTEM');
  const software = await hive('SOFTWARE');
  const ver = software ? await readWindowsVersion(software).catch(() => undefined) : undefined;
  const w: WindowsGuest = { systemRoot, controlSet: system ? await currentControlSet(system) : 'ControlSet001', hive };
  const checks = selected(req.profiles, ['windows']);
  const evaluated = await Promise.all(checks.map(async (c) => ({ c, v: await judge(c, () => evaluateWindows(w, c.evaluator)) })));
  const mig = await migrationPart(a, req, devices, warnings, startInspection(a, req, devices));
  return {
    root: a.root.device.device,
    os: { type: 'windows', distro: 'windows', version: `${ver?.major_version ?? 0}.${ver?.minor_version ?? 0}`, ...(ver && windowsDisplayName(ver) ? { pretty_name: windowsDisplayName(ver) } : {}), family: ['windows'] },
    warnings,
    evaluated,
    ...mig,
  };
}

/**
 * Runs the requested profiles over every OS root of one guest: each check of the catalogue that
 * applies to the root's family is judged from the guest's files (nothing is booted or mounted).
 */
export async function runProfile(req: ProfileRequest): Promise<ProfileReport> {
  if (req.disks.length === 0 && !req.session) throw new GuestkitError('VALIDATION_ERROR', 'profile: no disk image given');
  const threshold = req.severity_threshold ?? 'info';
  const t0 = performance.now();
  req.onStage?.('disk_attach');
  const session = req.session ?? (await GuestSession.open(req.disks, { format: req.format, stats: newReadStats(), allowedRoots: req.allowedRoots }));
  const stats = session.stats;
  const startBytes = stats.bytesRead;
  try {
    req.onStage?.('os_detection');
    const roots = await session.roots();
    if (roots.length === 0) {
      throw new GuestkitError('NO_OS_FOUND', `no operating system found on ${req.disks.join(', ')}`, { phase: 'os_detection', details: { devices: session.devices.map((d) => d.device), warnings: session.warnings } });
    }
    req.onStage?.('security_scan');
    const guests: GuestReport[] = [];
    for (const a of roots) {
      const r = a.root.role === 'windows-root' ? await windowsReport(a, req, session.devices) : await linuxReport(a, req, session.devices);
      // one pass to build the results, one to count them (was a filter per profile, level and status)
      const bench = r.benchmark?.id;
      const all: CheckResult[] = [];
      const levels: (1 | 2 | undefined)[] = [];
      for (const { c, v } of r.evaluated) {
        all.push({
          id: c.id,
          title: c.title,
          severity: c.severity,
          profiles: c.profiles.filter((p) => req.profiles.includes(p)),
          status: v.status,
          message: v.message,
          evidence: v.evidence,
          references: c.references ? { cis: c.cis, other: c.references } : { cis: c.cis },
          rationale: c.rationale,
          ...(req.include_remediation !== false ? { remediation: c.remediation } : {}),
        });
        levels.push(bench ? c.cis.find((x) => x.benchmark === bench)?.level : undefined);
      }
      for (const x of r.extra) {
        all.push(req.include_remediation !== false ? x : { ...x, remediation: undefined });
        levels.push(undefined);
      }
      const byProfile = new Map(req.profiles.map((p) => [p, tally()]));
      const level1 = tally();
      const level2 = tally();
      const shownTally = tally();
      const failed_by_severity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
      const shown: CheckResult[] = [];
      for (let i = 0; i < all.length; i++) {
        const x = all[i]!;
        for (const [p, t] of byProfile) if (x.profiles.includes(p)) t[x.status]++;
        if (levels[i] === 1) level1[x.status]++;
        if (levels[i] !== undefined) level2[x.status]++;
        if (x.status === 'fail') failed_by_severity[x.severity]++;
        if (RANK[x.severity] >= RANK[threshold]) {
          shown.push(x);
          shownTally[x.status]++;
        }
      }
      const scores: GuestReport['scores'] = {};
      for (const [p, t] of byProfile) scores[p] = score(t);
      if (r.benchmark) {
        scores.cis_level1 = score(level1);
        scores.cis_level2 = score(level2);
      }
      const summary = { checks: shown.length, pass: shownTally.pass, fail: shownTally.fail, not_applicable: shownTally.not_applicable, error: shownTally.error, failed_by_severity };
      guests.push({
        root: r.root,
        os: r.os,
        ...(r.benchmark ? { benchmark: r.benchmark } : {}),
        summary,
        scores,
        results: shown,
        ...(r.migration ? { migration: r.migration } : {}),
        warnings: [...new Set(r.warnings)],
      });
    }
    req.onStage?.('result_generation');
    const cat = catalogue();
    return {
      kind: 'guestkit.profile.report',
      version: 1,
      generated_at: new Date().toISOString(),
      image: session.images.map((i) => i.info().filename),
      profiles: req.profiles,
      options: { severity_threshold: threshold, include_remediation: req.include_remediation !== false, ...(req.profiles.includes('migration') ? { target: req.target ?? 'kvm' } : {}) },
      catalogue: { linux: cat.filter((c) => !c.families.includes('windows')).length, windows: cat.filter((c) => c.families.includes('windows')).length, source: CATALOGUE_SOURCE },
      guests,
      stats: { bytes_read: stats.bytesRead - startBytes, total_ms: Math.round(performance.now() - t0) },
    };
  } finally {
    if (!req.session) await session.close();
  }
}

/** Failed checks of critical severity, over all guests (fail_on_critical). */
export function criticalFailures(r: ProfileReport): CheckResult[] {
  return r.guests.flatMap((g) => g.results.filter((x) => x.severity === 'critical' && x.status === 'fail'));
}
