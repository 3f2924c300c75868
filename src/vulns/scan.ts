/**
 * Installed packages against the advisory database: for each OS of an inspection, the advisories
 * whose ranges hold a package's version, with the evidence. Debian-style advisories name source
 * packages, so each package is looked up by its own name and by its source name (compared with
 * the source version then). A database that is missing, stale or silent about the guest's
 * ecosystem is never reported as "no vulnerabilities": coverage says why the list may be short.
 */
import { formatVersion } from '../compare/versions.js';
import type { Application, Inspection, OperatingSystem } from '../inspect/types.js';
import { isGuestkitError } from '../protocol/errors.js';
import { AdvisoryDb } from './db.js';
import { osvEcosystemOf, type OsEcosystem } from './ecosystem.js';
import { matchAffected } from './ranges.js';
import { severityRank, type SeverityLevel } from './severity.js';
import { compareText } from '../util/compare.js';

export const DEFAULT_MAX_AGE_DAYS = 7;
const DAY_MS = 24 * 3600 * 1000;

export type CoverageState = 'ok' | 'stale' | 'missing_db' | 'no_ecosystem_data' | 'unsupported_os' | 'no_packages';

export interface VulnFinding {
  advisory: string;
  cves: string[];
  aliases: string[];
  summary?: string;
  severity: SeverityLevel;
  severity_source?: string;
  cvss_score?: number;
  ecosystem: string;
  package: string;
  arch: string;
  source_package?: string;
  /** Whether the advisory names the package itself or its source package. */
  matched_by: 'binary' | 'source';
  /** The version compared (the source version for a source match). */
  installed_version: string;
  fixed_version?: string;
  /** The affected range that holds the installed version. */
  range: string;
  advisory_modified: string;
}

export interface OsVulnReport {
  root: string;
  distro: string;
  version: string;
  ecosystem?: string;
  packages: number;
  coverage: { state: CoverageState; advisories: number; imported_at?: string; age_days?: number; message?: string };
  vulnerabilities: VulnFinding[];
  /** Findings left out by the severity threshold. */
  below_threshold: number;
}

export interface VulnScan {
  db: string;
  max_age_days: number;
  min_severity?: SeverityLevel;
  /** 'complete' only when every OS was matched against a fresh database for its ecosystem. */
  status: 'complete' | 'incomplete';
  warnings: string[];
  operating_systems: OsVulnReport[];
}

export interface ScanOptions {
  dbPath: string;
  maxAgeDays?: number;
  minSeverity?: SeverityLevel;
  now?: Date;
}

/** Matches every OS of `inspection` against the database at `opts.dbPath`. */
export function scanInspection(inspection: Pick<Inspection, 'operating_systems'>, opts: ScanOptions): VulnScan {
  let db: AdvisoryDb | undefined;
  try {
    db = AdvisoryDb.open(opts.dbPath);
  } catch (err) {
    if (!isGuestkitError(err, 'NOT_FOUND')) throw err;
  }
  try {
    return scanWith(db, inspection, opts);
  } finally {
    db?.close();
  }
}

/** As scanInspection, over a database the caller opened (undefined: there is none) and keeps open across many inspections. */
export function scanWith(db: AdvisoryDb | undefined, inspection: Pick<Inspection, 'operating_systems'>, opts: ScanOptions): VulnScan {
  const maxAge = opts.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS;
  const reports = inspection.operating_systems.map((os) => scanOs(os, db, maxAge, opts));
  const warnings = reports.filter((r) => r.coverage.state !== 'ok').map((r) => `${r.root} (${r.ecosystem ?? r.distro}): ${r.coverage.message}`);
  const scan: VulnScan = {
    db: db?.path ?? opts.dbPath,
    max_age_days: maxAge,
    status: reports.length > 0 && warnings.length === 0 ? 'complete' : 'incomplete',
    warnings: reports.length === 0 ? ['no operating system found: nothing to match'] : warnings,
    operating_systems: reports,
  };
  if (opts.minSeverity) scan.min_severity = opts.minSeverity;
  return scan;
}

function osVersion(os: OperatingSystem): string {
  return `${os.major_version}.${os.minor_version}`;
}

function scanOs(os: OperatingSystem, db: AdvisoryDb | undefined, maxAge: number, opts: ScanOptions): OsVulnReport {
  const eco = osvEcosystemOf(os);
  const apps = os.applications ?? [];
  const base = { root: os.root, distro: os.distro, version: osVersion(os), packages: apps.length, vulnerabilities: [], below_threshold: 0 };
  if (!eco) {
    return { ...base, coverage: { state: 'unsupported_os', advisories: 0, message: `no OSV ecosystem is known for ${os.distro} ${osVersion(os)}: packages were not matched` } };
  }
  const withEco = { ...base, ecosystem: eco.name };
  if (!db) {
    return { ...withEco, coverage: { state: 'missing_db', advisories: 0, message: `no advisory database at ${opts.dbPath}: run guestkit advisories import with OSV data for ${eco.name}` } };
  }
  const status = db.status(eco.exact, eco.prefixes);
  if (status.advisories === 0) {
    const held = db.ecosystems();
    return {
      ...withEco,
      coverage: { state: 'no_ecosystem_data', advisories: 0, message: `the advisory database holds nothing for ${eco.name} (it holds ${held.length ? held.join(', ') : 'no ecosystem'}): import osv.dev's ${eco.name.split(':')[0]} advisories` },
    };
  }
  if (apps.length === 0) {
    return { ...withEco, coverage: { state: 'no_packages', advisories: status.advisories, imported_at: status.imported_at, message: 'no package database was read for this OS: nothing to match' } };
  }
  const ageDays = Math.floor(((opts.now ?? new Date()).getTime() - Date.parse(status.imported_at!)) / DAY_MS);
  const stale = ageDays > maxAge;
  const all = findings(db, eco, apps);
  const min = opts.minSeverity ? severityRank(opts.minSeverity) : -1;
  const kept = all.filter((f) => severityRank(f.severity) >= min);
  return {
    ...withEco,
    coverage: {
      state: stale ? 'stale' : 'ok',
      advisories: status.advisories,
      imported_at: status.imported_at,
      age_days: ageDays,
      ...(stale ? { message: `the ${eco.name} advisories were imported ${ageDays} days ago (limit ${maxAge}): newer advisories are missing, re-import` } : {}),
    },
    vulnerabilities: kept,
    below_threshold: all.length - kept.length,
  };
}

interface Candidate {
  app: Application;
  by: 'binary' | 'source';
  version: string;
}

function findings(db: AdvisoryDb, eco: OsEcosystem, apps: readonly Application[]): VulnFinding[] {
  // advisory name → the packages it can mean: the package itself, or each binary of a source package
  const byName = new Map<string, Candidate[]>();
  const add = (name: string, c: Candidate) => byName.set(name, [...(byName.get(name) ?? []), c]);
  for (const app of apps) {
    const version = formatVersion(app);
    const source = app.source?.name ?? app.source_package ?? app.name;
    // only dpkg's source version is the one advisories compare (an rpm SOURCERPM's lacks the epoch)
    const sourceVersion = eco.versions === 'dpkg' ? (app.source?.version ?? version) : version;
    if (source !== app.name) {
      add(app.name, { app, by: 'binary', version });
      add(source, { app, by: 'source', version: sourceVersion });
    } else {
      // a binNMU (bash 5.2.15-2+b13 of source bash 5.2.15-2): the advisory's versions are the source's
      add(app.name, { app, by: sourceVersion === version ? 'binary' : 'source', version: sourceVersion });
    }
  }
  const names = [...byName.keys()];
  const out = new Map<string, VulnFinding>();
  for (const ecosystem of db.matchingEcosystems(eco.exact, eco.prefixes)) {
    for (const row of db.affected(ecosystem, names)) {
      for (const c of byName.get(row.name) ?? []) {
        const m = matchAffected(eco.versions, c.version, row.ranges, row.versions);
        if (!m) continue;
        const key = `${row.advisory_id}\0${c.app.name}\0${c.app.arch}`;
        const prior = out.get(key);
        if (prior && prior.matched_by === 'source') continue; // the source match is the one the advisory means
        const adv = db.advisory(row.advisory_id)!;
        const f: VulnFinding = {
          advisory: adv.id,
          cves: adv.cves,
          aliases: adv.aliases,
          severity: row.severity,
          ecosystem: row.ecosystem,
          package: c.app.name,
          arch: c.app.arch,
          matched_by: c.by,
          installed_version: c.version,
          range: m.range,
          advisory_modified: adv.modified,
        };
        if (adv.summary) f.summary = adv.summary;
        if (row.severity_source) f.severity_source = row.severity_source;
        if (row.cvss_score !== null) f.cvss_score = row.cvss_score;
        if (c.app.source_package) f.source_package = c.app.source_package;
        if (m.fixed !== undefined) f.fixed_version = m.fixed;
        out.set(key, f);
      }
    }
  }
  return [...out.values()].sort(
    (a, b) => severityRank(b.severity) - severityRank(a.severity) || compareText(a.package, b.package) || compareText(a.advisory, b.advisory),
  );
}
