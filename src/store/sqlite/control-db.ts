import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GuestkitError } from '../../protocol/errors.js';
import type { AuditLog } from '../../ports/audit-log.js';
import type { StoreUnavailableError } from '../../ports/job-store.js';
import type { TokenStore } from '../../ports/token-store.js';
import { classify, enableWal } from './connection.js';
import { GroupCommit } from './group-commit.js';
import { SqliteAuditLog, type AuditLogOptions } from './sqlite-audit-log.js';
import { SqliteTokenStore, type TokenStoreOptions } from './sqlite-token-store.js';

/**
 * The control plane's own database, `<dataDir>/control.db`: tokens and the audit log. A
 * file of its own so that API bookkeeping never holds the job store's write lock.
 * Versioned (PRAGMA user_version), migrated forward only.
 */
export const CONTROL_SCHEMA_VERSION = 1;

export const CONTROL_MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,
    secret_hash  BLOB NOT NULL,                  -- sha256 of the secret; the secret is never stored
    namespace    TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('viewer','submitter','admin')),
    description  TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX tokens_by_namespace ON tokens(namespace, created_at);

  -- Append-only; rows are never updated or deleted, so a gap or an edit is tampering.
  CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    namespace TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    source_ip TEXT,
    outcome   TEXT NOT NULL,
    status    INTEGER NOT NULL,
    details   TEXT,                              -- JSON, NULL when the entry has none
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  );
  CREATE INDEX audit_log_by_at ON audit_log(at);
  `,
];

/** `<dataDir>/control.db`, a file path ending in .db, or ':memory:'. */
export function controlDbFile(location: string): string {
  return location === ':memory:' || location.endsWith('.db') ? location : join(location, 'control.db');
}

export interface ControlDbOptions {
  /** ms a write waits for another process's lock (the CLI next to a running server). */
  busyTimeoutMs?: number;
}

/**
 * One connection and one group commit shared by the control stores: the writes of one
 * event-loop turn (audit appends, token touches) share a transaction. Closed when the last
 * store using it is closed.
 */
export class ControlDb {
  readonly commits: GroupCommit;
  private readonly committedCbs: (() => void)[] = [];
  private readonly failedCbs: ((err: StoreUnavailableError) => void)[] = [];
  private users = 0;

  private constructor(readonly db: Database.Database, busyTimeoutMs: number) {
    this.commits = new GroupCommit(db, busyTimeoutMs, {
      committed: () => this.committedCbs.forEach((cb) => cb()),
      failed: (err) => this.failedCbs.forEach((cb) => cb(err)),
    });
  }

  static open(location: string, opts: ControlDbOptions = {}): ControlDb {
    const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5_000));
    const file = controlDbFile(location);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      // same settings as the job store (connection.ts): WAL, NORMAL, waits only at start-up
      db.pragma(`busy_timeout = ${busy}`);
      enableWal(db, busy);
      db.pragma('synchronous = NORMAL');
      migrate(db);
      db.pragma('busy_timeout = 0');
    } catch (err) {
      db?.close();
      throw classify('open control.db', err);
    }
    return new ControlDb(db, busy);
  }

  /** Hooks called after each batch commits / fails (the audit chain head follows them). */
  onBatch(committed: () => void, failed: (err: StoreUnavailableError) => void): void {
    this.committedCbs.push(committed);
    this.failedCbs.push(failed);
  }

  /** A store takes a share; release() gives it back. */
  acquire(): this {
    this.users++;
    return this;
  }

  release(): void {
    if (--this.users > 0) return;
    this.commits.close();
    if (this.db.open) this.db.close();
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > CONTROL_SCHEMA_VERSION) {
    throw new GuestkitError('EXECUTION_ERROR', `control.db is at schema version ${current}, newer than this guestkit knows (${CONTROL_SCHEMA_VERSION})`, {
      recoverable: false,
      retryRecommended: false,
    });
  }
  if (current === CONTROL_SCHEMA_VERSION) return;
  db.transaction(() => {
    // re-read under the write lock: another process may have migrated meanwhile
    const v = db.pragma('user_version', { simple: true }) as number;
    for (let i = v; i < CONTROL_MIGRATIONS.length; i++) db.exec(CONTROL_MIGRATIONS[i]!);
    db.pragma(`user_version = ${CONTROL_SCHEMA_VERSION}`);
  }).immediate();
}

export interface ControlStores {
  tokens: TokenStore;
  audit: AuditLog;
  /** Closes both stores (and the shared connection). */
  close(): Promise<void>;
}

/** Opens `<dataDir>/control.db` once for the token store and the audit log. */
export function openControlStores(location: string, opts: ControlDbOptions & TokenStoreOptions & AuditLogOptions = {}): ControlStores {
  const cdb = ControlDb.open(location, opts);
  const tokens = new SqliteTokenStore(cdb.acquire(), opts);
  const audit = new SqliteAuditLog(cdb.acquire(), opts);
  return {
    tokens,
    audit,
    close: async () => {
      await audit.close();
      await tokens.close();
    },
  };
}
