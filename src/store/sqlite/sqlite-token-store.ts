import type Database from 'better-sqlite3';
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
import { classify, sqliteCode } from './connection.js';
import type { ControlDb } from './control-db.js';

export interface TokenStoreOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** How long a verified token is trusted without a read (revokes by another process wait this long). */
  cacheTtlMs?: number;
}


/** Tokens in control.db. Reads are direct; writes go through the shared group commit. */
export class SqliteTokenStore implements TokenStore {
  private readonly now: () => number;
  private readonly cache: TokenCache;
  private readonly s: ReturnType<typeof prepare>;
  private closed = false;

  constructor(private readonly cdb: ControlDb, opts: TokenStoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.cache = new TokenCache(Math.max(0, opts.cacheTtlMs ?? 5_000));
    this.s = prepare(cdb.db);
  }

  async create(input: CreateTokenInput): Promise<{ token: string; record: TokenRecord }> {
    const now = this.now();
    const v = checkCreateInput(input, now);
    return this.cdb.commits.run('token.create', () => {
      for (let tries = 0; ; tries++) {
        const id = newTokenId();
        const { token, secretHash } = newToken(id);
        try {
          this.s.insert.run(id, secretHash, v.namespace, v.role, v.description, now, v.expiresAt);
        } catch (err) {
          // 36^12 ids: a clash is next to impossible, but costs only another draw
          if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY' && tries < 3) continue;
          throw err;
        }
        const record: TokenRecord = { id, ...v, createdAt: now, revokedAt: null, lastUsedAt: null };
        return { token, record };
      }
    });
  }

  async adopt(token: string, input: CreateTokenInput): Promise<{ record: TokenRecord; created: boolean }> {
    const { id, secret } = checkAdoptToken(token);
    const now = this.now();
    const v = checkCreateInput(input, now);
    const secretHash = hashSecret(secret);
    return this.cdb.commits.run('token.adopt', () => {
      // ON CONFLICT: another process adopting the same token at once leaves one row, no error
      const created = this.s.adopt.run(id, secretHash, v.namespace, v.role, v.description, now, v.expiresAt).changes > 0;
      const row = this.s.byId.get(id) as TokenRow;
      if (!secretMatches(secret, row.secret_hash)) throw adoptConflict(id);
      return { record: toRecord(row), created };
    });
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const row = this.read('token.get', () => this.s.byId.get(id) as TokenRow | undefined);
    return row && toRecord(row);
  }

  async list(query: { namespace?: string } = {}): Promise<TokenRecord[]> {
    const rows = this.read('token.list', () =>
      (query.namespace === undefined ? this.s.all.all() : this.s.inNamespace.all(query.namespace)) as TokenRow[],
    );
    return rows.map(toRecord);
  }

  async revoke(id: string): Promise<boolean> {
    this.cache.forget(id);
    const now = this.now();
    const changed = await this.cdb.commits.run('token.revoke', () => this.s.revoke.run(now, id).changes > 0);
    // a verify between the call and the commit may have cached the live row again
    this.cache.forget(id);
    return changed;
  }

  async verify(token: string): Promise<TokenRecord> {
    const parts = typeof token === 'string' ? parseToken(token) : undefined;
    if (!parts) throw unauthenticated('malformed', 'the token is not of the form gk_<id>_<secret>');
    const now = this.now();
    const c = this.lookup(parts.id, now);
    if (!c || !secretMatches(parts.secret, c.secretHash)) throw unauthenticated('unknown', 'unknown token');
    const refused = refusal(c.record, now);
    if (refused) throw refused;
    this.touch(c, now);
    return { ...c.record };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.cdb.release();
  }

  private lookup(id: string, now: number): Cached | undefined {
    return this.cache.fresh(id, now) ?? this.cache.remember(id, this.read('token.verify', () => this.s.byId.get(id) as TokenRow | undefined), now);
  }

  /** lastUsedAt at most once a minute; a failed write only means the next use tries again. */
  private touch(c: Cached, now: number): void {
    if (!this.cache.touchDue(c, now)) return;
    const id = c.record.id;
    this.cdb.commits.run('token.touch', () => this.s.touch.run(now, id, now)).catch(() => this.cache.touchFailed(id, now));
  }

  private read<T>(op: string, fn: () => T): T {
    if (this.closed) throw new GuestkitError('EXECUTION_ERROR', 'the token store is closed');
    try {
      return fn();
    } catch (err) {
      throw classify(op, err);
    }
  }
}

function prepare(db: Database.Database) {
  return {
    insert: db.prepare('INSERT INTO tokens (id, secret_hash, namespace, role, description, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    adopt: db.prepare('INSERT INTO tokens (id, secret_hash, namespace, role, description, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'),
    byId: db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`),
    all: db.prepare(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at DESC, id`),
    inNamespace: db.prepare(`SELECT ${COLUMNS} FROM tokens WHERE namespace = ? ORDER BY created_at DESC, id`),
    revoke: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    // never moves lastUsedAt backwards (another process may have written a later use)
    touch: db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
  };
}
