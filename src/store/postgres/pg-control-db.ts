import type pg from 'pg';
import type { AuditLog } from '../../ports/audit-log.js';
import type { TokenStore } from '../../ports/token-store.js';
import { createPool, migrate, type PgConnectOptions } from './connection.js';
import { PgAuditLog, type PgAuditLogOptions } from './pg-audit-log.js';
import { PgTokenStore, type PgTokenStoreOptions } from './pg-token-store.js';

/**
 * The control plane's tables in PostgreSQL (tokens and the audit log), versioned in
 * gk_migrations as component `control`, beside the job store's (a schema of their own is
 * fine too). The audit chain's head is a row of its own: appends of every process lock it,
 * so the chain has one order across a cluster, and deleting the newest entries leaves a
 * gap that verify reports.
 */
export const PG_CONTROL_MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE tokens (
    id           text COLLATE "C" PRIMARY KEY,
    secret_hash  bytea NOT NULL,                 -- sha256 of the secret; the secret is never stored
    namespace    text NOT NULL,
    role         text NOT NULL CHECK (role IN ('viewer','submitter','admin')),
    description  text,
    created_at   bigint NOT NULL,
    expires_at   bigint,
    revoked_at   bigint,
    last_used_at bigint
  );
  CREATE INDEX tokens_by_namespace ON tokens (namespace, created_at);

  -- Append-only; rows are never updated or deleted, so a gap or an edit is tampering.
  CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        bigint NOT NULL,
    actor     text NOT NULL,
    role      text NOT NULL,
    namespace text,
    action    text NOT NULL,
    target    text,
    source_ip text,
    outcome   text NOT NULL,
    status    integer NOT NULL,
    details   text,                              -- JSON exactly as hashed, NULL when the entry has none
    prev_hash text NOT NULL,
    hash      text NOT NULL
  );
  CREATE INDEX audit_log_by_at ON audit_log (at);

  CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text NOT NULL
  );
  INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');
  `,
];

export interface PgControlOptions extends Omit<PgConnectOptions, 'url'>, PgTokenStoreOptions, PgAuditLogOptions {}

/** One pool shared by the control stores, ended with the last of them. */
export class PgControlDb {
  private users = 0;
  private constructor(readonly pool: pg.Pool) {}

  static async open(url: string, opts: Omit<PgConnectOptions, 'url'> = {}): Promise<PgControlDb> {
    const pool = createPool({ maxConnections: 4, ...opts, url });
    try {
      await migrate(pool, opts.schema, { component: 'control', migrations: PG_CONTROL_MIGRATIONS });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return new PgControlDb(pool);
  }

  acquire(): this {
    this.users++;
    return this;
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    await this.pool.end();
  }
}

export interface PgControlStores {
  tokens: TokenStore;
  audit: AuditLog;
  close(): Promise<void>;
}

export async function openPgControlStores(url: string, opts: PgControlOptions = {}): Promise<PgControlStores> {
  const db = await PgControlDb.open(url, opts);
  const tokens = new PgTokenStore(db.acquire(), opts);
  const audit = await PgAuditLog.create(db.acquire(), opts);
  return {
    tokens,
    audit,
    close: async () => {
      await audit.close();
      await tokens.close();
    },
  };
}
