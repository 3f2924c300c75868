import { createHash } from 'node:crypto';
import { GuestkitError } from '../protocol/errors.js';

export const AUDIT_OUTCOMES = ['ok', 'denied', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** What a caller records: one entry per mutating call (or refused attempt). */
export interface AuditInput {
  actor: string;
  /** The caller's role; a caller that could not be authenticated has none of the token roles. */
  role: string;
  namespace: string | null;
  /** e.g. job.submit, job.cancel, token.create */
  action: string;
  target: string | null;
  sourceIp: string | null;
  outcome: AuditOutcome;
  /** The HTTP status answered; 0 for an action outside HTTP (the CLI). */
  status: number;
  details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditInput {
  /** 1, 2, 3 … in commit order, without gaps. */
  seq: number;
  /** ms since epoch. */
  at: number;
  prevHash: string;
  hash: string;
}

export interface AuditPage {
  items: AuditEntry[];
  /** Pass as `cursor` for the next (older) page. */
  next?: string;
}

export type AuditVerdict = { ok: true; entries: number } | { ok: false; entries: number; brokenAt: number; reason: string };

/**
 * The append-only, hash-chained audit log. Adapters pass the contract suite in
 * test/store/audit-log.test.ts. `append` resolves once the entry is durable; storage
 * failures reject with StoreUnavailableError and leave the chain as it was. The chain shows
 * edits and gaps; dropping the newest entries shows only against a head hash kept elsewhere.
 */
export interface AuditLog {
  append(input: AuditInput): Promise<AuditEntry>;
  /** Newest first; `limit` 1..1000 (default 100); `from`/`to` bound `at` (ms, inclusive). */
  list(query?: { limit?: number; cursor?: string; from?: number; to?: number }): Promise<AuditPage>;
  /** Recomputes the whole chain; names the first entry that breaks it. */
  verify(): Promise<AuditVerdict>;
  close(): Promise<void>;
}

export const GENESIS_HASH = '0'.repeat(64);
export const DEFAULT_AUDIT_PAGE = 100;
export const MAX_AUDIT_PAGE = 1000;

/** The JSON form (docs/api.md "Audit entries"); `details` only when the entry has some. */
export function toJson(e: AuditEntry): Record<string, unknown> {
  return { ...unhashed(e), hash: e.hash };
}

/** The JSON form without `hash`: what the hash covers, so a client can check entries it fetched. */
function unhashed(e: Omit<AuditEntry, 'hash'>): Record<string, unknown> {
  const out: Record<string, unknown> = {
    seq: e.seq,
    at: new Date(e.at).toISOString(),
    actor: e.actor,
    role: e.role,
    namespace: e.namespace,
    action: e.action,
    target: e.target,
    source_ip: e.sourceIp,
    outcome: e.outcome,
    status: e.status,
    prev_hash: e.prevHash,
  };
  if (e.details !== undefined) out.details = e.details;
  return out;
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** sha256(prev_hash + "\n" + canonical JSON of the entry without hash), lowercase hex. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(`${e.prevHash}\n${canonicalJson(unhashed(e))}`).digest('hex');
}

/**
 * Checks an input and returns it as it will be stored: details pass through JSON once so
 * that what is hashed now is exactly what a re-read parses (no undefined, Dates, NaN).
 */
export function normaliseInput(input: AuditInput): AuditInput {
  const bad = (field: string) => new GuestkitError('VALIDATION_ERROR', `audit entry: bad ${field}`, { details: { field } });
  for (const f of ['actor', 'role', 'action'] as const) if (typeof input[f] !== 'string' || input[f] === '') throw bad(f);
  for (const f of ['namespace', 'target', 'sourceIp'] as const) if (input[f] !== null && typeof input[f] !== 'string') throw bad(f);
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(input.outcome)) throw bad('outcome');
  if (!Number.isSafeInteger(input.status)) throw bad('status');
  const out: AuditInput = {
    actor: input.actor,
    role: input.role,
    namespace: input.namespace,
    action: input.action,
    target: input.target,
    sourceIp: input.sourceIp,
    outcome: input.outcome,
    status: input.status,
  };
  if (input.details !== undefined) {
    if (input.details === null || typeof input.details !== 'object' || Array.isArray(input.details)) throw bad('details');
    out.details = JSON.parse(JSON.stringify(input.details)) as Record<string, unknown>;
  }
  return out;
}

/** Links the next entry onto a chain head. */
export function chainEntry(head: { seq: number; hash: string }, input: AuditInput, at: number): AuditEntry {
  const e: Omit<AuditEntry, 'hash'> = { seq: head.seq + 1, at, prevHash: head.hash, ...input };
  return { ...e, hash: entryHash(e) };
}

/**
 * One step of a chain walk: why `e` does not follow `prev` (undefined: it does). `prev` is
 * undefined for the first entry read. Adapters feed stored entries in seq order.
 */
export function linkProblem(prev: { seq: number; hash: string } | undefined, e: AuditEntry): { brokenAt: number; reason: string } | undefined {
  const expected = (prev?.seq ?? 0) + 1;
  if (e.seq > expected) {
    const span = e.seq - expected > 1 ? `entries ${expected} to ${e.seq - 1} are` : `entry ${expected} is`;
    return { brokenAt: expected, reason: `${span} missing (deleted?): the next stored entry is ${e.seq}` };
  }
  if (e.seq < expected) return { brokenAt: e.seq, reason: `entry ${e.seq} is out of order (after ${expected - 1})` };
  if (entryHash(e) !== e.hash) return { brokenAt: e.seq, reason: `entry ${e.seq} does not match its hash: edited after it was written` };
  const want = prev?.hash ?? GENESIS_HASH;
  if (e.prevHash !== want) {
    return { brokenAt: e.seq, reason: prev ? `entry ${e.seq}'s prev_hash is not the hash of entry ${prev.seq}` : `entry 1's prev_hash is not the genesis hash (64 zeros)` };
  }
  return undefined;
}
