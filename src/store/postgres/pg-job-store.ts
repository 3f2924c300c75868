import type pg from 'pg';
import { GuestkitError } from '../../protocol/errors.js';
import type { JobResult } from '../../protocol/result.js';
import { isLegalTransition, JOB_STATUSES, type JobStatus, type TerminalStatus } from '../../protocol/status.js';
import type { WorkerRegistration, WorkerState } from '../../protocol/worker.js';
import {
  DEFAULT_NAMESPACE,
  isStoreUnavailable,
  StoreUnavailableError,
  type AttemptRecord,
  type BeginOutcome,
  type ClaimOutcome,
  type FinishOptions,
  type Hold,
  type HeldCursor,
  type HoldKind,
  type JobPage,
  type JobQuery,
  type JobRecord,
  type JobStore,
  type NamespaceLoad,
  type RemoveOutcome,
  type StartOptions,
  type StartOutcome,
  type StoredEvent,
  type StoreFailure,
  type SubmitInput,
  type SubmitOutcome,
  type TransitionOptions,
  type TransitionRecord,
  type WorkerRecord,
} from '../../ports/job-store.js';
import type { UsageQuery, UsageRow } from '../../ports/usage.js';
import { BatchWriter, type WireOp } from './batch-writer.js';
import { classifyPg, createPool, migrate, pgFailure, type PgConnectOptions } from './connection.js';
import { buildPgListQuery, encodeCursor } from './list-query.js';
import { toAttempt, toJobRecord, toTransition, toWorker, type PgJobRow } from './records.js';
import { PG_MIGRATIONS } from './schema.js';
import { pgUsageQuery } from './usage-query.js';

export interface PgStoreOptions extends Omit<PgConnectOptions, 'url'> {
  /**
   * ms a write (or read) keeps retrying while the database is unreachable or refuses for a
   * passing reason (restart, failover, deadlock) before it fails with StoreUnavailableError
   * (default 5,000; 0: fail at once).
   */
  retryMs?: number;
  /** ms a probe waits (default min(retryMs, 250)). */
  probeWaitMs?: number;
  /**
   * Write batches in flight at once, each on its own connection (default 2); the writes of
   * one job always take the same one, in order.
   */
  writeLanes?: number;
}

/** The statuses from which `to` may be reached: the state machine stays in the protocol module. */
const LEGAL_FROM = Object.fromEntries(JOB_STATUSES.map((to) => [to, JOB_STATUSES.filter((from) => isLegalTransition(from, to))])) as Record<JobStatus, JobStatus[]>;

const BATCH_KEEP_MS = 10 * 60_000;

/**
 * The JobStore of a cluster: PostgreSQL through the `pg` driver. Every write is one
 * PL/pgSQL function (schema.ts) run by the batch writer: the writes of one event-loop turn
 * share one round trip and one commit, each taking its job row with SELECT … FOR UPDATE,
 * so several workers (processes, machines) can share the database. Reads go straight to
 * the pool.
 */
export class PostgresJobStore implements JobStore {
  private readonly writer: BatchWriter;
  private failure?: StoreFailure;
  private readonly listeners: ((err: StoreUnavailableError) => void)[] = [];
  private readonly retryMs: number;
  private readonly probeWaitMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  private constructor(
    readonly pool: pg.Pool,
    opts: PgStoreOptions,
  ) {
    this.retryMs = Math.max(0, Math.floor(opts.retryMs ?? 5_000));
    this.probeWaitMs = Math.max(0, Math.floor(opts.probeWaitMs ?? Math.min(this.retryMs, 250)));
    this.writer = new BatchWriter(pool, this.retryMs, {
      failed: (err) => this.fail(err),
      committed: () => {
        this.failure = undefined;
      },
    }, opts.writeLanes ?? 2);
    // fences older than any retry window are not needed any more
    this.sweeper = setInterval(() => {
      pool.query('DELETE FROM gk_batches WHERE at < gk_now_ms() - $1', [BATCH_KEEP_MS]).catch(() => undefined);
    }, 60_000);
    this.sweeper.unref();
  }

  /** Connects and migrates (under an advisory lock: concurrent openers migrate once). */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PostgresJobStore> {
    const pool = createPool({ ...opts, url });
    try {
      await migrate(pool, opts.schema, { component: 'jobs', migrations: PG_MIGRATIONS });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return new PostgresJobStore(pool, opts);
  }

  /** Writes that may have committed although they were answered with StoreUnavailableError (the database stayed away past retryMs). */
  get doubtfulBatches(): ReadonlySet<string> {
    return this.writer.doubtful;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await this.writer.close();
    await this.pool.end();
  }

  get unavailable(): StoreFailure | undefined {
    return this.failure;
  }

  onUnavailable(cb: (err: StoreUnavailableError) => void): void {
    this.listeners.push(cb);
  }

  // --- writes -------------------------------------------------------------------------

  async submit(input: SubmitInput): Promise<SubmitOutcome> {
    const wire = { op: 'submit', id: input.job.job_id, job: input.job, source: input.source ?? null, owner: input.owner ?? null, exclusive: input.exclusive === true, hold: input.hold ?? null, keyed: input.keyed === true };
    for (;;) {
      const out = await this.write('submit', wire, (o) => o as SubmitOutcome | { kind: 'keyed'; jobId: string });
      if (out.kind !== 'keyed' || 'prior' in out) return out;
      const prior = await this.get(out.jobId);
      if (prior) return { kind: 'keyed', prior };
      // the key's holder was deleted in between: the key may be free now
    }
  }

  claim(jobId: string, workerId: string, source?: string): Promise<ClaimOutcome> {
    return this.write('claim', { op: 'claim', id: jobId, worker: workerId, source: source ?? null }, (o) => o as ClaimOutcome);
  }

  start(jobId: string, workerId: string, opts: StartOptions = {}): Promise<StartOutcome> {
    return this.write('start', { op: 'start', id: jobId, worker: workerId, minAttempt: opts.minAttempt, idempotency: opts.idempotency }, (o) => o as StartOutcome);
  }

  begin(jobId: string, workerId: string, opts: StartOptions & { source?: string } = {}): Promise<BeginOutcome> {
    return this.write('begin', { op: 'begin', id: jobId, worker: workerId, source: opts.source, minAttempt: opts.minAttempt, idempotency: opts.idempotency }, (o) => o as BeginOutcome);
  }

  transition(jobId: string, to: JobStatus, opts: TransitionOptions = {}): Promise<void> {
    const wire: WireOp = { op: 'transition', id: jobId, to, legalFrom: LEGAL_FROM[to], now: 0, ...transitionArgs(opts) };
    return this.write('transition', wire, () => undefined);
  }

  finish(jobId: string, status: TerminalStatus, result: JobResult, opts: FinishOptions = {}): Promise<void> {
    return this.write(
      'finish',
      { op: 'finish', id: jobId, status, result, legalFrom: LEGAL_FROM[status], errorCode: opts.errorCode, errorMessage: opts.errorMessage, reason: opts.reason },
      () => undefined,
    );
  }

  releaseInterrupted(jobId: string, workerId: string): Promise<void> {
    return this.write(
      'releaseInterrupted',
      { op: 'releaseInterrupted', id: jobId, worker: workerId, legalFrom: LEGAL_FROM.pending, workerId: null, reason: 'store_unavailable', attemptOutcome: 'interrupted', refundAttempt: true },
      () => undefined,
    );
  }

  unassign(jobId: string): Promise<void> {
    return this.write('unassign', { op: 'unassign', id: jobId }, () => undefined);
  }

  appendEvent(event: StoredEvent): Promise<void> {
    return this.write('appendEvent', { op: 'event', id: event.job_id, event }, () => undefined);
  }

  remove(jobId: string): Promise<RemoveOutcome> {
    return this.write('remove', { op: 'remove', id: jobId }, (o) => o as RemoveOutcome);
  }

  registerWorker(registration: WorkerRegistration): Promise<void> {
    return this.write('registerWorker', { op: 'registerWorker', registration }, () => undefined);
  }

  heartbeat(workerId: string, state: WorkerState, currentJobs: number): Promise<void> {
    return this.write('heartbeat', { op: 'heartbeat', worker: workerId, state, currentJobs }, () => undefined);
  }

  probe(workerId: string, state: WorkerState, currentJobs: number): Promise<void> {
    return this.write('probe', { op: 'heartbeat', worker: workerId, state, currentJobs }, () => undefined, this.probeWaitMs);
  }

  // --- reads --------------------------------------------------------------------------

  async events(jobId: string, afterSequence = -1): Promise<StoredEvent[]> {
    const rows = await this.read<{ doc: StoredEvent }>('events', 'SELECT doc FROM events WHERE job_id = $1 AND sequence > $2 ORDER BY sequence', [jobId, afterSequence]);
    return rows.map((r) => r.doc);
  }

  async nextEventSequence(jobId: string): Promise<number> {
    const rows = await this.read<{ m: number | null }>('nextEventSequence', 'SELECT max(sequence) AS m FROM events WHERE job_id = $1', [jobId]);
    const m = rows[0]?.m ?? null;
    return m === null ? 0 : m + 1;
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const rows = await this.read<PgJobRow>('get', 'SELECT * FROM jobs WHERE job_id = $1', [jobId]);
    return rows[0] ? toJobRecord(rows[0]) : undefined;
  }

  async result(jobId: string): Promise<JobResult | undefined> {
    const rows = await this.read<{ doc: JobResult }>('result', 'SELECT doc FROM results WHERE job_id = $1', [jobId]);
    return rows[0]?.doc;
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    return (await this.read<Parameters<typeof toAttempt>[0]>('attempts', 'SELECT * FROM attempts WHERE job_id = $1 ORDER BY attempt', [jobId])).map(toAttempt);
  }

  async transitions(jobId: string): Promise<TransitionRecord[]> {
    return (await this.read<Parameters<typeof toTransition>[0]>('transitions', 'SELECT * FROM transitions WHERE job_id = $1 ORDER BY id', [jobId])).map(toTransition);
  }

  async activeJobsOf(workerId: string): Promise<JobRecord[]> {
    const rows = await this.read<PgJobRow>(
      'activeJobsOf',
      `SELECT * FROM jobs WHERE worker_id = $1 AND status IN ('pending','assigned','running') ORDER BY queued_at, job_id`,
      [workerId],
    );
    return rows.map(toJobRecord);
  }

  async list(query: JobQuery = {}): Promise<JobPage> {
    const { sql, params, limit } = buildPgListQuery(query);
    const rows = await this.read<PgJobRow>('list', sql, params);
    const items = rows.slice(0, limit).map(toJobRecord);
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return last ? { items, next: encodeCursor(last.queued_at, last.job_id) } : { items };
  }

  async namespaceLoad(namespace: string, sinceMs: number): Promise<NamespaceLoad> {
    const ns = namespace === DEFAULT_NAMESPACE ? '(namespace = $1 OR namespace IS NULL)' : 'namespace = $1';
    const rows = await this.read<NamespaceLoad>(
      'namespaceLoad',
      `SELECT
          count(*) FILTER (WHERE status = 'pending')::integer AS queued,
          count(*) FILTER (WHERE status IN ('assigned','running'))::integer AS running,
          (SELECT count(*)::integer FROM jobs WHERE ${ns} AND queued_at >= $2) AS "submittedSince"
        FROM jobs WHERE ${ns} AND status IN ('pending','assigned','running')`,
      [namespace, sinceMs],
    );
    return rows[0]!;
  }

  async usage(query: UsageQuery): Promise<UsageRow[]> {
    const { sql, params } = pgUsageQuery(query);
    return this.read<UsageRow>('usage', sql, params);
  }

  async findByIdempotencyKey(namespace: string, key: string): Promise<JobRecord | undefined> {
    const rows = await this.read<PgJobRow>(
      'findByIdempotencyKey',
      `SELECT * FROM jobs WHERE idempotency_key = $1 AND (namespace = $2 OR ($3 AND namespace IS NULL))
        ORDER BY queued_at DESC, job_id DESC LIMIT 1`,
      [key, namespace, namespace === DEFAULT_NAMESPACE],
    );
    return rows[0] ? toJobRecord(rows[0]) : undefined;
  }

  async worker(workerId: string): Promise<WorkerRecord | undefined> {
    const rows = await this.read<Parameters<typeof toWorker>[0]>('worker', 'SELECT * FROM workers WHERE worker_id = $1', [workerId]);
    return rows[0] ? toWorker(rows[0]) : undefined;
  }

  async workers(): Promise<WorkerRecord[]> {
    return (await this.read<Parameters<typeof toWorker>[0]>('workers', 'SELECT * FROM workers ORDER BY worker_id', [])).map(toWorker);
  }

  async liveWorkers(sinceMs: number): Promise<string[]> {
    const rows = await this.read<{ worker_id: string }>('liveWorkers', `SELECT worker_id FROM workers WHERE last_heartbeat >= $1 AND state <> 'offline' ORDER BY worker_id`, [sinceMs]);
    return rows.map((r) => r.worker_id);
  }

  async heldJobs(limit: number, after?: HeldCursor): Promise<JobRecord[]> {
    const rows = after
      ? await this.read<PgJobRow>('heldJobs', 'SELECT * FROM jobs WHERE hold IS NOT NULL AND (queued_at, job_id) > ($2, $3) ORDER BY queued_at, job_id LIMIT $1', [limit, after.queuedAt, after.jobId])
      : await this.read<PgJobRow>('heldJobs', 'SELECT * FROM jobs WHERE hold IS NOT NULL ORDER BY queued_at, job_id LIMIT $1', [limit]);
    return rows.map(toJobRecord);
  }

  async dependants(jobId: string): Promise<string[]> {
    return (await this.read<{ child_id: string }>('dependants', 'SELECT child_id FROM job_dependencies WHERE parent_id = $1 ORDER BY child_id', [jobId])).map((r) => r.child_id);
  }

  async swapHold(jobId: string, from: HoldKind, to: Hold | null, token: string): Promise<boolean> {
    // one statement, repeated as a read after a lost answer: the token makes the repeat see its own change
    const rows = await this.read<{ job_id: string }>(
      'swapHold',
      `UPDATE jobs SET hold = $3, hold_reason = $4, hold_token = $5, updated_at = $6
        WHERE job_id = $1 AND status = 'pending' AND (hold = $2 OR hold_token = $5) RETURNING job_id`,
      [jobId, from, to?.kind ?? null, to?.reason ?? null, token, Date.now()],
    );
    return rows.length > 0;
  }

  // --- plumbing -----------------------------------------------------------------------

  private write<T>(name: string, wire: Omit<WireOp, 'now'> & { now?: number }, decode: (out: unknown) => T, maxWaitMs?: number): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(name, 'CLOSED', new Error('the store is closed')));
    return this.writer.run(name, { ...wire, now: Date.now() } as WireOp, (out) => decode(refusal(out)), maxWaitMs).catch((err: unknown) => {
      throw unstorable(name, err);
    });
  }

  /** A read, retried like a write while the database is away (reads are safe to repeat). */
  private async read<R extends pg.QueryResultRow>(op: string, sql: string, params: unknown[]): Promise<R[]> {
    if (this.closed) throw new StoreUnavailableError(op, 'CLOSED', new Error('the store is closed'));
    const deadline = Date.now() + this.retryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.pool.query<R>(sql, params)).rows;
      } catch (err) {
        const f = pgFailure(err);
        if (f.kind === 'bug') throw err;
        if (Date.now() >= deadline || this.closed) {
          const e = classifyPg(op, err) as StoreUnavailableError;
          this.fail(e);
          throw e;
        }
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt, Math.max(1, deadline - Date.now()))));
      }
    }
  }

  private fail(err: StoreUnavailableError): void {
    if (!isStoreUnavailable(err)) return;
    this.failure = { since: this.failure?.since ?? Date.now(), code: err.storeCode, error: err.message };
    for (const cb of this.listeners) {
      try {
        cb(err);
      } catch {
        /* a listener must not break the store */
      }
    }
  }
}

function transitionArgs(o: TransitionOptions): Record<string, unknown> {
  const a: Record<string, unknown> = {
    reason: o.reason,
    errorCode: o.errorCode,
    errorMessage: o.errorMessage,
    nextAttemptAt: o.nextAttemptAt,
    attemptOutcome: o.attemptOutcome,
    refundAttempt: o.refundAttempt,
  };
  // absent keeps the holder; null releases it (JSON keeps the difference: undefined is dropped)
  if (o.workerId !== undefined) a.workerId = o.workerId;
  return a;
}

/**
 * JSONB cannot hold a NUL character (\u0000) in a string: a document with one is refused
 * as invalid input, not as a failing store.
 */
function unstorable(op: string, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== '22P05') return err;
  return new GuestkitError('VALIDATION_ERROR', `${op}: the document holds text PostgreSQL cannot store (${(err as Error).message})`, {
    phase: 'validation',
    details: { store_error: code },
    cause: err,
  });
}

/** An op's refusal (found by the database before it wrote anything) as the error SQLite's store throws. */
function refusal(out: unknown): unknown {
  const o = out as { error?: string; jobId?: string; from?: JobStatus; to?: JobStatus } | null;
  if (o && typeof o === 'object' && typeof o.error === 'string') {
    if (o.error === 'not_found') {
      throw new GuestkitError('NOT_FOUND', `job ${o.jobId} is not in the store`, { phase: 'execution', details: { job_id: o.jobId } });
    }
    if (o.error === 'illegal') {
      throw new GuestkitError('EXECUTION_ERROR', `job ${o.jobId}: illegal state change ${o.from} → ${o.to}`, {
        phase: 'execution',
        details: { job_id: o.jobId, from: o.from, to: o.to },
        recoverable: false,
        retryRecommended: false,
      });
    }
    throw new GuestkitError('EXECUTION_ERROR', `job store: unexpected refusal ${JSON.stringify(o)}`, { phase: 'execution' });
  }
  return out;
}
