import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StoreUnavailableError } from '../../ports/job-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

/**
 * SQLite results that mean "the database cannot take this write now" (lock held past the
 * busy timeout, disk full, read-only file, I/O error), as opposed to a wrong statement.
 */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL|NOMEM|CORRUPT|NOTADB|PERM|AUTH)/;

export function sqliteCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' && c.startsWith('SQLITE_') ? c : undefined;
}

/** A storage-level failure becomes StoreUnavailableError; anything else (a bug, an illegal edge) is returned as is. */
export function classify(op: string, err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = sqliteCode(err);
  if (code === undefined || !UNAVAILABLE_CODES.test(code)) return err;
  return new StoreUnavailableError(op, code, err);
}

/** `<dataDir>/guestkit.db`, a file path ending in .db, or ':memory:'. */
export function databaseFile(location: string): string {
  return location === ':memory:' || location.endsWith('.db') ? location : join(location, 'guestkit.db');
}

/**
 * Opens and migrates the database: WAL, synchronous=NORMAL (a power cut may lose the last
 * commits but never corrupts; a process crash loses nothing). The connection itself never
 * waits for locks (busy_timeout 0): the group commit waits without blocking the event loop.
 */
export function openDatabase(location: string, busyTimeoutMs: number): Database.Database {
  const file = databaseFile(location);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  // opening and migrating may wait for another worker's lock (start-up only)
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  enableWal(db, busyTimeoutMs);
  db.pragma('synchronous = NORMAL');
  // sorts and temporary b-trees of listings in memory, not in a temp file per statement
  db.pragma('temp_store = MEMORY');
  migrate(db);
  db.pragma('busy_timeout = 0');
  return db;
}

/**
 * `journal_mode = WAL`, retried while another process converts the same new file: two
 * connections converting at once deadlock, and SQLite then answers SQLITE_BUSY at once
 * instead of calling the busy handler. Start-up only, so the short sleeps may block.
 */
export function enableWal(db: Database.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let delay = 2; ; delay = Math.min(100, delay * 2)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if (sqliteCode(err) !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Atomics.wait(pause, 0, 0, delay + Math.random() * delay);
    }
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= SCHEMA_VERSION) return;
  db.transaction(() => {
    // re-read under the write lock: another worker may have migrated meanwhile
    const v = db.pragma('user_version', { simple: true }) as number;
    for (let i = v; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
