/**
 * `guestkit advisories import`: OSV records from files into the advisory database. A record
 * replaces the stored one with its id only when its `modified` is newer. A file that is not
 * JSON, or a record the schema refuses, is counted and named in the summary; the import goes on.
 */
import { AdvisoryDb } from './db.js';
import { parseOsvRecord } from './osv.js';
import { advisoryFiles } from './sources.js';

/** Records written per transaction: one commit per batch keeps a 100k-record import to seconds. */
const BATCH = 2000;
/** Malformed entries listed by name in the summary (all are counted). */
const MAX_LISTED = 50;

export interface MalformedEntry {
  file: string;
  id?: string;
  error: string;
}

export interface ImportSummary {
  db: string;
  source: string;
  imported_at: string;
  files: number;
  records: number;
  inserted: number;
  replaced: number;
  /** Records whose stored copy is as new or newer. */
  kept: number;
  malformed: number;
  malformed_entries: MalformedEntry[];
  /** Ecosystems the import brought advisories for. */
  ecosystems: string[];
}

interface Pending {
  file: string;
  value: unknown;
}

export interface ImportOptions {
  /** The import time recorded (default now); tests age a database with it. */
  now?: Date;
}

export async function importAdvisories(db: AdvisoryDb, source: string, opts: ImportOptions = {}): Promise<ImportSummary> {
  const importedAt = (opts.now ?? new Date()).toISOString();
  const s: ImportSummary = { db: db.path, source, imported_at: importedAt, files: 0, records: 0, inserted: 0, replaced: 0, kept: 0, malformed: 0, malformed_entries: [], ecosystems: [] };
  const ecosystems = new Set<string>();
  const bad = (e: MalformedEntry) => {
    s.malformed++;
    if (s.malformed_entries.length < MAX_LISTED) s.malformed_entries.push(e);
  };
  let batch: Pending[] = [];
  const flush = () => {
    const items = batch;
    batch = [];
    db.transaction(() => {
      for (const { file, value } of items) {
        const parsed = parseOsvRecord(value);
        if (!parsed.ok) {
          bad(parsed.id === undefined ? { file, error: parsed.error } : { file, id: parsed.id, error: parsed.error });
          continue;
        }
        const r = db.upsert(parsed.record, file, importedAt);
        s[r.outcome]++;
        for (const e of r.ecosystems) ecosystems.add(e);
      }
    });
  };
  for await (const f of advisoryFiles(source)) {
    s.files++;
    if (f.error !== undefined || !f.bytes) {
      bad({ file: f.name, error: f.error ?? 'unreadable' });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(f.bytes.toString('utf8'));
    } catch (err) {
      bad({ file: f.name, error: `not JSON: ${(err as Error).message}` });
      continue;
    }
    // a file holds one record, or an array of them (osv.dev's query answers, hand-made bundles)
    const values = Array.isArray(value) ? value : [value];
    s.records += values.length;
    for (const v of values) batch.push({ file: f.name, value: v });
    if (batch.length >= BATCH) flush();
  }
  flush();
  db.markImported(ecosystems, importedAt);
  s.ecosystems = [...ecosystems].sort();
  return s;
}
