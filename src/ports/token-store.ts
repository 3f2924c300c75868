import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { GuestkitError } from '../protocol/errors.js';

/** Roles in rising order: each may do what the ones before it may. */
export const ROLES = ['viewer', 'submitter', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A token as stored: never its secret, only the secret's hash (kept inside the adapter). */
export interface TokenRecord {
  /** 12 characters [a-z0-9]; the middle part of `gk_<id>_<secret>`. */
  id: string;
  /** The token's namespace (an admin's own; admins see every namespace). */
  namespace: string;
  role: Role;
  description: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  /** Updated at most once a minute per token. */
  lastUsedAt: number | null;
}

export interface CreateTokenInput {
  namespace: string;
  role: Role;
  /** ms since epoch; null or absent = never. */
  expiresAt?: number | null;
  description?: string;
}

/**
 * API tokens. Adapters pass the contract suite in test/store/token-store.test.ts. `verify`
 * is on every request's path: adapters may cache, but a revoke through the same object
 * takes effect at once (one through another process within the cache's few seconds).
 */
export interface TokenStore {
  /** The token text is returned here only: it cannot be shown again. */
  create(input: CreateTokenInput): Promise<{ token: string; record: TokenRecord }>;
  /**
   * Stores a token whose text the operator chose (e.g. from a Kubernetes Secret). Idempotent:
   * when the same token is stored already, its record is returned as it is (role, namespace
   * and revocation untouched) and `created` is false, also when several processes adopt it at
   * once. A malformed token is VALIDATION_ERROR (field `token`); an id already held by another
   * secret is INVALID_STATE (HTTP 409, details.reason `conflict`).
   */
  adopt(token: string, input: CreateTokenInput): Promise<{ record: TokenRecord; created: boolean }>;
  get(id: string): Promise<TokenRecord | undefined>;
  /** Newest first; every namespace when none is given. */
  list(query?: { namespace?: string }): Promise<TokenRecord[]>;
  /** true when this call revoked it; false when there is no such token or it was revoked already. */
  revoke(id: string): Promise<boolean>;
  /** The live record of a presented token; otherwise throws unauthenticated(reason). */
  verify(token: string): Promise<TokenRecord>;
  close(): Promise<void>;
}

export type AuthFailureReason = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export function unauthenticated(reason: AuthFailureReason, message: string): GuestkitError {
  return new GuestkitError('UNAUTHENTICATED', message, { details: { reason } });
}

// --- token text: gk_<id>_<secret>, shared by every adapter ---

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_RE = /^gk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const NAMESPACE_RE = /^[^\s\p{Cc}]{1,128}$/u;
export const MAX_DESCRIPTION = 500;

export function newTokenId(): string {
  let id = '';
  for (let i = 0; i < 12; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** A fresh token: its text and what is stored of its secret. */
export function newToken(id: string): { token: string; secretHash: Buffer } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `gk_${id}_${secret}`, secretHash: hashSecret(secret) };
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The parts of a well-formed token (the secret may itself contain "_"), or undefined. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** A fresh well-formed token text, not stored anywhere (an operator adopts it later). */
export function generateToken(): string {
  return newToken(newTokenId()).token;
}

/** The parts of a token to adopt; VALIDATION_ERROR (field `token`) when it is malformed. Never echoes the text. */
export function checkAdoptToken(token: unknown): { id: string; secret: string } {
  const parts = typeof token === 'string' ? parseToken(token) : undefined;
  if (!parts) throw new GuestkitError('VALIDATION_ERROR', 'token must be of the form gk_<12 characters a-z0-9>_<43 characters A-Za-z0-9_-> (make one with guestkit token generate)', { details: { field: 'token' } });
  return parts;
}

/** The id is taken by a token with another secret. */
export function adoptConflict(id: string): GuestkitError {
  return new GuestkitError('INVALID_STATE', `token id ${id} is already held by another token (a different secret)`, { details: { reason: 'conflict', id } });
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secret: string, stored: Buffer): boolean {
  const h = hashSecret(secret);
  return stored.length === h.length && timingSafeEqual(stored, h);
}

/** Validates a create request (VALIDATION_ERROR naming the field); returns it normalised. */
export function checkCreateInput(input: CreateTokenInput, now: number): Pick<TokenRecord, 'namespace' | 'role' | 'expiresAt' | 'description'> {
  const bad = (field: string, message: string) => new GuestkitError('VALIDATION_ERROR', `${field} ${message}`, { details: { field } });
  if (typeof input.namespace !== 'string' || !NAMESPACE_RE.test(input.namespace)) {
    throw bad('namespace', 'must be 1 to 128 characters without spaces or control characters');
  }
  if (!(ROLES as readonly string[]).includes(input.role)) throw bad('role', `must be one of ${ROLES.join(', ')}`);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
    throw bad('expiresAt', 'must be a time in the future (ms since epoch) or null');
  }
  const description = input.description ?? null;
  if (description !== null && (typeof description !== 'string' || description.length > MAX_DESCRIPTION)) {
    throw bad('description', `must be text of at most ${MAX_DESCRIPTION} characters`);
  }
  return { namespace: input.namespace, role: input.role, expiresAt, description };
}

/** Why a record that matched its secret is still refused, or undefined when it is live. */
export function refusal(rec: TokenRecord, now: number): GuestkitError | undefined {
  if (rec.revokedAt !== null) return unauthenticated('revoked', `token ${rec.id} was revoked`);
  if (rec.expiresAt !== null && rec.expiresAt <= now) return unauthenticated('expired', `token ${rec.id} has expired`);
  return undefined;
}
