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
