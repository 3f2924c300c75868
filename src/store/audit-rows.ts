import { AUDIT_OUTCOMES, type AuditEntry, type AuditOutcome } from '../ports/audit-log.js';

/** The audit log's row, as every SQL adapter stores it (`details` as JSON text). */
export interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  role: string;
  namespace: string | null;
  action: string;
  target: string | null;
  source_ip: string | null;
  outcome: string;
  status: number;
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** An entry as its row. */
export function toRow(e: AuditEntry): AuditRow {
  return {
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    role: e.role,
    namespace: e.namespace,
    action: e.action,
    target: e.target,
    source_ip: e.sourceIp,
    outcome: e.outcome,
    status: e.status,
    details: e.details === undefined ? null : JSON.stringify(e.details),
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}

const str = (v: unknown) => typeof v === 'string';
const strOrNull = (v: unknown) => v === null || typeof v === 'string';

/** A stored row as an entry, or what is wrong with it (a hand edit may leave any value). */
export function fromRow(r: AuditRow): AuditEntry | string {
  if (!Number.isSafeInteger(r.at) || Math.abs(r.at) > 8.64e15) return 'at is not a time in ms';
  if (!Number.isSafeInteger(r.status)) return 'status is not an integer';
  if (![r.actor, r.role, r.action, r.prev_hash, r.hash].every(str) || ![r.namespace, r.target, r.source_ip].every(strOrNull)) return 'a field has the wrong type';
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(r.outcome)) return `outcome "${String(r.outcome)}" is not one of ${AUDIT_OUTCOMES.join(', ')}`;
  const e: AuditEntry = {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    role: r.role,
    namespace: r.namespace,
    action: r.action,
    target: r.target,
    sourceIp: r.source_ip,
    outcome: r.outcome as AuditOutcome,
    status: r.status,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
  if (r.details !== null) {
    let d: unknown;
    try {
      d = typeof r.details === 'string' ? JSON.parse(r.details) : undefined;
    } catch {
      d = undefined;
    }
    if (d === null || typeof d !== 'object' || Array.isArray(d)) return 'details is not a JSON object';
    e.details = d as Record<string, unknown>;
  }
  return e;
}
