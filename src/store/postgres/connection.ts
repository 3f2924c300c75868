import pg from 'pg';
import { GuestkitError } from '../../protocol/errors.js';
import { StoreUnavailableError } from '../../ports/job-store.js';

export interface PgConnectOptions {
  /** postgres://user:pass@host:port/db (any libpq-style connection string). */
  url: string;
  /**
   * The PostgreSQL schema to keep the tables in (created when missing); unset: the
   * connection's default search_path (normally `public`). Lower-case letters, digits and _ only.
   */
  schema?: string;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** ms to wait for a connection (default 5,000). */
  connectTimeoutMs?: number;
  applicationName?: string;
}

const INT8 = 20;

/** A pool whose bigint columns (ms times, counts) come back as numbers, not strings. */
export function createPool(o: PgConnectOptions): pg.Pool {
  if (o.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(o.schema)) {
    throw new GuestkitError('VALIDATION_ERROR', `postgres schema name ${JSON.stringify(o.schema)} is not allowed (lower-case letters, digits, _)`, { phase: 'validation' });
  }
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.maxConnections ?? 10,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: o.applicationName ?? 'guestkit',
    ...(o.schema !== undefined ? { options: `-c search_path=${o.schema}` } : {}),
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // an idle connection cut by the server (restart, pg_terminate_backend) must not crash the
  // process: the pool drops it, and the next query takes a new one
  pool.on('error', () => undefined);
  // nor one cut while checked out between two queries (pg-pool listens only while idle):
  // the next query on it fails, and that failure is handled
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** SQLSTATE classes and codes meaning "the database cannot do this now", reported by a live server (the statement was rolled back). */
const TRANSIENT_CODES = /^(40001|40P01|55P03|57014|57P03|25006|53...|58...|XX001|XX002|08...)$/;

/** Node-level errors of a connection that could not be made or broke. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ENOENT']);
const SOCKET_MESSAGES = /Connection terminated|connection error|Connection ended|not queryable|timeout exceeded when trying to connect|Client was closed|Query read timeout|connection timeout|Cannot use a pool after calling end/i;

export type PgFailure =
  /** A wrong statement or a bug: the caller's error, not the store's. */
  | { kind: 'bug' }
  /** The server refused the statement for a reason that passes (deadlock, disk full…): rolled back, safe to retry. */
  | { kind: 'transient'; code: string }
  /** The connection broke (or the server ended the session): a write may or may not have committed. */
  | { kind: 'lost'; code: string };

export function pgFailure(err: unknown): PgFailure {
  if (err instanceof StoreUnavailableError) return { kind: 'transient', code: err.storeCode };
  const e = err as { code?: unknown; severity?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const sqlstate = code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  if (sqlstate) {
    // FATAL/PANIC: the server ended the session (admin shutdown, crash): whatever ran is in doubt
    if (e?.severity === 'FATAL' || e?.severity === 'PANIC' || /^57P0[12]$/.test(sqlstate)) return { kind: 'lost', code: sqlstate };
    return TRANSIENT_CODES.test(sqlstate) ? { kind: 'transient', code: sqlstate } : { kind: 'bug' };
  }
  if ((code && SOCKET_CODES.has(code)) || (typeof e?.message === 'string' && SOCKET_MESSAGES.test(e.message))) {
    return { kind: 'lost', code: code ?? 'CONNECTION_LOST' };
  }
  return { kind: 'bug' };
}

/** A storage-level failure becomes StoreUnavailableError; anything else is returned as is. */
export function classifyPg(op: string, err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const f = pgFailure(err);
  return f.kind === 'bug' ? err : new StoreUnavailableError(op, f.code, err);
}

export interface Migration {
  /** The set of tables the versions belong to (`jobs`, `control`). */
  component: string;
  migrations: readonly string[];
}

/**
 * Runs the missing migrations of a component under a session advisory lock, each version
 * in its own transaction: processes opening the store at once migrate it once, the
 * others wait and find it done. A database newer than this code is refused.
 */
export async function migrate(pool: pg.Pool, schema: string | undefined, m: Migration): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock(1735289451, hashtext($1))', [`guestkit:${schema ?? ''}:${m.component}`]);
    try {
      if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS gk_migrations (
          component  text NOT NULL,
          version    integer NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (component, version))`);
      const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0)::integer AS v FROM gk_migrations WHERE component = $1', [m.component]);
      const current = rows[0]!.v;
      if (current > m.migrations.length) {
        throw new GuestkitError('EXECUTION_ERROR', `the PostgreSQL ${m.component} schema is at version ${current}, newer than this guestkit knows (${m.migrations.length})`, {
          recoverable: false,
          retryRecommended: false,
        });
      }
      for (let v = current + 1; v <= m.migrations.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(m.migrations[v - 1]!);
          await client.query('INSERT INTO gk_migrations (component, version) VALUES ($1, $2)', [m.component, v]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
      return m.migrations.length - current;
    } finally {
      await client.query('SELECT pg_advisory_unlock(1735289451, hashtext($1))', [`guestkit:${schema ?? ''}:${m.component}`]).catch((err: Error) => {
        broken = err; // a session lock dies with its connection: drop this one
      });
    }
  } catch (err) {
    broken = err as Error;
    throw classifyPg(`migrate ${m.component}`, err);
  } finally {
    client.release(broken);
  }
}
