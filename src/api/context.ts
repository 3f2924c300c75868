import type { FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { JobEvents } from '../events/job-events.js';
import type { HandlerRegistry } from '../jobs/registry.js';
import type { Logger } from '../observability/logger.js';
import type { AuditLog } from '../ports/audit-log.js';
import type { CancelOutcome, SubmitOptions } from '../ports/intake.js';
import type { Inventory } from '../ports/inventory.js';
import type { JobStats } from '../ports/job-stats.js';
import type { JobStore, SubmitOutcome } from '../ports/job-store.js';
import type { UsageQuery, UsageRow } from '../ports/usage.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError } from '../protocol/errors.js';
import type { PathPolicy } from '../worker/path-policy.js';
import { allows, seesNamespace, type Authenticator, type Principal, type Role } from './auth.js';
import { notFound, toHttpError } from './errors.js';
import type { QuotaGate } from './quotas.js';
import type { SseHub } from './sse-hub.js';
import { namespaceOf, type JobRecord } from '../ports/job-store.js';

/** Everything the API needs from the node it runs in; built by the composition root. */
export interface ApiDeps {
  store: JobStore;
  events: JobEvents;
  registry: HandlerRegistry;
  pathPolicy: PathPolicy;
  auth: Authenticator;
  authMethod: 'bearer' | 'none';
  audit: AuditLog;
  quotas: QuotaGate;
  /** The HTTP intake: the one submit path, and cancel of what this node runs. */
  intake: {
    submit(job: JobDocument, opts?: SubmitOptions): Promise<SubmitOutcome>;
    cancel(jobId: string, reason: string): CancelOutcome;
    /** Cancels a job held outside the queue (waiting for parents or capacity); false when it is not held. */
    cancelHeld(jobId: string, reason: string): Promise<boolean>;
  };
  usage(q: UsageQuery): Promise<UsageRow[]>;
  /** Counts and chart figures (GET /stats/*); without it those answer 503. */
  stats?: JobStats;
  /** The fleet inventory (GET /inventory/*); without it those answer 503. */
  inventory?: Inventory;
  /** The advisory database file (`guestkit advisories import`) GET /inventory/vulnerabilities reads. */
  advisoryDb?: string;
  prices: { cpuSecond: number; gibRead: number; currency: string };
  ready(): { ok: boolean; reason?: string };
  metrics: Registry;
  logger: Logger;
  version: string;
}

/** Refused logins recorded per source address and minute; the rest are counted into the next entry. */
const DENIED_PER_MINUTE = 20;

/** A known caller's request, until its audit entry is written (settle). */
interface PendingAudit {
  p: Principal;
  action: string;
  target: string | null;
  recorded: boolean;
  code?: string;
  /** Why a refusal that the caller sees as something else (a 404) was one. */
  denial?: string;
}
const pending = new WeakMap<FastifyRequest, PendingAudit>();
/** 404s that hide another namespace's job: to the caller a missing job, to the audit log a denial. */
const hidden = new WeakSet<object>();

/** Per-request helpers shared by the routes: who is asking, and the audit trail. */
export class ApiContext {
  private readonly denials = new Map<string, { minute: number; n: number; suppressed: number }>();

  constructor(
    readonly deps: ApiDeps,
    readonly hub: SseHub,
  ) {}

  /** The caller, checked for `need`; a refusal is audited and thrown (401/403). */
  async caller(req: FastifyRequest, need: Role, action: string, target: string | null = null): Promise<Principal> {
    let p: Principal | undefined;
    try {
      p = await this.deps.auth.authenticate(authorization(req));
    } catch (err) {
      await this.record(req, undefined, action, target, 'denied', 401, { reason: (err as GuestkitError).details?.reason });
      throw err;
    }
    if (!allows(p, need)) {
      await this.record(req, p, action, target, 'denied', 403);
      throw new GuestkitError('FORBIDDEN', `a ${p.role} token may not ${action.replace('.', ' ')} (needs ${need})`, { phase: 'validation', details: { role: p.role, needs: need } });
    }
    pending.set(req, { p, action, target, recorded: false });
    return p;
  }

  /** A job the caller may see; another namespace's job is a 404, as a missing one. */
  async visibleJob(p: Principal, jobId: string): Promise<JobRecord> {
    const rec = await this.deps.store.get(jobId);
    if (!rec) throw notFound(`no job ${jobId}`, { job_id: jobId });
    if (!seesNamespace(p, namespaceOf(rec.job))) {
      const err = notFound(`no job ${jobId}`, { job_id: jobId });
      hidden.add(err);
      throw err;
    }
    return rec;
  }

  /** The error a request ends with (the API's error handler), for its audit entry. */
  failed(req: FastifyRequest, err: unknown): void {
    const a = pending.get(req);
    if (!a) return;
    a.code = toHttpError(err).error.code;
    if (typeof err === 'object' && err !== null && hidden.has(err)) a.denial = 'job of another namespace';
  }

  /**
   * After the response: a known caller's call that no route recorded is audited when it changed
   * nothing but should have (a mutating call that failed: outcome error) or was refused (403, or
   * a 404 that hides another namespace's job: outcome denied). Reads that succeed or simply miss
   * are not audit events.
   */
  async settle(req: FastifyRequest, status: number): Promise<void> {
    const a = pending.get(req);
    pending.delete(req);
    if (!a || a.recorded || status < 400) return;
    const denied = status === 403 || a.denial !== undefined;
    if (!denied && (req.method === 'GET' || req.method === 'HEAD')) return;
    const target = a.target ?? (req.params as { id?: unknown } | undefined)?.id;
    const details = { ...(a.code ? { code: a.code } : {}), ...(a.denial ? { reason: a.denial } : {}) };
    await this.record(req, a.p, a.action, typeof target === 'string' ? target : null, denied ? 'denied' : 'error', status, details);
  }

  /**
   * Appends to the audit log after the action took effect. An audit failure is logged
   * loudly but does not turn an accepted job into an error the client would retry.
   */
  async record(
    req: FastifyRequest,
    p: Principal | undefined,
    action: string,
    target: string | null,
    outcome: 'ok' | 'denied' | 'error',
    status: number,
    details?: Record<string, unknown>,
  ): Promise<void> {
    const a = pending.get(req);
    if (a) a.recorded = true;
    if (outcome === 'denied' && status === 401) {
      // anyone can send bad tokens: a flood must not grow the audit log without bound
      const ip = req.ip ?? 'unknown';
      const minute = Math.floor(Date.now() / 60_000);
      let d = this.denials.get(ip);
      if (!d || d.minute !== minute) {
        if (this.denials.size > 10_000) this.denials.clear();
        d = { minute, n: 0, suppressed: d?.suppressed ?? 0 };
        this.denials.set(ip, d);
      }
      if (++d.n > DENIED_PER_MINUTE) {
        d.suppressed++;
        return;
      }
      if (d.suppressed > 0) {
        details = { ...details, suppressed_since_last: d.suppressed };
        d.suppressed = 0;
      }
    }
    try {
      await this.deps.audit.append({
        actor: p?.actor ?? 'unknown',
        role: p?.role ?? 'none',
        namespace: p?.namespace ?? null,
        action,
        target,
        sourceIp: req.ip ?? null,
        outcome,
        status,
        details,
      });
    } catch (err) {
      this.deps.logger.error({ err: String(err), action, target, outcome }, 'audit append failed: this call is missing from the audit log');
    }
  }
}

/** The bearer token, from the Authorization header only: a token in a URL ends up in logs and histories. */
function authorization(req: FastifyRequest): string | undefined {
  return req.headers.authorization;
}
