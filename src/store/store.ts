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
 * SQLite results that mean "the database cannot take this write now" (lock held past the
 * busy timeout, disk full, read-only file, I/O error), as opposed to a wrong statement.
 */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL|NOMEM|CORRUPT|NOTADB|PERM|AUTH)/;

function sqliteCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' && c.startsWith('SQLITE_') ? c : undefined;
}

/**
 * The store could not take a write (or commit). Callers keep the work and try again once
 * the store answers; the open group commit, if any, was rolled back.
 */
export class StoreUnavailableError extends GuestkitError {
  readonly sqliteCode: string;

  constructor(op: string, cause: unknown) {
    const code = sqliteCode(cause) ?? 'UNKNOWN';
    super('EXECUTION_ERROR', `job store unavailable (${op}): ${code}: ${(cause as Error)?.message ?? String(cause)}`, {
      phase: 'execution',
      recoverable: true,
      retryRecommended: true,
      details: { store_error: code, operation: op },
      cause,
    });
    this.sqliteCode = code;
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}

/** Why the store is failing, since when (ms since epoch). */
export interface StoreFailure {
  since: number;
  code: string;
  error: string;
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

  private constructor(
    db: Database.Database,
    private readonly busyTimeoutMs: number,
  ) {
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
      liveWorkers: p(`SELECT worker_id FROM workers WHERE last_heartbeat >= ? AND state != 'offline'`),
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
    const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5_000));
    db.pragma(`busy_timeout = ${busy}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    return new Store(db, busy);
  }

  close(): void {
    this.commitBatch();
    if (this.db.open) this.db.close();
  }

  getJob(jobId: string): JobRow | undefined {
    return this.read('getJob', () => this.row(jobId));
  }

  private row(jobId: string): JobRow | undefined {
    return this.s.getJob.get(jobId) as JobRow | undefined;
  }

  /**
   * Records that `workerId` holds the job now (status `assigned`). A job seen before
   * and not finished (re-queued after a crash, a drain or a retry) is resumed with its
   * attempt count; a finished one is a duplicate submission.
   */
  admit(input: AdmitInput, now = Date.now()): AdmitOutcome {
    return this.tx('admit', () => {
      const row = this.row(input.jobId);
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
        return { kind: 'admitted', row: this.row(input.jobId)!, resumed: false } as const;
      }
      if (TERMINAL_STATUSES.has(row.status)) return { kind: 'duplicate', row } as const;
      // A non-terminal row of another worker is taken over only when that worker gave it
      // back (pending); a job file can only be claimed by one worker at a time anyway.
      if ((row.status === 'assigned' || row.status === 'running') && row.worker_id !== input.workerId) {
        return { kind: 'duplicate', row } as const;
      }
      this.s.reassign.run({ job_id: row.job_id, worker_id: input.workerId, source: input.source ?? row.source, now, from: row.status });
      this.s.transition.run(row.job_id, row.status, 'assigned', row.attempt, input.workerId, now, 'resumed');
      return { kind: 'admitted', row: this.row(input.jobId)!, resumed: true } as const;
    });
  }

  /** assigned → running; returns the attempt number now running (attempts started so far + 1, at least `minAttempt`). */
  startAttempt(jobId: string, workerId: string, minAttempt = 1, now = Date.now()): number {
    return this.tx('startAttempt', () => {
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
    return this.tx('transition', () => this.transitionInTx(jobId, to, opts, now));
  }

  /**
   * A job this worker held when the store failed (what it recorded may or may not have
   * been committed): it goes back to pending, an open attempt closed as `interrupted` and
   * refunded, so the re-run after recovery counts as the same attempt.
   */
  releaseInterrupted(jobId: string, workerId: string, now = Date.now()): void {
    this.tx('releaseInterrupted', () => {
      const row = this.row(jobId);
      if (!row || row.worker_id !== workerId || (row.status !== 'running' && row.status !== 'assigned')) return;
      this.transitionInTx(jobId, 'pending', { workerId: null, reason: 'store_unavailable', attemptOutcome: 'interrupted', refundAttempt: true }, now);
    });
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
    this.tx('finish', () => {
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
    return this.tx('acquireIdempotency', () => {
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
      const holder = this.row(held.job_id);
      if (!holder || TERMINAL_STATUSES.has(holder.status)) {
        this.s.takeIdem.run(jobId, now, scope, key);
        return { kind: 'acquired' } as const;
      }
      return { kind: 'running', jobId: held.job_id } as const;
    });
  }

  /** A pending job (retry back-off) handed back to the transport: no worker holds it any more. */
  unassign(jobId: string, now = Date.now()): void {
    this.write('unassign', () => this.s.unassign.run(now, jobId));
  }

  /** Next free event sequence number of a job (continues after a restart). */
  nextEventSequence(jobId: string): number {
    const r = this.read('nextEventSequence', () => this.s.maxSeq.get(jobId) as { m: number | null });
    return r.m === null ? 0 : r.m + 1;
  }

  appendEvent(event: StoredEvent): void {
    this.write('appendEvent', () => this.s.insertEvent.run(event.job_id, event.sequence, event.timestamp, event.phase, JSON.stringify(event)));
  }

  events(jobId: string): StoredEvent[] {
    return (this.s.events.all(jobId) as { doc: string }[]).map((r) => JSON.parse(r.doc) as StoredEvent);
  }

  result(jobId: string): unknown {
    const r = this.read('result', () => this.s.getResult.get(jobId) as { doc: string } | undefined);
    return r ? (JSON.parse(r.doc) as unknown) : undefined;
  }

  /** Jobs a worker held (assigned/running, or pending after a retry back-off). */
  activeJobsOf(workerId: string): JobRow[] {
    return this.read('activeJobsOf', () => this.s.activeOf.all(workerId) as JobRow[]);
  }

  attempts(jobId: string): { attempt: number; worker_id: string; status: string; error_code: string | null; started_at: number; finished_at: number | null }[] {
    return this.s.attempts.all(jobId) as never;
  }

  transitions(jobId?: string): TransitionRow[] {
    return (jobId === undefined ? this.s.transitions.all() : this.s.jobTransitions.all(jobId)) as TransitionRow[];
  }

  registerWorker(workerId: string, registration: unknown, state: string, currentJobs: number, now = Date.now()): void {
    this.write('registerWorker', () => this.s.upsertWorker.run({ worker_id: workerId, registration: JSON.stringify(registration), state, current_jobs: currentJobs, now }));
  }

  heartbeat(workerId: string, state: string, currentJobs: number, now = Date.now()): void {
    this.write('heartbeat', () => this.s.heartbeat.run(state, currentJobs, now, workerId));
  }

  /**
   * One real write (the worker's heartbeat), committed on its own with a short lock wait:
   * succeeds only when the store takes writes again. Throws StoreUnavailableError otherwise.
   */
  probe(workerId: string, state: string, currentJobs: number, maxWaitMs = 250): void {
    this.commitBatch();
    const wait = Math.min(this.busyTimeoutMs, maxWaitMs);
    this.db.pragma(`busy_timeout = ${wait}`);
    try {
      this.tx('probe', () => this.s.heartbeat.run(state, currentJobs, Date.now(), workerId));
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  /** Why writes fail now; undefined while the store works. */
  get unavailable(): StoreFailure | undefined {
    return this.failure;
  }

  /** Called (synchronously, never throwing into the store) each time a write fails for store reasons. */
  onUnavailable(cb: (err: StoreUnavailableError) => void): void {
    this.unavailableListeners.push(cb);
  }

  worker(workerId: string): { worker_id: string; registration: unknown; state: string; current_jobs: number; last_heartbeat: number } | undefined {
    const r = this.s.getWorker.get(workerId) as { registration: string } | undefined;
    return r ? ({ ...r, registration: JSON.parse(r.registration) as unknown } as never) : undefined;
  }

  /** Workers that heartbeated since `sinceMs` and are not offline (the store's live fleet). */
  liveWorkers(sinceMs: number): string[] {
    return this.read('liveWorkers', () => (this.s.liveWorkers.all(sinceMs) as { worker_id: string }[]).map((r) => r.worker_id));
  }

  private mustGet(jobId: string): JobRow {
    const row = this.row(jobId);
    if (!row) throw new GuestkitError('NOT_FOUND', `job ${jobId} is not in the store`, { phase: 'execution' });
    return row;
  }

  /**
   * Runs `fn` in an IMMEDIATE transaction (takes the write lock up front: no upgrade
   * deadlocks between processes); a savepoint inside an open group commit.
   */
  private tx<T>(op: string, fn: () => T): T {
    return this.write(op, () => this.db.transaction(fn).immediate());
  }

  private failure?: StoreFailure;
  private readonly unavailableListeners: ((err: StoreUnavailableError) => void)[] = [];

  /** A write: a store-level SQLite failure rolls the open batch back and becomes StoreUnavailableError. */
  private write<T>(op: string, fn: () => T): T {
    let out: T;
    try {
      out = fn();
    } catch (err) {
      throw this.classify(op, err);
    }
    // a write committed on its own proves the store works again
    if (this.failure && !this.batchOpen && !this.db.inTransaction) this.failure = undefined;
    return out;
  }

  private read<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.classify(op, err);
    }
  }

  private classify(op: string, err: unknown): unknown {
    if (err instanceof StoreUnavailableError) return err;
    const code = sqliteCode(err);
    if (code === undefined || !UNAVAILABLE_CODES.test(code)) return err;
    return this.fail(op, err);
  }

  private fail(op: string, cause: unknown): StoreUnavailableError {
    const e = new StoreUnavailableError(op, cause);
    this.failure = { since: this.failure?.since ?? Date.now(), code: e.sqliteCode, error: e.message };
    // SQLite may have rolled the transaction back already; what the batch held is lost either way
    if (this.batchOpen) this.abortBatch();
    for (const cb of this.unavailableListeners) {
      try {
        cb(e);
      } catch {
        /* a listener must not break the store */
      }
    }
    return e;
  }

  private batchOpen = false;
  private batchSeq = 0;
  private readonly afterCommitQueue: { ok: () => void; lost?: () => void }[] = [];

  /** The open group commit's number (changes with every batch); 0 when none is open. */
  get batchId(): number {
    return this.batchOpen ? this.batchSeq : 0;
  }

  /**
   * Group commit: the writes of the rest of this event-loop turn share one transaction,
   * committed on setImmediate. Each method still runs atomically (as a savepoint).
   * Side effects that must not be seen before the commit go through afterCommit().
   */
  beginBatch(): void {
    if (this.batchOpen || this.db.inTransaction) return;
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw this.classify('begin', err);
    }
    this.batchOpen = true;
    this.batchSeq++;
    setImmediate(() => this.commitBatch());
  }

  /**
   * Opens a group commit only if the write lock is free now (no busy wait): false while
   * another process holds it, so the caller can retry later without blocking its event loop.
   */
  tryBeginBatch(): boolean {
    if (this.batchOpen || this.db.inTransaction) return true;
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_BUSY') return false;
      throw this.classify('begin', err);
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
    this.batchOpen = true;
    this.batchSeq++;
    setImmediate(() => this.commitBatch());
    return true;
  }

  /** How long a write waits for another process's lock (ms). */
  get busyTimeout(): number {
    return this.busyTimeoutMs;
  }

  /**
   * Commits the open batch. Never throws: a failed COMMIT rolls the batch back, the
   * `lost` callbacks of its afterCommit entries run, and the store reports unavailable.
   */
  commitBatch(): void {
    if (!this.batchOpen) return;
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.fail('commit', err); // aborts the batch (still marked open)
      return;
    }
    this.batchOpen = false;
    this.failure = undefined;
    this.runQueue('ok');
  }

  private abortBatch(): void {
    this.batchOpen = false;
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      /* already rolled back by SQLite, or the connection is broken */
    }
    this.runQueue('lost');
  }

  private runQueue(which: 'ok' | 'lost'): void {
    for (const entry of this.afterCommitQueue.splice(0)) {
      try {
        entry[which]?.();
      } catch {
        /* callbacks handle their own errors; one must not starve the others */
      }
    }
  }

  /**
   * Runs `ok` once what was written so far is committed (now, when no batch is open);
   * `lost` instead when the open batch is rolled back (a failed COMMIT).
   */
  afterCommit(ok: () => void, lost?: () => void): void {
    if (this.batchOpen) this.afterCommitQueue.push({ ok, lost });
    else ok();
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
