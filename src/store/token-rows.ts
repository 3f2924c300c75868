import type { Role, TokenRecord } from '../ports/token-store.js';

/** The tokens table's row and what every SQL adapter of the token store shares. */
export interface TokenRow {
  id: string;
  secret_hash: Buffer;
  namespace: string;
  role: Role;
  description: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** A verified token kept for a few seconds (a revoke through the same store drops it). */
export interface Cached {
  record: TokenRecord;
  secretHash: Buffer;
  readAt: number;
}

/** last_used_at is written at most this often per token. */
export const TOUCH_EVERY_MS = 60_000;
export const CACHE_MAX = 10_000;
export const COLUMNS = 'id, secret_hash, namespace, role, description, created_at, expires_at, revoked_at, last_used_at';

export const toRecord = (r: TokenRow): TokenRecord => ({
  id: r.id,
  namespace: r.namespace,
  role: r.role,
  description: r.description,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

/**
 * The verified-token cache every token store keeps: a token read within the ttl is trusted
 * without a read; `lastUsedAt` is written at most once a minute per token.
 */
export class TokenCache {
  private readonly entries = new Map<string, Cached>();
  /** When lastUsedAt was last written per token (so a busy token costs one write a minute). */
  private readonly touched = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  /** The cached token when it was read within the ttl. */
  fresh(id: string, now: number): Cached | undefined {
    const hit = this.entries.get(id);
    return hit && now - hit.readAt < this.ttlMs && now >= hit.readAt ? hit : undefined;
  }

  /** Keeps what a read found; no row forgets the id. */
  remember(id: string, row: TokenRow | undefined, now: number): Cached | undefined {
    this.entries.delete(id); // re-insert: Map order is the eviction order
    if (!row) return undefined;
    const c: Cached = { record: toRecord(row), secretHash: row.secret_hash, readAt: now };
    const t = this.touched.get(id);
    if (t !== undefined && (c.record.lastUsedAt ?? -Infinity) < t) c.record.lastUsedAt = t;
    this.entries.set(id, c);
    if (this.entries.size > CACHE_MAX) this.entries.delete(this.entries.keys().next().value!);
    return c;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Whether this use's time is due to be written; if so it counts as written (see touchFailed). */
  touchDue(c: Cached, now: number): boolean {
    const last = this.touched.get(c.record.id) ?? c.record.lastUsedAt ?? -Infinity;
    if (now - last < TOUCH_EVERY_MS) return false;
    this.touched.set(c.record.id, now);
    c.record.lastUsedAt = now;
    return true;
  }

  /** The write of `now` failed: the next use tries again. */
  touchFailed(id: string, now: number): void {
    if (this.touched.get(id) === now) this.touched.delete(id);
  }
}
