import type pg from 'pg';
import { COLUMNS, TokenCache, toRecord, type Cached, type TokenRow } from '../token-rows.js';
import { GuestkitError } from '../../protocol/errors.js';
import {
  adoptConflict,
  checkAdoptToken,
  checkCreateInput,
  hashSecret,
  newToken,
  newTokenId,
  parseToken,
  refusal,
  secretMatches,
  unauthenticated,
  type CreateTokenInput,
  type TokenRecord,
  type TokenStore,
} from '../../ports/token-store.js';
import { classifyPg, pgFailure } from './connection.js';
import type { PgControlDb } from './pg-control-db.js';

export interface PgTokenStoreOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** How long a verified token is trusted without a read (revokes by another process wait this long). */
  cacheTtlMs?: number;
  /** ms a read keeps retrying while the database is away (default 5,000). */
  retryMs?: number;
}


/**
 * API tokens in PostgreSQL, shared by every API process of a cluster. Verified tokens are
 * cached for `cacheTtlMs` (a revoke through this object is at once, through another
 * process within the TTL); lastUsedAt is written at most once a minute per token.
 */
export class PgTokenStore implements TokenStore {
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly cache: TokenCache;
  private readonly touches = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly db: PgControlDb,
    opts: PgTokenStoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.cache = new TokenCache(Math.max(0, opts.cacheTtlMs ?? 5_000));
    this.retryMs = Math.max(0, opts.retryMs ?? 5_000);
  }

  async create(input: CreateTokenInput): Promise<{ token: string; record: TokenRecord }> {
    const now = this.now();
    const v = checkCreateInput(input, now);
    this.open();
    for (let tries = 0; ; tries++) {
      const id = newTokenId();
      const { token, secretHash } = newToken(id);
      try {
        // not retried after a lost connection: a row that did commit is a token nobody holds
        await this.db.pool.query('INSERT INTO tokens (id, secret_hash, namespace, role, description, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          id,
          secretHash,
          v.namespace,
          v.role,
          v.description,
          now,
          v.expiresAt,
        ]);
      } catch (err) {
        // 36^12 ids: a clash is next to impossible, but costs only another draw
        if ((err as { code?: string }).code === '23505' && tries < 3) continue;
        throw classifyPg('token.create', err);
      }
      return { token, record: { id, ...v, createdAt: now, revokedAt: null, lastUsedAt: null } };
    }
  }

  async adopt(token: string, input: CreateTokenInput): Promise<{ record: TokenRecord; created: boolean }> {
    const { id, secret } = checkAdoptToken(token);
    const now = this.now();
    const v = checkCreateInput(input, now);
    this.open();
    let created: boolean;
    try {
      // ON CONFLICT DO NOTHING: API pods starting together with one Secret leave one row, and
      // a retry after a lost connection is harmless (unlike create's)
      const r = await this.db.pool.query(
        'INSERT INTO tokens (id, secret_hash, namespace, role, description, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING',
        [id, hashSecret(secret), v.namespace, v.role, v.description, now, v.expiresAt],
      );
      created = (r.rowCount ?? 0) > 0;
    } catch (err) {
      throw classifyPg('token.adopt', err);
    }
    const row = (await this.read<TokenRow>('token.adopt', `SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]))[0];
    if (!row) throw new GuestkitError('EXECUTION_ERROR', `token ${id} vanished right after it was stored`);
    if (!secretMatches(secret, row.secret_hash)) throw adoptConflict(id);
    return { record: toRecord(row), created };
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const rows = await this.read<TokenRow>('token.get', `SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(query: { namespace?: string } = {}): Promise<TokenRecord[]> {
    const rows =
      query.namespace === undefined
        ? await this.read<TokenRow>('token.list', `SELECT ${COLUMNS} FROM tokens ORDER BY created_at DESC, id`, [])
        : await this.read<TokenRow>('token.list', `SELECT ${COLUMNS} FROM tokens WHERE namespace = $1 ORDER BY created_at DESC, id`, [query.namespace]);
    return rows.map(toRecord);
  }

  async revoke(id: string): Promise<boolean> {
    this.open();
    this.cache.forget(id);
    let changed: boolean;
    try {
      changed = ((await this.db.pool.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [this.now(), id])).rowCount ?? 0) > 0;
    } catch (err) {
      throw classifyPg('token.revoke', err);
    }
    // a verify between the call and the commit may have cached the live row again
    this.cache.forget(id);
    return changed;
  }

  async verify(token: string): Promise<TokenRecord> {
    const parts = typeof token === 'string' ? parseToken(token) : undefined;
    if (!parts) throw unauthenticated('malformed', 'the token is not of the form gk_<id>_<secret>');
    const now = this.now();
    const c = await this.lookup(parts.id, now);
    if (!c || !secretMatches(parts.secret, c.secretHash)) throw unauthenticated('unknown', 'unknown token');
    const refused = refusal(c.record, now);
    if (refused) throw refused;
    this.touch(c, now);
    return { ...c.record };
  }

  /** Waits for lastUsedAt writes in flight, then lets go of the connection pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.touches]);
    this.cache.clear();
    await this.db.release();
  }

  private async lookup(id: string, now: number): Promise<Cached | undefined> {
    const hit = this.cache.fresh(id, now);
    if (hit) return hit;
    const row = (await this.read<TokenRow>('token.verify', `SELECT ${COLUMNS} FROM tokens WHERE id = $1`, [id]))[0];
    return this.cache.remember(id, row, now);
  }

  /** lastUsedAt at most once a minute; a failed write only means the next use tries again. */
  private touch(c: Cached, now: number): void {
    if (!this.cache.touchDue(c, now)) return;
    const id = c.record.id;
    // never moves lastUsedAt backwards (another process may have written a later use)
    const p = this.db.pool
      .query('UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [now, id])
      .catch(() => this.cache.touchFailed(id, now))
      .finally(() => this.touches.delete(p));
    this.touches.add(p);
  }

  private open(): void {
    if (this.closed) throw new GuestkitError('EXECUTION_ERROR', 'the token store is closed');
  }

  /** Reads are retried while the database is away (restart, failover), up to retryMs. */
  private async read<R extends pg.QueryResultRow>(op: string, sql: string, params: unknown[]): Promise<R[]> {
    this.open();
    const deadline = Date.now() + this.retryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.db.pool.query<R>(sql, params)).rows;
      } catch (err) {
        if (pgFailure(err).kind === 'bug' || Date.now() >= deadline) throw classifyPg(op, err);
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt)));
      }
    }
  }
}
