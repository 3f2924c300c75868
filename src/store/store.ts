import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GuestkitError } from '../protocol/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export const JOB_STATUSES = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled', 'timeout'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled', 'timeout']);
export type TerminalStatus = 'completed' | 'failed' | 'cancelled' | 'timeout';

/** The legal edges of the job state machine; anything else is a bug and is refused. */
const EDGES: Record<JobStatus, readonly JobStatus[]> = {
  pending: ['assigned', 'cancelled', 'failed', 'timeout'],
  assigned: ['running', 'pending', 'completed', 'failed', 'cancelled', 'timeout'],
  running: ['completed', 'failed', 'cancelled', 'timeout', 'pending'],
  // failed/timeout may be retried while attempts remain
  failed: ['pending'],
  timeout: ['pending'],
  completed: [],
  cancelled: [],
};

export interface JobRow {
  job_id: string;
  operation: string;
  namespace: string | null;
  status: JobStatus;
  priority: number;
  attempt: number;
  max_attempts: number;
  idempotency_key: string | null;
  worker_id: string | null;
  source: string | null;
  trace_id: string | null;
  doc: string;
  created_at: string;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_attempt_at: number | null;
  error_code: string | null;
  updated_at: number;
}

export interface AdmitInput {
  jobId: string;
  operation: string;
  namespace?: string;
  priority: number;
  maxAttempts: number;
  idempotencyKey?: string;
  traceId?: string;
  doc: unknown;
  createdAt: string;
  source?: string;
  workerId: string;
}

export type AdmitOutcome =
  | { kind: 'admitted'; row: JobRow; resumed: boolean }
  /** the job id is known and finished (or held by a live worker): a re-submission */
  | { kind: 'duplicate'; row: JobRow };

export type IdempotencyOutcome =
  | { kind: 'acquired' }
  | { kind: 'completed'; jobId: string; result: unknown }
  | { kind: 'running'; jobId: string };

export interface StoredEvent {
  job_id: string;
  sequence: number;
  timestamp: string;
  phase: string;
  [k: string]: unknown;
}

export interface TransitionRow {
  id: number;
  job_id: string;
  from_status: JobStatus | null;
  to_status: JobStatus;
  attempt: number;
  worker_id: string | null;
  at: number;
  reason: string | null;
}

export interface TransitionOptions {
  /** null releases the job (no worker holds it); undefined keeps the holder. */
  workerId?: string | null;
  reason?: string;
  errorCode?: string;
  errorMessage?: string;
  nextAttemptAt?: number;
  /** How the open attempt is recorded when it differs from the new status (`lost`, `interrupted`). */
  attemptOutcome?: string;
  /** running → pending without counting the attempt (a drain interrupted it, not the job). */
  refundAttempt?: boolean;
}

export interface StoreOptions {
  /** ms to wait for another process's write lock (workers sharing a data dir). */
  busyTimeoutMs?: number;
}

/**
 * The embedded store: jobs, attempts, state transitions, progress events, results,
 * idempotency keys and worker registrations in one SQLite file (WAL, synchronous=NORMAL:
 * a power cut may lose the last commits but never corrupts; a process crash loses nothing).
 * Every method is one transaction; statements are prepared once.
 */
export class Store {
  readonly db: Database.Database;
  private readonly s;

  private constructor(db: Database.Database) {
    this.db = db;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      getJob: p('SELECT * FROM jobs WHERE job_id = ?'),
      insertJob: p(`INSERT INTO jobs (job_id, operation, namespace, status, priority, attempt, max_attempts,
          idempotency_key, worker_id, source, trace_id, doc, created_at, queued_at, updated_at)
        VALUES (@job_id, @operation, @namespace, 'assigned', @priority, 0, @max_attempts,
          @idempotency_key, @worker_id, @source, @trace_id, @doc, @created_at, @now, @now)`),
      setStatus: p(`UPDATE jobs SET status = @to, worker_id = @worker_id, updated_at = @now,
          next_attempt_at = @next_attempt_at, error_code = @error_code,
          finished_at = CASE WHEN @terminal THEN @now ELSE finished_at END
        WHERE job_id = @job_id AND status = @from`),
      reassign: p(`UPDATE jobs SET status = 'assigned', worker_id = @worker_id, source = @source,
          updated_at = @now, next_attempt_at = NULL WHERE job_id = @job_id AND status = @from`),
      startAttempt: p(`UPDATE jobs SET status = 'running', attempt = @attempt, started_at = @now, updated_at = @now
        WHERE job_id = @job_id AND status = 'assigned'`),
      insertAttempt: p(`INSERT OR REPLACE INTO attempts (job_id, attempt, worker_id, started_at, status)
        VALUES (?, ?, ?, ?, 'running')`),
      finishAttempt: p(`UPDATE attempts SET finished_at = @now, status = @status, error_code = @error_code,
          error_message = @error_message WHERE job_id = @job_id AND attempt = @attempt`),
      transition: p(`INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      insertEvent: p('INSERT OR REPLACE INTO events (job_id, sequence, timestamp, phase, doc) VALUES (?, ?, ?, ?, ?)'),
      maxSeq: p('SELECT MAX(sequence) AS m FROM events WHERE job_id = ?'),
      events: p('SELECT doc FROM events WHERE job_id = ? ORDER BY sequence'),
      putResult: p('INSERT OR REPLACE INTO results (job_id, status, doc, created_at) VALUES (?, ?, ?, ?)'),
      getResult: p('SELECT doc FROM results WHERE job_id = ?'),
      getIdem: p('SELECT * FROM idempotency WHERE scope = ? AND key = ?'),
      insertIdem: p(`INSERT INTO idempotency (scope, key, job_id, state, created_at, updated_at)
        VALUES (?, ?, ?, 'running', ?, ?)`),
      takeIdem: p(`UPDATE idempotency SET job_id = ?, state = 'running', updated_at = ? WHERE scope = ? AND key = ?`),
      completeIdem: p(`UPDATE idempotency SET state = 'completed', updated_at = ? WHERE scope = ? AND key = ? AND job_id = ?`),
      releaseIdem: p(`DELETE FROM idempotency WHERE scope = ? AND key = ? AND job_id = ? AND state = 'running'`),
      upsertWorker: p(`INSERT INTO workers (worker_id, registration, state, current_jobs, registered_at, last_heartbeat)
        VALUES (@worker_id, @registration, @state, @current_jobs, @now, @now)
        ON CONFLICT (worker_id) DO UPDATE SET registration = excluded.registration, state = excluded.state,
          current_jobs = excluded.current_jobs, registered_at = excluded.registered_at,
          last_heartbeat = excluded.last_heartbeat`),
      heartbeat: p('UPDATE workers SET state = ?, current_jobs = ?, last_heartbeat = ? WHERE worker_id = ?'),
      getWorker: p('SELECT * FROM workers WHERE worker_id = ?'),
      activeOf: p(`SELECT * FROM jobs WHERE worker_id = ? AND status IN ('pending','assigned','running')`),
      transitions: p('SELECT * FROM transitions ORDER BY id'),
      jobTransitions: p('SELECT * FROM transitions WHERE job_id = ? ORDER BY id'),
      attempts: p('SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt'),
      unassign: p(`UPDATE jobs SET worker_id = NULL, updated_at = ? WHERE job_id = ? AND status = 'pending'`),
      refund: p('UPDATE jobs SET attempt = MAX(0, attempt - 1) WHERE job_id = ?'),
    };
  }

  /** Opens (creating and migrating) `<dataDir>/guestkit.db`, or a file path ending in .db, or ':memory:'. */
  static open(location: string, opts: StoreOptions = {}): Store {
    const file = location === ':memory:' || location.endsWith('.db') ? location : join(location, 'guestkit.db');
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return new Store(db);
  }

  close(): void {
    this.commitBatch();
    if (this.db.open) this.db.close();
  }

  getJob(jobId: string): JobRow | undefined {
    return this.s.getJob.get(jobId) as JobRow | undefined;
  }

  /**
   * Records that `workerId` holds the job now (status `assigned`). A job seen before
   * and not finished (re-queued after a crash, a drain or a retry) is resumed with its
   * attempt count; a finished one is a duplicate submission.
   */
  admit(input: AdmitInput, now = Date.now()): AdmitOutcome {
    return this.tx(() => {
      const row = this.getJob(input.jobId);
      if (!row) {
        this.s.insertJob.run({
          job_id: input.jobId,
          operation: input.operation,
          namespace: input.namespace ?? null,
          priority: input.priority,
          max_attempts: input.maxAttempts,
          idempotency_key: input.idempotencyKey ?? null,
          worker_id: input.workerId,
          source: input.source ?? null,
          trace_id: input.traceId ?? null,
          doc: JSON.stringify(input.doc),
          created_at: input.createdAt,
          now,
        });
        this.s.transition.run(input.jobId, null, 'assigned', 0, input.workerId, now, null);
        return { kind: 'admitted', row: this.getJob(input.jobId)!, resumed: false } as const;
      }
      if (TERMINAL_STATUSES.has(row.status)) return { kind: 'duplicate', row } as const;
      // A non-terminal row of another worker is taken over only when that worker gave it
      // back (pending); a job file can only be claimed by one worker at a time anyway.
      if ((row.status === 'assigned' || row.status === 'running') && row.worker_id !== input.workerId) {
        return { kind: 'duplicate', row } as const;
      }
      this.s.reassign.run({ job_id: row.job_id, worker_id: input.workerId, source: input.source ?? row.source, now, from: row.status });
      this.s.transition.run(row.job_id, row.status, 'assigned', row.attempt, input.workerId, now, 'resumed');
      return { kind: 'admitted', row: this.getJob(input.jobId)!, resumed: true } as const;
    });
  }

  /** assigned → running; returns the attempt number now running (attempts started so far + 1, at least `minAttempt`). */
  startAttempt(jobId: string, workerId: string, minAttempt = 1, now = Date.now()): number {
    return this.tx(() => {
      const row = this.mustGet(jobId);
      if (row.status !== 'assigned') throw illegal(jobId, row.status, 'running');
      const attempt = Math.max(row.attempt + 1, minAttempt);
      this.s.startAttempt.run({ job_id: jobId, attempt, now });
      this.s.insertAttempt.run(jobId, attempt, workerId, now);
      this.s.transition.run(jobId, 'assigned', 'running', attempt, workerId, now, null);
      return attempt;
    });
  }

  /**
   * Moves a job along one edge of the state machine (refusing illegal edges) and closes
   * the running attempt with the same outcome when one is open.
   */
  transition(
    jobId: string,
    to: JobStatus,
    opts: TransitionOptions = {},
    now = Date.now(),
  ): JobRow {
    return this.tx(() => this.transitionInTx(jobId, to, opts, now));
  }

  /**
   * Ends a job: terminal status, the result document, the attempt's outcome and the
   * idempotency key (completed → remembered with this result; otherwise released).
   */
  finish(
    jobId: string,
    status: TerminalStatus,
    result: unknown,
    opts: { errorCode?: string; errorMessage?: string; reason?: string; idempotencyScope?: string } = {},
    now = Date.now(),
  ): void {
    this.tx(() => {
      const row = this.transitionInTx(jobId, status, { errorCode: opts.errorCode, errorMessage: opts.errorMessage, reason: opts.reason, workerId: null }, now);
      this.s.putResult.run(jobId, status, JSON.stringify(result), now);
      if (row.idempotency_key !== null && opts.idempotencyScope !== undefined) {
        if (status === 'completed') this.s.completeIdem.run(now, opts.idempotencyScope, row.idempotency_key, jobId);
        else this.s.releaseIdem.run(opts.idempotencyScope, row.idempotency_key, jobId);
      }
    });
  }

  private transitionInTx(
    jobId: string,
    to: JobStatus,
    opts: TransitionOptions,
    now: number,
  ): JobRow {
    const row = this.mustGet(jobId);
    if (!EDGES[row.status].includes(to)) throw illegal(jobId, row.status, to);
    const terminal = TERMINAL_STATUSES.has(to);
    const workerId = opts.workerId === undefined ? row.worker_id : opts.workerId;
    this.s.setStatus.run({
      job_id: jobId,
      from: row.status,
      to,
      worker_id: terminal ? null : workerId,
      next_attempt_at: opts.nextAttemptAt ?? null,
      error_code: opts.errorCode ?? (to === 'pending' ? row.error_code : null),
      terminal: terminal ? 1 : 0,
      now,
    });
    if (row.status === 'running') {
      this.s.finishAttempt.run({
        job_id: jobId,
        attempt: row.attempt,
        status: opts.attemptOutcome ?? to,
        error_code: opts.errorCode ?? null,
        error_message: opts.errorMessage ?? null,
        now,
      });
    }
    this.s.transition.run(jobId, row.status, to, row.attempt, row.worker_id ?? workerId ?? null, now, opts.reason ?? null);
    if (to === 'pending' && opts.refundAttempt && row.status === 'running') this.s.refund.run(jobId);
    return { ...row, status: to };
  }

  /**
   * Takes an idempotency key for `jobId`: free → acquired; held by a completed job →
   * its result (to be returned without running); held by a running job → refused.
   * The same job re-taking its own key (retry, restart) is acquired again.
   */
  acquireIdempotency(scope: string, key: string, jobId: string, now = Date.now()): IdempotencyOutcome {
    return this.tx(() => {
      const held = this.s.getIdem.get(scope, key) as { job_id: string; state: string } | undefined;
      if (!held) {
        this.s.insertIdem.run(scope, key, jobId, now, now);
        return { kind: 'acquired' } as const;
      }
      if (held.state === 'completed') {
        const r = this.s.getResult.get(held.job_id) as { doc: string } | undefined;
        if (r) return { kind: 'completed', jobId: held.job_id, result: JSON.parse(r.doc) as unknown } as const;
        // result row lost (should not happen): let this job run and own the key
        this.s.takeIdem.run(jobId, now, scope, key);
        return { kind: 'acquired' } as const;
      }
      if (held.job_id === jobId) return { kind: 'acquired' } as const;
      // A holder that is not active any more (died without release) gives the key up.
      const holder = this.getJob(held.job_id);
      if (!holder || TERMINAL_STATUSES.has(holder.status)) {
        this.s.takeIdem.run(jobId, now, scope, key);
        return { kind: 'acquired' } as const;
      }
      return { kind: 'running', jobId: held.job_id } as const;
    });
  }

  /** A pending job (retry back-off) handed back to the transport: no worker holds it any more. */
  unassign(jobId: string, now = Date.now()): void {
    this.s.unassign.run(now, jobId);
  }

  /** Next free event sequence number of a job (continues after a restart). */
  nextEventSequence(jobId: string): number {
    const r = this.s.maxSeq.get(jobId) as { m: number | null };
    return r.m === null ? 0 : r.m + 1;
  }

  appendEvent(event: StoredEvent): void {
    this.s.insertEvent.run(event.job_id, event.sequence, event.timestamp, event.phase, JSON.stringify(event));
  }

  events(jobId: string): StoredEvent[] {
    return (this.s.events.all(jobId) as { doc: string }[]).map((r) => JSON.parse(r.doc) as StoredEvent);
  }

  result(jobId: string): unknown {
    const r = this.s.getResult.get(jobId) as { doc: string } | undefined;
    return r ? (JSON.parse(r.doc) as unknown) : undefined;
  }

  /** Jobs a worker held (assigned/running, or pending after a retry back-off). */
  activeJobsOf(workerId: string): JobRow[] {
    return this.s.activeOf.all(workerId) as JobRow[];
  }

  attempts(jobId: string): { attempt: number; worker_id: string; status: string; error_code: string | null; started_at: number; finished_at: number | null }[] {
    return this.s.attempts.all(jobId) as never;
  }

  transitions(jobId?: string): TransitionRow[] {
    return (jobId === undefined ? this.s.transitions.all() : this.s.jobTransitions.all(jobId)) as TransitionRow[];
  }

  registerWorker(workerId: string, registration: unknown, state: string, currentJobs: number, now = Date.now()): void {
    this.s.upsertWorker.run({ worker_id: workerId, registration: JSON.stringify(registration), state, current_jobs: currentJobs, now });
  }

  heartbeat(workerId: string, state: string, currentJobs: number, now = Date.now()): void {
    this.s.heartbeat.run(state, currentJobs, now, workerId);
  }

  worker(workerId: string): { worker_id: string; registration: unknown; state: string; current_jobs: number; last_heartbeat: number } | undefined {
    const r = this.s.getWorker.get(workerId) as { registration: string } | undefined;
    return r ? ({ ...r, registration: JSON.parse(r.registration) as unknown } as never) : undefined;
  }

  private mustGet(jobId: string): JobRow {
    const row = this.getJob(jobId);
    if (!row) throw new GuestkitError('NOT_FOUND', `job ${jobId} is not in the store`, { phase: 'execution' });
    return row;
  }

  /** Runs `fn` in an IMMEDIATE transaction (takes the write lock up front: no upgrade deadlocks between processes). */
  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private batchOpen = false;
  private readonly afterCommitQueue: (() => void)[] = [];

  /**
   * Group commit: the writes of the rest of this event-loop turn share one transaction,
   * committed on setImmediate. Each method still runs atomically (as a savepoint).
   * Side effects that must not be seen before the commit go through afterCommit().
   */
  beginBatch(): void {
    if (this.batchOpen || this.db.inTransaction) return;
    this.db.exec('BEGIN IMMEDIATE');
    this.batchOpen = true;
    setImmediate(() => this.commitBatch());
  }

  commitBatch(): void {
    if (!this.batchOpen) return;
    this.batchOpen = false;
    try {
      this.db.exec('COMMIT');
    } finally {
      for (const cb of this.afterCommitQueue.splice(0)) cb();
    }
  }

  /** Runs `cb` once what was written so far is committed (now, when no batch is open). */
  afterCommit(cb: () => void): void {
    if (this.batchOpen) this.afterCommitQueue.push(cb);
    else cb();
  }
}

function illegal(jobId: string, from: JobStatus, to: JobStatus): GuestkitError {
  return new GuestkitError('EXECUTION_ERROR', `job ${jobId}: illegal state change ${from} → ${to}`, {
    phase: 'execution',
    details: { job_id: jobId, from, to },
    recoverable: false,
    retryRecommended: false,
  });
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= SCHEMA_VERSION) return;
  db.transaction(() => {
    // re-read under the write lock: another worker may have migrated meanwhile
    const v = db.pragma('user_version', { simple: true }) as number;
    for (let i = v; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
