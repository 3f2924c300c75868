/**
 * The local advisory database: one SQLite file, advisories by id and the packages they affect
 * keyed by (ecosystem, name). Only what matching and reports need is kept, not whole records.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { GuestkitError } from '../protocol/errors.js';
import { cveIds } from './cve.js';
import type { OsvRecord } from './osv.js';
import { severityOf, type SeverityLevel } from './severity.js';

const SCHEMA_VERSION = '1';
/** Range types whose events are versions of the package (GIT ranges name commits, which no package database records). */
const VERSION_RANGES = new Set(['ECOSYSTEM', 'SEMVER']);

/** `$GUESTKIT_ADVISORY_DB`, else `advisories.db` in the data directory (`$GUESTKIT_DATA_DIR`, default ./.guestkit as `guestkit serve` uses). */
export function defaultAdvisoryDbPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GUESTKIT_ADVISORY_DB) return resolve(env.GUESTKIT_ADVISORY_DB);
  return resolve(join(env.GUESTKIT_DATA_DIR || './.guestkit', 'advisories.db'));
}

export interface StoredRange {
  type: string;
  events: { introduced?: string; fixed?: string; last_affected?: string; limit?: string }[];
}

export interface AffectedRow {
  advisory_id: string;
  ecosystem: string;
  name: string;
  ranges: StoredRange[];
  versions: string[];
  severity: SeverityLevel;
  severity_source: string | null;
  cvss_score: number | null;
}

export interface AdvisoryRow {
  id: string;
  modified: string;
  published: string | null;
  summary: string | null;
  cves: string[];
  aliases: string[];
  source: string;
  imported_at: string;
}

export interface EcosystemStatus {
  /** Advisories that name a package in these ecosystems. */
  advisories: number;
  /** The newest import that brought advisories for them (ISO time), when any did. */
  imported_at?: string;
}

export type UpsertOutcome = 'inserted' | 'replaced' | 'kept';

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (
  id TEXT PRIMARY KEY,
  modified TEXT NOT NULL,
  modified_ms INTEGER NOT NULL,
  published TEXT,
  withdrawn TEXT,
  summary TEXT,
  cves TEXT NOT NULL,
  aliases TEXT NOT NULL,
  source TEXT NOT NULL,
  imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS affected (
  advisory_id TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  name TEXT NOT NULL,
  ranges TEXT NOT NULL,
  versions TEXT NOT NULL,
  severity TEXT NOT NULL,
  severity_source TEXT,
  cvss_score REAL
);
CREATE INDEX IF NOT EXISTS affected_package ON affected (ecosystem, name);
CREATE INDEX IF NOT EXISTS affected_advisory ON affected (advisory_id);
CREATE TABLE IF NOT EXISTS ecosystems (ecosystem TEXT PRIMARY KEY, imported_at TEXT NOT NULL, advisories INTEGER NOT NULL);
`;

export class AdvisoryDb {
  private readonly stmts;

  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.stmts = {
      modified: db.prepare<[string], { modified_ms: number }>('SELECT modified_ms FROM advisories WHERE id = ?'),
      deleteAffected: db.prepare('DELETE FROM affected WHERE advisory_id = ?'),
      upsert: db.prepare(
        `INSERT INTO advisories (id, modified, modified_ms, published, withdrawn, summary, cves, aliases, source, imported_at)
         VALUES (@id, @modified, @modified_ms, @published, @withdrawn, @summary, @cves, @aliases, @source, @imported_at)
         ON CONFLICT (id) DO UPDATE SET modified = excluded.modified, modified_ms = excluded.modified_ms, published = excluded.published,
           withdrawn = excluded.withdrawn, summary = excluded.summary, cves = excluded.cves, aliases = excluded.aliases,
           source = excluded.source, imported_at = excluded.imported_at`,
      ),
      affected: db.prepare(
        `INSERT INTO affected (advisory_id, ecosystem, name, ranges, versions, severity, severity_source, cvss_score)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      markEcosystem: db.prepare(
        `INSERT INTO ecosystems (ecosystem, imported_at, advisories)
         VALUES (@ecosystem, @at, (SELECT COUNT(DISTINCT advisory_id) FROM affected WHERE ecosystem = @ecosystem))
         ON CONFLICT (ecosystem) DO UPDATE SET imported_at = excluded.imported_at, advisories = excluded.advisories`,
      ),
      lookup: db.prepare<[string, string], Omit<AffectedRow, 'ranges' | 'versions'> & { ranges: string; versions: string }>(
        `SELECT f.advisory_id, f.ecosystem, f.name, f.ranges, f.versions, f.severity, f.severity_source, f.cvss_score
         FROM affected f JOIN advisories a ON a.id = f.advisory_id
         WHERE f.ecosystem = ? AND a.withdrawn IS NULL AND f.name IN (SELECT value FROM json_each(?))`,
      ),
      advisory: db.prepare<[string], Omit<AdvisoryRow, 'cves' | 'aliases'> & { cves: string; aliases: string }>(
        'SELECT id, modified, published, summary, cves, aliases, source, imported_at FROM advisories WHERE id = ?',
      ),
      ecosystemNames: db.prepare<[], { ecosystem: string }>('SELECT ecosystem FROM ecosystems'),
      ecosystem: db.prepare<[string], { imported_at: string; advisories: number }>('SELECT imported_at, advisories FROM ecosystems WHERE ecosystem = ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM advisories'),
      namesOf: db.prepare<[string], { name: string }>('SELECT DISTINCT name FROM affected WHERE advisory_id IN (SELECT value FROM json_each(?)) ORDER BY name'),
      idsFor: db.prepare<[string, string], { id: string }>(
        'SELECT id FROM advisories WHERE withdrawn IS NULL AND (id = ? OR EXISTS (SELECT 1 FROM json_each(cves) WHERE value = ?)) ORDER BY id',
      ),
    };
  }

  /** Opens (and creates, with `create`) the database at `path`; an existing file must be an advisory database. */
  static open(path: string, opts: { create?: boolean } = {}): AdvisoryDb {
    const file = resolve(path);
    if (!opts.create && !existsSync(file)) {
      throw new GuestkitError('NOT_FOUND', `no advisory database at ${file}: import advisories first (guestkit advisories import DIR|FILE.zip)`, {
        details: { path: file },
      });
    }
    if (opts.create) mkdirSync(dirname(file), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file, { readonly: !opts.create, fileMustExist: !opts.create });
      // an import's index pages (100k records: tens of MB) stay in memory until the batch commits
      db.pragma('cache_size = -65536');
      if (opts.create) db.exec(DDL);
      const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema'").get();
      if (!row && opts.create) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
      else if (row?.value !== SCHEMA_VERSION) throw new Error(`schema ${row?.value ?? 'missing'}, expected ${SCHEMA_VERSION}`);
    } catch (err) {
      throw new GuestkitError('VALIDATION_ERROR', `${file} is not a guestkit advisory database (${(err as Error).message})`, {
        phase: 'validation',
        details: { path: file },
        cause: err,
      });
    }
    return new AdvisoryDb(file, db);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction (imports write in batches: one commit per batch, not per record). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * Stores `rec` unless the database holds the same id with a `modified` at least as new.
   * Its affected packages replace the old ones; entries without a package are not kept.
   */
  upsert(rec: OsvRecord, source: string, importedAt: string): { outcome: UpsertOutcome; ecosystems: string[] } {
    const modifiedMs = Date.parse(rec.modified);
    const old = this.stmts.modified.get(rec.id);
    if (old && old.modified_ms >= modifiedMs) return { outcome: 'kept', ecosystems: [] };
    if (old) this.stmts.deleteAffected.run(rec.id);
    this.stmts.upsert.run({
      id: rec.id,
      modified: rec.modified,
      modified_ms: modifiedMs,
      published: rec.published ?? null,
      withdrawn: rec.withdrawn ?? null,
      summary: rec.summary ?? null,
      cves: JSON.stringify(cveIds(rec)),
      aliases: JSON.stringify(rec.aliases ?? []),
      source,
      imported_at: importedAt,
    });
    const ecosystems = new Set<string>();
    for (const a of rec.affected ?? []) {
      if (!a.package) continue;
      const ranges: StoredRange[] = (a.ranges ?? [])
        .filter((r) => VERSION_RANGES.has(r.type))
        .map((r) => ({ type: r.type, events: r.events.map(({ introduced, fixed, last_affected, limit }) => ({ introduced, fixed, last_affected, limit })) }));
      const sev = severityOf(rec, a);
      this.stmts.affected.run(rec.id, a.package.ecosystem, a.package.name, JSON.stringify(ranges), JSON.stringify(a.versions ?? []), sev.level, sev.source ?? null, sev.cvss_score ?? null);
      ecosystems.add(a.package.ecosystem);
    }
    return { outcome: old ? 'replaced' : 'inserted', ecosystems: [...ecosystems] };
  }

  /** Records that `ecosystems` were imported at `at`, with their advisory counts. */
  markImported(ecosystems: Iterable<string>, at: string): void {
    this.transaction(() => {
      for (const e of ecosystems) this.stmts.markEcosystem.run({ ecosystem: e, at });
    });
  }

  /** The ecosystems the database holds advisories for. */
  ecosystems(): string[] {
    return this.stmts.ecosystemNames.all().map((r) => r.ecosystem).sort();
  }

  /** What the database holds for the ecosystems named exactly or by prefix. */
  status(exact: readonly string[], prefixes: readonly string[] = []): EcosystemStatus {
    const names = this.matchingEcosystems(exact, prefixes);
    let advisories = 0;
    let importedAt: string | undefined;
    for (const e of names) {
      const row = this.stmts.ecosystem.get(e);
      if (!row) continue;
      advisories += row.advisories;
      if (!importedAt || row.imported_at > importedAt) importedAt = row.imported_at;
    }
    return importedAt === undefined ? { advisories } : { advisories, imported_at: importedAt };
  }

  matchingEcosystems(exact: readonly string[], prefixes: readonly string[]): string[] {
    const all = this.ecosystems();
    return all.filter((e) => exact.includes(e) || prefixes.some((p) => e.startsWith(p)));
  }

  /** Affected entries of non-withdrawn advisories for any of `names` in `ecosystem`. */
  affected(ecosystem: string, names: readonly string[]): AffectedRow[] {
    return this.stmts.lookup.all(ecosystem, JSON.stringify(names)).map((r) => ({ ...r, ranges: JSON.parse(r.ranges) as StoredRange[], versions: JSON.parse(r.versions) as string[] }));
  }

  advisory(id: string): AdvisoryRow | undefined {
    const r = this.stmts.advisory.get(id);
    return r && { ...r, cves: JSON.parse(r.cves) as string[], aliases: JSON.parse(r.aliases) as string[] };
  }

  /** Ids of the advisories that are `id` or name it as their CVE. */
  advisoryIdsFor(id: string): string[] {
    return this.stmts.idsFor.all(id, id).map((r) => r.id);
  }

  /** The package names (binary or source, as the advisories name them) that advisories `ids` affect. */
  packageNamesOf(ids: readonly string[]): string[] {
    return this.stmts.namesOf.all(JSON.stringify(ids)).map((r) => r.name);
  }

  advisoryCount(): number {
    return this.stmts.count.get()!.n;
  }
}
