import type { Span } from '@opentelemetry/api';
import type { HandlerRegistry } from '../jobs/registry.js';
import type { HandlerDefinition, HandlerOutput, ProgressUpdate } from '../jobs/types.js';
import {
  canRun,
  cancelledResult,
  completedResult,
  failedResult,
  GuestkitError,
  nowTimestamp,
  operationSpec,
  timeoutResult,
  timestampMillis,
  toProtocolError,
  validatePayload,
  validationError,
  type JobDocument,
  type JobResult,
  type ProgressEvent,
  type ProtocolError,
  type WorkerRegistration,
} from '../protocol/index.js';
import { isStoreUnavailable, type JobRow, type Store, type TerminalStatus } from '../store/store.js';
import { verifySha256 } from './checksum.js';
import { Heap } from './heap.js';
import type { Logger } from './logger.js';
import type { WorkerMetrics } from './metrics.js';
import type { PathPolicy } from './path-policy.js';
import type { ThreadPool } from './thread-pool.js';
import { endSpan, jobParentContext, spanContextOf, startSpan } from './tracing.js';

/** A job a transport holds for this worker after an atomic claim. */
export interface ClaimedJob {
  /** Transport reference recorded with the job (spool file name, queue id). */
  readonly source: string;
  /** A progress event (already numbered and stored). */
  event(ev: ProgressEvent): void;
  /** The job ended; its result is in the store already. Publish it and archive the job. */
  finish(result: JobResult): void;
  /** Give the job back so any worker may take it (drain, start-up recovery). */
  release(): void;
  /** The job id already ran or is held elsewhere: archive without touching its result. */
  duplicate(reason: string): void;
}

/** A job a transport has seen and this worker may claim when a slot is free. */
export interface JobOffer {
  readonly job: JobDocument;
  /** Set when the transport claimed the job before offering it (claim() then returns it). */
  readonly held?: ClaimedJob;
  /** Atomic claim; null when another worker got it first (or it vanished). */
  claim(): ClaimedJob | null;
}

export interface ExecutorOptions {
  workerId: string;
  maxConcurrent: number;
  store: Store;
  registry: HandlerRegistry;
  threads: ThreadPool;
  pathPolicy: PathPolicy;
  logger: Logger;
  metrics: WorkerMetrics;
  /** The current registration document (capabilities, pool, version) for constraint checks. */
  registration: () => WorkerRegistration;
  /** First retry back-off; doubles per attempt up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Default per-job memory cap of thread handlers (MiB); jobs may ask for less or more via constraints.max_memory_mb. */
  memoryLimitMb?: number;
  /** While the store fails: first probe after this long, doubling up to storeRetryMaxMs. */
  storeRetryBaseMs?: number;
  storeRetryMaxMs?: number;
  /** After each job leaves its slot, with the number of jobs still waiting here (transports refill). */
  onSlotFree?: (queued: number) => void;
}

/** `store`: what the job recorded was rolled back (failed group commit); it is run again. */
type AbortKind = 'timeout' | 'cancel' | 'drain' | 'store';

interface Waiting {
  job: JobDocument;
  priority: number;
  seq: number;
  offer?: JobOffer;
  claimed?: ClaimedJob;
  dead: boolean;
  /** Re-run after a store failure: its half-recorded state is released before admission. */
  rerun?: boolean;
  /** A cancel that arrived while the store could not record it. */
  cancel?: string;
}

/** A finished job whose end the store could not record yet; published once it is. */
interface Unrecorded {
  r: Running;
  status: TerminalStatus;
  result: JobResult;
}

interface Running {
  job: JobDocument;
  claimed: ClaimedJob;
  ctl: AbortController;
  abort?: AbortKind;
  attempt: number;
  nextSeq: number;
  startedAt: Date;
  done: boolean;
  span: Span;
  log: Logger;
  bytesRead: number;
  rerun: boolean;
  /** The open group commit this job last wrote into (0 = all committed). */
  batch: number;
  /** A group commit holding its writes was rolled back. */
  storeLost: boolean;
  /** Handed back for a re-run after a store failure (this Running is finished with). */
  requeued: boolean;
}

/** Result of a cancel request. */
export type CancelOutcome = 'cancelled' | 'cancelling' | 'refused' | 'unknown';

/** Jobs started per event-loop turn before yielding (one group commit each). */
const DISPATCH_BUDGET = 64;

/** Routing rules that mean "some other worker should take this", not "this job cannot run". */
const ROUTING_CONSTRAINTS = new Set(['routing.worker_id', 'routing.worker_pool', 'constraints.allowed_worker_pools']);

/**
 * Runs jobs: priority order among waiting jobs, a hard concurrency limit, the durable
 * state machine in the store, pre-checks (payload, capabilities, deadline, idempotency,
 * path policy, checksum) before any handler code, timeouts that terminate the handler's
 * thread, cancellation, retries with exponential back-off, and drain.
 */
export class Executor {
  private readonly heap = new Heap<Waiting>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq));
  private readonly waiting = new Map<string, Waiting>();
  private readonly backoff = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Running>();
  private readonly idleWaiters: (() => void)[] = [];
  private seq = 0;
  private draining = false;
  private dispatching = false;
  private dispatchDeferred = false;
  private startedThisTurn = 0;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly unrecorded = new Map<string, Unrecorded>();
  private storeDown = false;
  private storeDownSince = 0;
  private recoveryTimer?: NodeJS.Timeout;
  private recoveryDelayMs = 0;
  private lockWaitSince = 0;
  private rateWindowStart = Date.now();
  private rateCount = 0;
  private lastRate = 0;
  private lockRetry?: NodeJS.Timeout;

  constructor(private readonly o: ExecutorOptions) {
    this.retryBaseMs = o.retryBaseMs ?? 1000;
    this.retryMaxMs = o.retryMaxMs ?? 300_000;
    o.store.onUnavailable(() => this.storeFailed());
  }

  /** False while the store cannot take writes: nothing new starts, accepted jobs are kept. */
  get storeAvailable(): boolean {
    return !this.storeDown;
  }

  /** Jobs finished per second lately (the last full second, or the current one when busier). */
  get recentRate(): number {
    const now = Date.now();
    const span = now - this.rateWindowStart;
    const current = (this.rateCount * 1000) / Math.max(250, span);
    return span > 2000 ? current : Math.max(this.lastRate, current);
  }

  private noteDone(): void {
    const now = Date.now();
    const span = now - this.rateWindowStart;
    if (span >= 1000) {
      this.lastRate = span > 2000 ? 0 : (this.rateCount * 1000) / span;
      this.rateWindowStart = now;
      this.rateCount = 0;
    }
    this.rateCount++;
  }

  /** Finished jobs whose end waits for the store to record it. */
  get unrecordedCount(): number {
    return this.unrecorded.size;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Jobs waiting here: offered but not started, or in retry back-off. */
  get queued(): number {
    return this.waiting.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Whether this executor already knows the job (waiting, backing off or running). */
  knows(jobId: string): boolean {
    return this.waiting.has(jobId) || this.running.has(jobId) || this.unrecorded.has(jobId);
  }

  /**
   * Whether this worker should take the job at all: false when only routing points
   * elsewhere (another worker or pool will take it). Capability gaps are not routing:
   * those jobs are claimed and answered with CAPABILITY_MISMATCH.
   */
  routedHere(job: JobDocument): { ok: true } | { ok: false; why: string } {
    const res = canRun(job, this.o.registration());
    if (res.ok) return res;
    if (res.unmet.every((u) => ROUTING_CONSTRAINTS.has(u.constraint))) {
      return { ok: false, why: res.unmet.map((u) => u.message).join('; ') };
    }
    return { ok: true };
  }

  /** Offers a job; returns false when it is already known here. */
  offer(offer: JobOffer): boolean {
    return this.offerMany([offer]) === 1;
  }

  /** Offers a batch, then dispatches once: a backlog found at once runs in priority order. */
  offerMany(offers: readonly JobOffer[], opts: { dispatch?: boolean } = {}): number {
    let n = 0;
    for (const offer of offers) {
      const id = offer.job.job_id;
      if (this.knows(id) || this.draining) continue;
      const w: Waiting = { job: offer.job, priority: offer.job.execution.priority, seq: this.seq++, offer, dead: false };
      this.waiting.set(id, w);
      this.heap.push(w);
      n++;
    }
    this.updateGauges();
    if (opts.dispatch !== false) this.dispatch();
    return n;
  }

  /** Starts waiting jobs while slots are free (after offerMany with dispatch: false). */
  kick(): void {
    this.dispatch();
  }

  /** The transport lost the job before it was claimed (another worker took it). */
  withdraw(jobId: string): void {
    const w = this.waiting.get(jobId);
    if (w && !w.claimed) {
      w.dead = true;
      this.waiting.delete(jobId);
      this.updateGauges();
    }
  }

  /** Cancels a waiting or running job (refused when the job says cancellable: false). */
  cancel(jobId: string, reason = 'cancel requested'): CancelOutcome {
    const r = this.running.get(jobId);
    if (r) {
      if (!r.job.execution.cancellable) return 'refused';
      if (!r.abort) {
        r.abort = 'cancel';
        r.log.info({ reason }, 'cancelling running job');
        r.ctl.abort(new GuestkitError('CANCELLED', reason));
      }
      return 'cancelling';
    }
    const w = this.waiting.get(jobId);
    if (!w) return 'unknown';
    if (!w.job.execution.cancellable) return 'refused';
    if (this.storeDown) {
      // cannot be recorded now: it is applied when the job is admitted after recovery
      w.cancel = reason;
      return 'cancelling';
    }
    const claimed = w.claimed ?? w.offer?.claim() ?? null;
    w.dead = true;
    this.waiting.delete(jobId);
    const t = this.backoff.get(jobId);
    if (t) clearTimeout(t);
    this.backoff.delete(jobId);
    this.updateGauges();
    if (!claimed) return 'unknown';
    const r2 = this.newRunning(w.job, claimed, w.rerun);
    r2.abort = 'cancel';
    try {
      if (r2.rerun) this.o.store.releaseInterrupted(jobId, this.o.workerId);
      if (this.admit(r2)) this.finish(r2, 'cancelled', cancelledResult({ job: this.jobAt(r2), workerId: this.o.workerId, startedAt: r2.startedAt, message: reason, phase: 'validation' }));
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      this.requeueForStore(r2, reason);
      return 'cancelling';
    }
    return 'cancelled';
  }

  /**
   * Stops taking jobs; running ones get `timeoutMs` to finish, the rest are interrupted
   * and given back (their attempt is not counted). Jobs in retry back-off are given back.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const [id, w] of this.waiting) {
      w.dead = true;
      const held = w.claimed ?? w.offer?.held;
      if (held) {
        const t = this.backoff.get(id);
        if (t) clearTimeout(t);
        this.backoff.delete(id);
        if (w.rerun && this.storeDown) {
          // its store row may still name this worker: given back now, another worker would
          // refuse it as a duplicate; our restart resolves it instead (no wait on a dead store)
          this.o.logger.warn({ job_id: id }, 'store unavailable at shutdown: the job stays claimed for restart recovery');
          continue;
        }
        try {
          if (w.rerun) this.o.store.releaseInterrupted(id, this.o.workerId);
          // a pending row left by a retry back-off: whoever admits it next resumes it anyway
          if (w.claimed && !this.storeDown) this.o.store.unassign(id);
        } catch (err) {
          // the store still says this worker holds it: only our restart may resolve it
          this.o.logger.warn({ job_id: id, err: String(err) }, 'store unavailable at shutdown: the job stays claimed for restart recovery');
          continue;
        }
        held.release();
      }
    }
    this.waiting.clear();
    this.updateGauges();
    if (this.unrecorded.size > 0) this.tryRecover();
    if (this.running.size > 0) {
      await Promise.race([this.whenIdle(), new Promise((r) => setTimeout(r, Math.max(0, timeoutMs)).unref())]);
    }
    for (const r of this.running.values()) {
      if (!r.abort) {
        r.abort = 'drain';
        r.ctl.abort(new GuestkitError('EXECUTION_ERROR', 'worker is shutting down'));
      }
    }
    await this.whenIdle();
    if (this.unrecorded.size > 0) this.tryRecover();
    if (this.recoveryTimer) clearTimeout(this.recoveryTimer);
    this.recoveryTimer = undefined;
    if (this.unrecorded.size > 0) {
      this.o.logger.warn({ jobs: [...this.unrecorded.keys()] }, 'store unavailable at shutdown: finished jobs could not be recorded; they stay claimed for restart recovery');
    }
  }

  /** Resolves when nothing is running. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Start-up recovery of a job this worker held when it died: decides from the store
   * whether it is given back (attempt + 1 counted for a lost running attempt) or ends
   * WORKER_LOST (attempts exhausted) / was already finished.
   */
  recover(job: JobDocument | null, jobId: string): { action: 'release' } | { action: 'archive'; result: JobResult | undefined } {
    const store = this.o.store;
    const row = store.getJob(jobId);
    if (!row) return { action: 'release' };
    if (row.status === 'completed' || row.status === 'failed' || row.status === 'cancelled' || row.status === 'timeout') {
      return { action: 'archive', result: store.result(jobId) as JobResult | undefined };
    }
    if (row.status === 'pending' || row.status === 'assigned') {
      if (row.status === 'assigned') store.transition(jobId, 'pending', { workerId: null, reason: 'recovered (never started)' });
      else store.unassign(jobId);
      return { action: 'release' };
    }
    // running: the attempt died with the worker
    if (row.attempt < row.max_attempts) {
      store.transition(jobId, 'pending', { workerId: null, reason: 'worker_lost', attemptOutcome: 'lost', errorCode: 'WORKER_LOST' });
      this.o.logger.warn({ job_id: jobId, attempt: row.attempt, max_attempts: row.max_attempts }, 'job was running when the worker died; re-queued');
      return { action: 'release' };
    }
    const doc = job ?? (JSON.parse(row.doc) as JobDocument);
    const result = this.lostResult(doc, row);
    store.finish(jobId, 'failed', result, { errorCode: 'WORKER_LOST', errorMessage: result.error?.message, reason: 'worker_lost', idempotencyScope: scopeOf(doc) });
    this.o.metrics.jobs.inc({ operation: row.operation, status: 'failed' });
    this.o.logger.warn({ job_id: jobId, attempt: row.attempt }, 'job was running when the worker died and has no attempts left: WORKER_LOST');
    return { action: 'archive', result };
  }

  /** Jobs the store says this worker holds but no transport returned at recovery: they end WORKER_LOST. */
  failOrphans(except: ReadonlySet<string>): JobResult[] {
    const out: JobResult[] = [];
    for (const row of this.o.store.activeJobsOf(this.o.workerId)) {
      if (except.has(row.job_id) || this.knows(row.job_id)) continue;
      const doc = JSON.parse(row.doc) as JobDocument;
      const result = this.lostResult(doc, row);
      if (row.status === 'pending') this.o.store.transition(row.job_id, 'assigned', { reason: 'orphan' });
      this.o.store.finish(row.job_id, 'failed', result, { errorCode: 'WORKER_LOST', reason: 'orphan', idempotencyScope: scopeOf(doc) });
      out.push(result);
    }
    return out;
  }

  private lostResult(doc: JobDocument, row: JobRow): JobResult {
    return failedResult({
      job: { ...doc, execution: { ...doc.execution, attempt: Math.max(1, row.attempt) } },
      workerId: this.o.workerId,
      startedAt: new Date(row.started_at ?? row.queued_at),
      error: new GuestkitError('WORKER_LOST', `worker ${row.worker_id ?? this.o.workerId} stopped while running attempt ${row.attempt} of ${row.max_attempts}`, {
        phase: 'execution',
        recoverable: true,
        retryRecommended: true,
        details: { attempt: row.attempt, max_attempts: row.max_attempts },
      }),
    });
  }

  private dispatch(): void {
    if (this.dispatching || this.dispatchDeferred) return;
    this.dispatching = true;
    try {
      while (!this.draining && !this.storeDown && this.running.size < this.o.maxConcurrent && this.heap.size > 0) {
        // inline jobs finish within microtasks: without a budget a backlog would run in one
        // event-loop turn and starve timers, HTTP and the watcher
        if (++this.startedThisTurn > DISPATCH_BUDGET) {
          this.dispatchDeferred = true;
          setImmediate(() => {
            this.dispatchDeferred = false;
            this.startedThisTurn = 0;
            this.dispatch();
          });
          break;
        }
        if (!this.beginBatch()) break;
        const w = this.heap.pop()!;
        if (w.dead) continue;
        this.waiting.delete(w.job.job_id);
        const claimed = w.claimed ?? w.offer!.claim();
        if (!claimed) continue;
        const r = this.newRunning(w.job, claimed, w.rerun);
        if (w.cancel !== undefined) r.abort = 'cancel';
        this.running.set(w.job.job_id, r);
        void this.execute(r);
      }
    } catch (err) {
      // dispatch runs from timers and transports: a bug here is logged, never thrown at them
      this.o.logger.error({ err: String((err as Error)?.stack ?? err) }, 'dispatch failed');
    } finally {
      this.dispatching = false;
      this.updateGauges();
    }
  }

  /**
   * Opens the group commit for the jobs about to start. While another worker sharing the
   * store holds the write lock, dispatch is retried shortly instead of sleeping in SQLite's
   * busy handler (which would stall this worker's whole event loop); only a lock held past
   * the busy timeout is waited on, and then counts as a store failure. False = not now.
   */
  private beginBatch(): boolean {
    try {
      if (!this.o.store.tryBeginBatch()) {
        if (this.lockWaitSince === 0) this.lockWaitSince = Date.now();
        const waited = Date.now() - this.lockWaitSince;
        if (waited < this.o.store.busyTimeout) {
          // 1 ms at first (another worker's batch is short), longer while the lock stays taken
          this.lockRetry ??= setTimeout(() => {
            this.lockRetry = undefined;
            this.dispatch();
          }, Math.min(50, 1 + waited / 10));
          return false;
        }
        this.o.store.beginBatch();
      }
    } catch (err) {
      if (!isStoreUnavailable(err)) throw err;
      return false; // storeFailed() paused dispatching; the job stays waiting
    } finally {
      if (this.o.store.batchId !== 0) this.lockWaitSince = 0;
    }
    return true;
  }

  private newRunning(job: JobDocument, claimed: ClaimedJob, rerun = false): Running {
    const parent = jobParentContext(job.observability);
    const span = startSpan(`job ${job.operation}`, parent, { 'guestkit.job_id': job.job_id, 'guestkit.operation': job.operation, 'guestkit.worker_id': this.o.workerId });
    const traceId = job.observability?.trace_id ?? span.spanContext().traceId;
    return {
      job,
      claimed,
      ctl: new AbortController(),
      attempt: job.execution.attempt,
      nextSeq: 0,
      startedAt: new Date(),
      done: false,
      span,
      log: this.o.logger.child({ job_id: job.job_id, trace_id: traceId, operation: job.operation }),
      bytesRead: 0,
      rerun,
      batch: 0,
      storeLost: false,
      requeued: false,
    };
  }

  /** The job document with the attempt actually running (result builders read it there). */
  private jobAt(r: Running): JobDocument {
    return r.attempt === r.job.execution.attempt ? r.job : { ...r.job, execution: { ...r.job.execution, attempt: r.attempt } };
  }

  /** Records the claim in the store; false when the job id is a duplicate (archived, no result). */
  private admit(r: Running): boolean {
    const job = r.job;
    const out = this.o.store.admit({
      jobId: job.job_id,
      operation: job.operation,
      namespace: job.metadata?.namespace ?? undefined,
      priority: job.execution.priority,
      maxAttempts: job.execution.max_attempts,
      idempotencyKey: job.execution.idempotency_key ?? undefined,
      traceId: job.observability?.trace_id ?? undefined,
      doc: job,
      createdAt: job.created_at,
      source: r.claimed.source,
      workerId: this.o.workerId,
    });
    if (out.kind === 'duplicate') {
      r.done = true;
      const why = `job_id ${job.job_id} was already submitted (status ${out.row.status}${out.row.worker_id ? ` on ${out.row.worker_id}` : ''}); this copy is not run`;
      r.log.warn({ existing_status: out.row.status }, why);
      this.o.metrics.spoolRejected.inc({ reason: 'duplicate_job_id' });
      // the decision rests on a committed row: archive even if this batch is rolled back
      this.o.store.afterCommit(() => r.claimed.duplicate(why), () => r.claimed.duplicate(why));
      endSpan(r.span, { code: 'DUPLICATE_JOB', message: why });
      return false;
    }
    this.track(r);
    r.nextSeq = out.resumed ? this.o.store.nextEventSequence(job.job_id) : 0;
    r.attempt = Math.max(job.execution.attempt, out.row.attempt + 1);
    return true;
  }

  private emit(r: Running, u: ProgressUpdate): void {
    if (r.done) return;
    const ev: ProgressEvent = { job_id: r.job.job_id, timestamp: nowTimestamp(), sequence: r.nextSeq++, phase: u.phase, message: u.message };
    if (typeof u.progress_percent === 'number' && Number.isFinite(u.progress_percent)) ev.progress_percent = Math.min(100, Math.max(0, Math.round(u.progress_percent)));
    if (u.details) ev.details = u.details;
    const obs = r.job.observability;
    if (obs?.trace_id) ev.observability = { trace_id: obs.trace_id, span_id: r.span.spanContext().spanId };
    // while the store is down events still reach the events file; the store misses them
    if (!this.storeDown) {
      try {
        this.o.store.appendEvent(ev as ProgressEvent & { sequence: number; phase: string; timestamp: string });
        this.track(r);
      } catch (err) {
        if (!isStoreUnavailable(err)) r.log.warn({ err: String(err) }, 'could not record progress event');
      }
    }
    // to the events file only once recorded: a rolled-back run leaves no lines behind
    this.o.store.afterCommit(() => {
      try {
        r.claimed.event(ev);
      } catch (err) {
        r.log.warn({ err: String(err) }, 'could not write progress event');
      }
    });
  }

  /** Remembers that the job wrote into the open group commit: a rollback of it re-runs the job. */
  private track(r: Running): void {
    const b = this.o.store.batchId;
    if (b === 0 || r.batch === b) return;
    r.batch = b;
    this.o.store.afterCommit(
      () => {
        if (r.batch === b) r.batch = 0;
      },
      () => this.lostInRollback(r),
    );
  }

  /** A group commit holding the job's writes was rolled back: stop it and run it again later. */
  private lostInRollback(r: Running): void {
    r.storeLost = true;
    const parked = this.unrecorded.get(r.job.job_id);
    if (parked?.r === r) this.unrecorded.delete(r.job.job_id);
    if (!r.done) {
      if (!r.abort || r.abort === 'timeout') {
        r.abort = 'store';
        r.ctl.abort(new GuestkitError('EXECUTION_ERROR', 'job store unavailable; the job will run again'));
      }
      return;
    }
    this.requeueForStore(r);
  }

  /**
   * The store lost or could not take what this job recorded: nothing of it was published,
   * so it goes back to waiting (its claim kept) and runs again once the store answers.
   */
  private requeueForStore(r: Running, cancel?: string): void {
    if (r.requeued) return;
    r.requeued = true;
    r.done = true;
    endSpan(r.span, { code: 'EXECUTION_ERROR', message: 'job store unavailable; job kept for a re-run' });
    this.storeFailed();
    if (this.draining) {
      r.log.warn('job store unavailable during shutdown: the job stays claimed for restart recovery');
      return;
    }
    r.log.warn('job store unavailable: the job is kept and runs again once the store answers');
    const w: Waiting = {
      job: r.job,
      priority: r.job.execution.priority,
      seq: this.seq++,
      claimed: r.claimed,
      dead: false,
      rerun: true,
      cancel: cancel ?? (r.abort === 'cancel' ? 'cancel requested' : undefined),
    };
    this.waiting.set(r.job.job_id, w);
    this.heap.push(w);
    this.updateGauges();
  }

  /** The store could not record a finished job: keep the result, record and publish it later. */
  private park(r: Running, status: TerminalStatus, result: JobResult): void {
    this.unrecorded.set(r.job.job_id, { r, status, result });
    r.log.warn({ status }, 'job store unavailable: the job ended but its result is published only once the store records it');
    this.storeFailed();
  }

  /** Called on every store failure: pause and probe the store with back-off until it answers. */
  private storeFailed(): void {
    if (!this.storeDown) {
      this.storeDown = true;
      this.storeDownSince = Date.now();
      this.recoveryDelayMs = this.o.storeRetryBaseMs ?? 100;
      const f = this.o.store.unavailable;
      this.o.metrics.storeAvailable.set(0);
      this.o.metrics.storeFailures.inc();
      this.o.logger.error({ store_error: f?.code, err: f?.error }, 'job store unavailable: no new job starts; accepted jobs are kept and retried once it answers');
    }
    this.scheduleRecovery();
  }

  private scheduleRecovery(): void {
    if (this.recoveryTimer || (this.draining && this.running.size === 0 && this.unrecorded.size === 0)) return;
    const delay = this.recoveryDelayMs;
    this.recoveryDelayMs = Math.min(delay * 2, this.o.storeRetryMaxMs ?? 5000);
    this.recoveryTimer = setTimeout(() => {
      this.recoveryTimer = undefined;
      this.tryRecover();
    }, delay);
  }

  /** Probes the store; when it answers, records the parked results and resumes dispatching. */
  private tryRecover(): void {
    if (this.storeDown) {
      try {
        const state = this.draining ? 'draining' : this.running.size >= this.o.maxConcurrent ? 'busy' : 'ready';
        this.o.store.probe(this.o.workerId, state, this.running.size);
      } catch (err) {
        if (!isStoreUnavailable(err)) this.o.logger.error({ err: String(err) }, 'store probe failed');
        this.o.logger.warn({ store_error: this.o.store.unavailable?.code, retry_in_ms: this.recoveryDelayMs }, 'job store still unavailable');
        this.scheduleRecovery();
        return;
      }
      this.storeDown = false;
      this.lockWaitSince = 0;
      this.o.metrics.storeAvailable.set(1);
      this.o.logger.info({ unavailable_ms: Date.now() - this.storeDownSince, waiting: this.waiting.size, unrecorded: this.unrecorded.size }, 'job store available again; resuming');
    }
    for (const [id, p] of [...this.unrecorded]) {
      if (this.storeDown) break;
      this.unrecorded.delete(id);
      p.r.done = false;
      this.finish(p.r, p.status, p.result);
    }
    this.dispatch();
  }

  private async execute(r: Running): Promise<void> {
    const { job } = r;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (r.rerun) this.o.store.releaseInterrupted(job.job_id, this.o.workerId);
      if (!this.admit(r)) return;
      if (r.abort === 'cancel') {
        this.finish(r, 'cancelled', cancelledResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, phase: 'validation' }));
        return;
      }
      const def = this.precheck(r);
      if (!def) return;
      if (!this.idempotency(r)) return;

      r.attempt = this.o.store.startAttempt(job.job_id, this.o.workerId, r.attempt);
      this.track(r);
      r.startedAt = new Date();
      r.span.setAttribute('guestkit.attempt', r.attempt);
      r.log.debug({ attempt: r.attempt }, 'job started');
      this.o.metrics.inFlight.set(this.running.size);

      // timeout_seconds, cut short by the deadline
      let budget = job.execution.timeout_seconds * 1000;
      let budgetIsDeadline = false;
      if (job.execution.deadline) {
        const left = timestampMillis(job.execution.deadline) - Date.now();
        if (left < budget) {
          budget = left;
          budgetIsDeadline = true;
        }
      }
      timer = setTimeout(() => {
        if (!r.abort) {
          r.abort = 'timeout';
          r.ctl.abort(new GuestkitError('TIMEOUT', 'timeout'));
        }
      }, Math.max(0, budget));
      const aborted = new Promise<never>((_, reject) => r.ctl.signal.addEventListener('abort', () => reject(r.ctl.signal.reason as Error), { once: true }));
      aborted.catch(() => undefined);

      let output: HandlerOutput;
      const handlerStart = process.hrtime.bigint();
      try {
        output = await Promise.race([this.runAttempt(r, def), aborted]);
      } catch (err) {
        clearTimeout(timer);
        this.o.metrics.handlerDuration.observe({ operation: job.operation }, Number(process.hrtime.bigint() - handlerStart) / 1e9);
        this.afterFailure(r, err, budgetIsDeadline);
        return;
      }
      clearTimeout(timer);
      this.o.metrics.handlerDuration.observe({ operation: job.operation }, Number(process.hrtime.bigint() - handlerStart) / 1e9);
      this.emit(r, { phase: 'result_generation', progress_percent: 100, message: 'completed' });
      const metrics = { disk_read_bytes: r.bytesRead, ...(output.metrics ?? {}) };
      if (typeof output.metrics?.disk_read_bytes === 'number') metrics.disk_read_bytes = r.bytesRead + output.metrics.disk_read_bytes;
      this.o.metrics.imageBytesRead.inc({ operation: job.operation }, metrics.disk_read_bytes);
      const result = completedResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, data: output.data, outputs: output.outputs, metrics });
      this.setObservability(r, result);
      this.finish(r, 'completed', result);
    } catch (err) {
      clearTimeout(timer);
      if (isStoreUnavailable(err) || r.storeLost || r.abort === 'store') {
        // the store could not take the job's records: nothing was published, run it again later
        this.requeueForStore(r);
      } else {
        // a bug in the executor itself: never leave the job in limbo
        r.log.error({ err: String((err as Error)?.stack ?? err) }, 'executor error');
        if (!r.done) this.finishError(r, err, 'execution');
      }
    } finally {
      // a re-run after a store failure may already hold the slot under the same id
      if (this.running.get(job.job_id) === r) this.running.delete(job.job_id);
      this.o.metrics.inFlight.set(this.running.size);
      if (this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.noteDone();
      this.dispatch();
      this.o.onSlotFree?.(this.waiting.size);
    }
  }

  /** Handler lookup, payload schema, constraints, deadline. Returns undefined when the job was answered. */
  private precheck(r: Running): HandlerDefinition | undefined {
    const { job } = r;
    const def = this.o.registry.get(job.operation);
    if (!def) {
      const known = operationSpec(job.operation);
      this.finishError(r, new GuestkitError('UNSUPPORTED_OPERATION', known
        ? `operation ${job.operation} is part of the protocol but this worker has no handler for it`
        : `operation ${job.operation} is not supported`, { phase: 'validation', details: { operation: job.operation, supported: this.o.registry.capabilities().operations } }), 'validation');
      return undefined;
    }
    // protocol operations have payload schemas; test.* handlers validate their own data
    if (operationSpec(job.operation)) {
      const pv = validatePayload(job);
      if (!pv.ok) {
        const err = pv.code === 'UNSUPPORTED_OPERATION'
          ? new GuestkitError('UNSUPPORTED_OPERATION', pv.errors.map((e) => `${e.path}: ${e.message}`).join('; '), { phase: 'validation', details: { errors: pv.errors } })
          : validationError(pv.errors, 'invalid payload');
        this.finishError(r, err, 'validation');
        return undefined;
      }
    }
    const can = canRun(job, this.o.registration());
    if (!can.ok) {
      this.finishError(r, new GuestkitError('CAPABILITY_MISMATCH', `worker ${this.o.workerId} cannot run this job: ${can.unmet.map((u) => u.message).join('; ')}`, {
        phase: 'validation',
        details: { unmet: can.unmet },
      }), 'validation');
      return undefined;
    }
    if (job.execution.deadline && timestampMillis(job.execution.deadline) <= Date.now()) {
      const result = timeoutResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, phase: 'validation', message: `deadline ${job.execution.deadline} passed before the job could start` });
      this.setObservability(r, result);
      this.finish(r, 'timeout', result);
      return undefined;
    }
    return def;
  }

  /** Durable idempotency: false when the job was answered (replayed result or refused duplicate). */
  private idempotency(r: Running): boolean {
    const key = r.job.execution.idempotency_key;
    if (!key) return true;
    const got = this.o.store.acquireIdempotency(scopeOf(r.job), key, r.job.job_id);
    this.track(r);
    if (got.kind === 'acquired') return true;
    if (got.kind === 'completed') {
      const first = got.result as JobResult;
      const result: JobResult = {
        ...first,
        job_id: r.job.job_id,
        worker_id: this.o.workerId,
        idempotent_replay: { idempotency_key: key, original_job_id: got.jobId },
      };
      r.log.info({ original_job_id: got.jobId, idempotency_key: key }, 'idempotency key already completed: returning the first result without running');
      this.emit(r, { phase: 'validation', progress_percent: 100, message: `idempotency key already completed by job ${got.jobId}; returning its result` });
      this.finish(r, 'completed', result);
      return false;
    }
    this.finishError(r, new GuestkitError('DUPLICATE_JOB', `idempotency key ${JSON.stringify(key)} is held by job ${got.jobId}, which is still running`, {
      phase: 'validation',
      recoverable: true,
      retryRecommended: true,
      details: { idempotency_key: key, running_job_id: got.jobId },
    }), 'validation');
    return false;
  }

  /** Path policy and checksum (before any parsing), then the handler inline or in a pool thread. */
  private async runAttempt(r: Running, def: HandlerDefinition): Promise<HandlerOutput> {
    const { job } = r;
    const data = job.payload.data;
    this.emit(r, { phase: 'validation', progress_percent: 0, message: `attempt ${r.attempt} of ${job.execution.max_attempts} started` });
    const resolved: string[] = [];
    const refs = def.images?.(data) ?? [];
    if (refs.length > 0 || def.outputs) {
      const span = startSpan('validation', spanContextOf(r.span, jobParentContext(job.observability)));
      try {
        for (const ref of refs) {
          const real = await this.o.pathPolicy.resolve(ref.path, `payload.data.${ref.field}`);
          if (ref.checksum) {
            this.emit(r, { phase: 'validation', message: `verifying sha256 of ${ref.path}` });
            r.bytesRead += await verifySha256(real, ref.checksum, `payload.data.${ref.field.replace(/\.path$/, '')}.checksum`, r.ctl.signal);
          }
          resolved.push(real);
        }
        for (const out of def.outputs?.(data) ?? []) await this.o.pathPolicy.checkOutput(out.path, `payload.data.${out.field}`);
      } catch (err) {
        endSpan(span, toProtocolError(err));
        throw err;
      }
      endSpan(span);
    }
    const span = startSpan('execute', spanContextOf(r.span, jobParentContext(job.observability)), { 'guestkit.isolation': def.isolation, 'guestkit.attempt': r.attempt });
    try {
      const out = await this.runHandler(r, def, resolved);
      endSpan(span);
      return out;
    } catch (err) {
      endSpan(span, toProtocolError(err));
      throw err;
    }
  }

  private async runHandler(r: Running, def: HandlerDefinition, resolved: string[]): Promise<HandlerOutput> {
    const { job } = r;
    const data = job.payload.data;
    if (def.isolation === 'inline') {
      return def.run({ job, attempt: r.attempt, workerId: this.o.workerId, signal: r.ctl.signal, resolvedImages: resolved, allowedRoots: this.o.pathPolicy.allowedRoots(), progress: (u) => this.emit(r, u) }, data);
    }
    const cap = memoryCapOf(job) ?? this.o.memoryLimitMb;
    let reply;
    try {
      reply = await this.o.threads.run(
        { operation: job.operation, job, attempt: r.attempt, workerId: this.o.workerId, resolvedImages: resolved, allowedRoots: this.o.pathPolicy.allowedRoots() },
        { signal: r.ctl.signal, onProgress: (u) => this.emit(r, u), memoryLimitMb: cap },
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      const exited = /^worker exited with code: (-?\d+)/.exec(String((err as Error)?.message));
      if (exited && !r.abort) {
        throw new GuestkitError('EXECUTION_ERROR', `the handler thread exited (code ${exited[1]}) before finishing the job`, {
          phase: 'execution',
          details: { exit_code: Number(exited[1]) },
        });
      }
      if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
        throw new GuestkitError('EXECUTION_ERROR', `handler exceeded its memory limit of ${cap ?? 'default'} MiB and was stopped`, {
          phase: 'execution',
          recoverable: false,
          retryRecommended: false,
          details: { memory_limit_mb: cap ?? null },
        });
      }
      throw err;
    }
    if (!reply.ok) throw fromProtocol(reply.error);
    return { ...reply.output, metrics: { peak_memory_mb: reply.heapMb, ...(reply.output.metrics ?? {}) } };
  }

  private afterFailure(r: Running, err: unknown, budgetIsDeadline: boolean): void {
    const { job } = r;
    const kind = r.abort;
    if (kind === 'store' || r.storeLost) return this.requeueForStore(r);
    if (kind === 'drain') {
      this.o.store.transition(job.job_id, 'pending', { workerId: null, reason: 'drain', attemptOutcome: 'interrupted', refundAttempt: true });
      r.done = true;
      r.log.info('interrupted by shutdown; job given back');
      endSpan(r.span);
      this.o.store.afterCommit(
        () => r.claimed.release(),
        () => r.log.warn('store unavailable at shutdown: the job stays claimed for restart recovery'),
      );
      return;
    }
    if (kind === 'cancel') {
      const result = cancelledResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt });
      this.setObservability(r, result);
      this.finish(r, 'cancelled', result);
      return;
    }
    const deadlinePassed = job.execution.deadline ? timestampMillis(job.execution.deadline) <= Date.now() + 50 : false;
    if (kind === 'timeout') {
      const secs = job.execution.timeout_seconds;
      const message = budgetIsDeadline ? `job did not finish before its deadline ${job.execution.deadline}` : `job exceeded its timeout of ${secs} s and was stopped`;
      if (r.attempt < job.execution.max_attempts && !deadlinePassed) return this.retry(r, { code: 'TIMEOUT', message });
      const result = timeoutResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, message });
      this.setObservability(r, result);
      this.finish(r, 'timeout', result);
      return;
    }
    const perr = toProtocolError(err, 'execution');
    if (perr.retry_recommended && r.attempt < job.execution.max_attempts && !deadlinePassed) return this.retry(r, perr);
    this.finishError(r, err, 'execution');
  }

  private retry(r: Running, err: Pick<ProtocolError, 'code' | 'message'>): void {
    const { job } = r;
    const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (r.attempt - 1)) * (1 + Math.random() * 0.1);
    const at = Date.now() + delay;
    this.o.store.transition(job.job_id, 'pending', { reason: `retry after ${err.code}`, errorCode: err.code, errorMessage: err.message, attemptOutcome: err.code === 'TIMEOUT' ? 'timeout' : 'failed', nextAttemptAt: at });
    this.emit(r, { phase: 'execution', message: `attempt ${r.attempt} failed (${err.code}: ${err.message}); retrying in ${Math.round(delay)} ms`, details: { code: err.code, next_attempt: r.attempt + 1 } });
    this.o.metrics.retries.inc({ operation: job.operation });
    r.log.warn({ attempt: r.attempt, code: err.code, delay_ms: Math.round(delay) }, 'attempt failed; will retry');
    r.done = true;
    endSpan(r.span, err);
    const w: Waiting = { job, priority: job.execution.priority, seq: this.seq++, claimed: r.claimed, dead: false };
    this.waiting.set(job.job_id, w);
    this.backoff.set(
      job.job_id,
      setTimeout(() => {
        this.backoff.delete(job.job_id);
        if (w.dead) return;
        this.heap.push(w);
        this.dispatch();
      }, delay),
    );
    this.updateGauges();
  }

  private finishError(r: Running, err: unknown, phase: string): void {
    const result = failedResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, error: err instanceof GuestkitError ? err : toProtocolErrorAsError(err, phase) });
    if (r.bytesRead) result.metrics = { ...(result.metrics ?? {}), disk_read_bytes: r.bytesRead };
    this.setObservability(r, result);
    this.finish(r, 'failed', result);
  }

  private setObservability(r: Running, result: JobResult): void {
    result.observability = { trace_id: r.job.observability?.trace_id ?? r.span.spanContext().traceId, span_id: r.span.spanContext().spanId };
  }

  private finish(r: Running, status: TerminalStatus, result: JobResult): void {
    const { job } = r;
    if (r.done) return;
    r.done = true;
    if (r.storeLost) return this.requeueForStore(r);
    // a store known to fail is not asked (each try may wait out the busy timeout)
    if (this.storeDown) return this.park(r, status, result);
    try {
      this.o.store.finish(job.job_id, status, result, {
        errorCode: result.error?.code,
        errorMessage: result.error?.message,
        idempotencyScope: scopeOf(job),
      });
    } catch (err) {
      if (isStoreUnavailable(err)) {
        // rolled back with its batch (then it re-runs), or just not recorded yet (then it waits)
        if (r.storeLost) return this.requeueForStore(r);
        return this.park(r, status, result);
      }
      r.log.error({ err: String(err) }, 'could not record the job end in the store');
    }
    // the result is published only once its store record is committed (group commit)
    this.o.store.afterCommit(
      () => r.claimed.finish(result),
      () => this.lostInRollback(r),
    );
    const secs = (Date.now() - r.startedAt.getTime()) / 1000;
    this.o.metrics.jobs.inc({ operation: job.operation, status });
    this.o.metrics.jobDuration.observe({ operation: job.operation, status }, secs);
    const fields = { status, attempt: r.attempt, duration_ms: Math.round(secs * 1000), ...(result.error ? { code: result.error.code, error: result.error.message } : {}) };
    if (status === 'completed') r.log.info(fields, 'job completed');
    else r.log.warn(fields, `job ${status}`);
    endSpan(r.span, result.error ?? undefined);
  }

  private updateGauges(): void {
    this.o.metrics.queueDepth.set(this.waiting.size);
  }
}

/** Idempotency keys are scoped by namespace (the tenant boundary). */
export function scopeOf(job: Pick<JobDocument, 'metadata'>): string {
  return job.metadata?.namespace ?? '';
}

/** A job's own memory cap (constraints.max_memory_mb, a guestkit extension), bounded. */
function memoryCapOf(job: JobDocument): number | undefined {
  const v = (job.constraints as Record<string, unknown> | null | undefined)?.max_memory_mb;
  return typeof v === 'number' && Number.isFinite(v) && v >= 16 ? Math.min(Math.floor(v), 64 * 1024) : undefined;
}

function fromProtocol(e: ProtocolError): GuestkitError {
  return new GuestkitError(e.code, e.message, { phase: e.phase, details: e.details, recoverable: e.recoverable, retryRecommended: e.retry_recommended });
}

function toProtocolErrorAsError(err: unknown, phase: string): GuestkitError {
  return fromProtocol(toProtocolError(err, phase));
}
