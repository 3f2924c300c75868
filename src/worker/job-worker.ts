import type { Span } from '@opentelemetry/api';
import type { JobEvents } from '../events/job-events.js';
import type { CancelOutcome } from '../ports/intake.js';
import type { HandlerRegistry } from '../jobs/registry.js';
import type { HandlerOutput, ProgressUpdate } from '../jobs/types.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import { endSpan, jobParentContext, startSpan } from '../observability/tracing.js';
import {
  cancelledResult,
  completedResult,
  failedResult,
  GuestkitError,
  nowTimestamp,
  timeoutResult,
  timestampMillis,
  toProtocolError,
  type JobDocument,
  type JobResult,
  type ProgressEvent,
  type ProtocolError,
  type TerminalStatus,
  type WorkerRegistration,
  type WorkerState,
} from '../protocol/index.js';
import type { JobQueue, Lease, QueueEntry } from '../ports/job-queue.js';
import { duplicateReason, isStoreUnavailable, type BeginOutcome, type JobState, type JobStore, type StoredEvent } from '../ports/job-store.js';
import { isTerminal } from '../protocol/status.js';
import { precheck, routedHere, type Precheck } from './prechecks.js';
import { recoverJob } from './recovery.js';
import { AttemptAborted, fromProtocol, type AbortKind, type AttemptOutcome, type AttemptRunner } from './runner.js';
import { StoreHealth } from './store-health.js';
import type { AttemptUsage } from './usage.js';

export interface JobWorkerOptions {
  workerId: string;
  maxConcurrent: number;
  store: JobStore;
  queue: JobQueue;
  events: JobEvents;
  runner: AttemptRunner;
  registry: HandlerRegistry;
  logger: Logger;
  metrics: WorkerMetrics;
  /** The registration document constraint checks read (capabilities, pool, version; its status part may be stale). */
  registration: () => WorkerRegistration;
  /** First retry back-off; doubles per attempt up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** While the store fails: first probe after this long, doubling up to storeRetryMaxMs. */
  storeRetryBaseMs?: number;
  storeRetryMaxMs?: number;
  /**
   * Shared queues: whether the worker a store row names is alive (heartbeats). A job
   * re-delivered after a stall is taken over only from a dead holder; a live one merely
   * lost its lock (a pause, a cut) and keeps it. Without it, every holder counts as dead.
   */
  holderAlive?: (workerId: string) => Promise<boolean>;
  /** How long a stalled job whose holder is alive waits before it is looked at again. */
  stallRecheckMs?: number;
  /** Whether a job's result will also be written pretty-printed (a spool's result file). */
  prettyData?: (jobId: string) => boolean;
}


/** One job on its way through this worker, from reservation to its recorded end. */
interface Running {
  lease: Lease;
  job: JobDocument;
  attempt: number;
  nextSeq: number;
  /** What the last attempt used (wall, CPU, memory, image bytes), for every kind of result. */
  usage?: AttemptUsage;
  startedAt: Date;
  ctl: AbortController;
  abort?: AbortKind;
  span: Span;
  log: Logger;
  done: boolean;
  /** Its end is being recorded while its slot already runs the next job. */
  recording?: Promise<void>;
  /** An inline job run before its start was recorded (startedAt is when it ran). */
  speculative?: boolean;
}

/** One attempt's run: its outcome, the handler's seconds, whether the deadline (not timeout_seconds) set its budget. */
interface Run {
  out: AttemptOutcome;
  seconds: number;
  budgetIsDeadline: boolean;
}

/** A finished job whose end the store could not record yet; published once it is. */
interface Unrecorded {
  r: Running;
  status: TerminalStatus;
  result: JobResult;
}

/**
 * The worker: takes jobs from the queue (up to maxConcurrent at once), walks each through
 * the store's state machine (claim, prechecks, idempotency, attempt, result), runs the
 * attempt with the JobRunner, retries with exponential back-off, cancels, drains, and
 * keeps every job through a store outage. It knows the ports only: where jobs come from
 * and where results go is the intakes' business, told through job events.
 */
const NO_USAGE = { disk_read_bytes: 0, wall_seconds: 0, cpu_seconds: 0, peak_memory_mb: 0, image_bytes: 0 };

export class JobWorker {
  private readonly running = new Map<string, Running>();
  private readonly unrecorded = new Map<string, Unrecorded>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly health: StoreHealth;
  private slots: Promise<void>[] = [];
  /** Inline jobs that ran before their start was durable, until their start and end are recorded. */
  private readonly settling = new Set<Promise<void>>();
  private draining = false;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly o: JobWorkerOptions) {
    this.retryBaseMs = o.retryBaseMs ?? 1000;
    this.retryMaxMs = o.retryMaxMs ?? 300_000;
    this.health = new StoreHealth({
      store: o.store,
      workerId: o.workerId,
      logger: o.logger,
      metrics: o.metrics,
      baseMs: o.storeRetryBaseMs,
      maxMs: o.storeRetryMaxMs,
      state: () => ({ state: this.state, jobs: this.active }),
      recovered: () => void this.recordParked(),
    });
  }

  /** Starts the slots: each takes the next job from the queue once the one before ended. */
  start(): void {
    for (let i = 0; i < this.o.maxConcurrent; i++) this.slots.push(this.slot());
  }

  get state(): WorkerState {
    return this.draining ? 'draining' : this.active >= this.o.maxConcurrent ? 'busy' : 'ready';
  }

  /** False while the store cannot take writes: nothing new starts, accepted jobs are kept. */
  get storeAvailable(): boolean {
    return this.health.available;
  }

  /** Jobs whose handler runs or whose start is being recorded (inline runs waiting for their records are not counted). */
  private get active(): number {
    return Math.max(0, this.running.size - this.settling.size);
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.o.queue.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Whether this worker already holds the job (waiting, backing off, running or parked). */
  knows(jobId: string): boolean {
    return this.running.has(jobId) || this.o.queue.peek(jobId) !== undefined || this.unrecorded.has(jobId);
  }

  /** Whether one of this worker's slots has the job (running, or on its way to its recorded end). */
  holds(jobId: string): boolean {
    return this.running.has(jobId);
  }

  routedHere(job: JobDocument): { ok: true } | { ok: false; why: string } {
    return routedHere(job, this.o.registration());
  }

  /** The store failed somewhere else (an intake's submit, a heartbeat). */
  storeFailed(): void {
    this.health.failed();
  }

  /** Cancels a waiting or running job (refused when the job says cancellable: false). */
  cancel(jobId: string, reason = 'cancel requested'): CancelOutcome {
    const r = this.running.get(jobId);
    if (r) {
      if (!r.job.execution.cancellable) return 'refused';
      if (!r.abort) {
        r.abort = 'cancel';
        r.log.info({ reason }, 'cancelling running job');
        r.ctl.abort(new AttemptAborted('cancel', reason));
      }
      return 'cancelling';
    }
    const entry = this.o.queue.peek(jobId);
    if (!entry) return 'unknown';
    if (!entry.job.execution.cancellable) return 'refused';
    if (!this.health.available) {
      entry.cancel = reason; // recorded when the job is taken after recovery
      return 'cancelling';
    }
    this.o.queue.remove(jobId);
    // answered now, outside the slots: a cancel must not wait for a busy worker
    void this.process({ ...entry, cancel: reason, jobId });
    return 'cancelled';
  }

  /** Ends a job cancelled that was taken out of a shared queue (it waited there, queued by any process). */
  cancelTaken(entry: QueueEntry, reason: string): void {
    void this.process({ ...entry, cancel: reason, jobId: entry.job.job_id });
  }

  /** Records a job that will not run (taken out of any queue, or never queued) as failed with `error`. */
  failTaken(entry: QueueEntry, error: GuestkitError): void {
    void this.process({ ...entry, cancel: undefined, refusal: error, jobId: entry.job.job_id });
  }

  /**
   * Stops taking jobs; running ones get `timeoutMs` to finish, the rest are interrupted
   * and given back (their attempt is not counted). Jobs still waiting are given back.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const entry of this.o.queue.close()) {
      const id = entry.job.job_id;
      if (!this.health.available) {
        // its store row may still name this worker: our restart resolves it (no wait on a dead store)
        this.o.logger.warn({ job_id: id }, 'store unavailable at shutdown: the job stays claimed for restart recovery');
        continue;
      }
      try {
        if (entry.rerun) await this.o.store.releaseInterrupted(id, this.o.workerId);
        await this.o.store.unassign(id);
      } catch (err) {
        this.o.logger.warn({ job_id: id, err: String(err) }, 'store unavailable at shutdown: the job stays claimed for restart recovery');
        continue;
      }
      this.o.events.emit('released', { job: entry.job, reason: 'drain' });
    }
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenIdle(), new Promise((r) => (timer = setTimeout(r, Math.max(0, timeoutMs))))]);
      clearTimeout(timer);
    }
    for (const r of this.running.values()) {
      if (!r.abort) {
        r.abort = 'drain';
        r.ctl.abort(new AttemptAborted('drain', 'worker is shutting down'));
      }
    }
    await this.whenIdle();
    if (this.unrecorded.size > 0 && (await this.health.probeNow())) await this.recordParked();
    this.health.stop();
    await Promise.all(this.slots);
    if (this.unrecorded.size > 0) {
      this.o.logger.warn({ jobs: [...this.unrecorded.keys()] }, 'store unavailable at shutdown: finished jobs could not be recorded; they stay claimed for restart recovery');
    }
  }

  /** Resolves when nothing is running. */
  whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async slot(): Promise<void> {
    while (!this.draining) {
      await this.health.whenAvailable();
      if (this.draining) return;
      const lease = await this.o.queue.reserve();
      if (!lease) return;
      // the store may have failed while this slot waited for a job: nothing new starts until it answers
      if (!this.health.available) await this.health.whenAvailable();
      await this.process(lease);
      // inline jobs run ahead of their recorded start: a bounded number, so the slots yield
      // to the event loop (and the group commit) at least every SETTLE_AHEAD jobs
      while (this.settling.size >= SETTLE_AHEAD) await Promise.race(this.settling);
    }
  }

  /** One job from reservation to its recorded end (or back to the queue). */
  private async process(lease: Lease): Promise<void> {
    if (this.running.has(lease.jobId)) {
      // a shared queue handed back a job this worker still runs (its lock lapsed): the run
      // here goes on; the copy is looked at again later (by then it has ended: dropped)
      this.o.logger.warn({ job_id: lease.jobId }, 'a job this worker runs was handed out again after its lock lapsed; checking it later');
      this.o.queue.retry(lease, this.o.stallRecheckMs ?? 5000);
      return;
    }
    const r = this.newRunning(lease);
    this.running.set(lease.jobId, r);
    this.o.metrics.inFlight.set(this.active);
    try {
      await this.walk(r);
    } catch (err) {
      await this.walkFailed(r, err);
    } finally {
      if (r.recording) void r.recording.finally(() => this.forget(r));
      else this.forget(r);
    }
  }

  /** The walk of a job threw: a store outage keeps the job for a re-run; anything else is a worker bug that still ends the job. */
  private async walkFailed(r: Running, err: unknown): Promise<void> {
    if (isStoreUnavailable(err)) return this.requeueForStore(r);
    // a bug in the worker itself: never leave the job in limbo
    r.log.error({ err: String((err as Error)?.stack ?? err) }, 'worker error');
    if (!r.done) await this.finishError(r, err, 'execution').catch((e: unknown) => this.requeueForStore(r, e));
  }

  private forget(r: Running): void {
    if (this.running.get(r.lease.jobId) === r) this.running.delete(r.lease.jobId);
    this.o.metrics.inFlight.set(this.active);
    if (this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async walk(r: Running): Promise<void> {
    const { job } = r;
    const store = this.o.store;
    if (r.lease.rerun) await store.releaseInterrupted(job.job_id, this.o.workerId);
    if (r.lease.stalled && (await this.recoverStalled(r))) return;
    const key = job.execution.idempotency_key;
    const cancelled = (r.lease.cancel !== undefined && job.execution.cancellable) || r.abort === 'cancel';
    const pre = cancelled ? undefined : r.lease.refusal ? ({ ok: false, kind: 'failed', error: r.lease.refusal } as const) : precheck(job, this.o.registry, this.o.registration(), this.o.workerId);
    if (!pre?.ok) {
      // answered before it runs: only claimed
      const c = await store.claim(job.job_id, this.o.workerId, r.lease.source);
      if (c.kind === 'duplicate') return this.duplicate(r, c.state);
      this.claimed(r, c.state, c.nextSequence);
      if (!pre) return this.finish(r, 'cancelled', cancelledResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, message: r.lease.cancel, phase: 'validation' }));
      if (pre.kind === 'failed') return this.finishError(r, pre.error, 'validation');
      return this.finish(r, 'timeout', this.observed(r, timeoutResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, phase: 'validation', message: pre.message })));
    }
    if (pre.handler.isolation === 'inline' && !key && !r.lease.rerun && !r.lease.stalled && r.lease.cancel === undefined && !r.abort) return this.speculate(r, pre);
    // the hot path: claimed and started in one commit
    const b = await store.begin(job.job_id, this.o.workerId, { source: r.lease.source, minAttempt: job.execution.attempt, idempotency: key ? { scope: job.metadata?.namespace ?? '', key } : undefined });
    if (!(await this.begun(r, b))) return;
    if (r.abort) return this.afterAbort(r, r.abort, false);
    const run = await this.runAttempt(r, pre, (u) => this.emit(r, u));
    this.observeRun(r, run.seconds);
    return this.ran(r, run);
  }

  /** One attempt of the job through the runner (as r.attempt): its outcome, how long it took, whether the deadline set its time budget. */
  private async runAttempt(r: Running, pre: Extract<Precheck, { ok: true }>, progress: (u: ProgressUpdate) => void): Promise<Run> {
    const { budget, budgetIsDeadline } = budgetOf(r.job);
    const t0 = process.hrtime.bigint();
    const out = await this.o.runner.run({
      job: this.jobAt(r),
      attempt: r.attempt,
      handler: pre.handler,
      prepared: pre.prepared,
      signal: r.ctl.signal,
      timeoutMs: budget,
      prettyData: this.o.prettyData?.(r.job.job_id),
      span: r.span,
      progress,
    });
    return { out, seconds: Number(process.hrtime.bigint() - t0) / 1e9, budgetIsDeadline };
  }

  private observeRun(r: Running, seconds: number): void {
    this.o.metrics.handlerDuration.observe({ operation: r.job.operation }, seconds);
  }

  /**
   * An inline handler (no image, cannot hang, no side effects) runs before its start is
   * recorded; then its start, progress and end are recorded in one step (store.beginAndEnd),
   * and only then published. The slot takes its next job meanwhile, so the records of many
   * jobs share one commit, and the store never shows more running than handlers ran. A start
   * the store answers otherwise (a duplicate, another attempt number) drops the run.
   */
  private async speculate(r: Running, pre: Extract<Precheck, { ok: true }>): Promise<void> {
    const { job } = r;
    const guess = r.attempt;
    r.speculative = true;
    r.startedAt = new Date();
    const held: ProgressUpdate[] = [];
    const first = await this.runAttempt(r, pre, (u) => held.push(u));
    const { out } = first;
    const settle = (async () => {
      try {
        const opts = { source: r.lease.source, minAttempt: job.execution.attempt };
        let built: { events: StoredEvent[]; result: JobResult } | undefined;
        const b =
          this.o.store.beginAndEnd && out.kind === 'completed' && !r.abort
            ? await this.o.store.beginAndEnd(job.job_id, this.o.workerId, opts, ({ attempt, nextSequence }) => {
                if (attempt !== guess) return undefined;
                built = this.endOf(r, out, held, nextSequence);
                return { events: built.events, status: 'completed', result: built.result };
              })
            : await this.o.store.begin(job.job_id, this.o.workerId, opts);
        if (!(await this.begun(r, b))) return;
        if ('ended' in b && b.ended && built) {
          this.observeRun(r, first.seconds);
          r.usage = out.usage;
          r.done = true;
          for (const event of built.events) this.o.events.emit('progress', { job, event: event as ProgressEvent });
          return this.ended(r, 'completed', built.result);
        }
        if (r.abort) return await this.afterAbort(r, r.abort, false);
        let run = first;
        if (r.attempt === guess) for (const u of held) this.emit(r, u);
        // resumed or retried: the attempt it records is not the one it ran as; run it again as that one
        else run = await this.runAttempt(r, pre, (u) => this.emit(r, u));
        this.observeRun(r, run.seconds);
        await this.ran(r, run, true);
      } catch (err) {
        if (isStoreUnavailable(err)) this.forget(r); // off the running list before the queue hands it out again
        await this.walkFailed(r, err);
      }
    })();
    this.settling.add(settle);
    void settle.finally(() => this.settling.delete(settle));
    r.recording = settle;
  }

  /** The progress events and completed result of a run, as recorded from `nextSequence` on (no side effects: built inside the store's step). */
  private endOf(r: Running, out: Extract<AttemptOutcome, { kind: 'completed' }>, held: ProgressUpdate[], nextSequence: number): { events: StoredEvent[]; result: JobResult } {
    let seq = nextSequence;
    const events = [...held, COMPLETED_EVENT].map((u) => this.eventOf(r, u, seq++));
    const result = this.completedResultOf(r, out.output, out.bytesRead);
    result.metrics = { ...NO_USAGE, ...(result.metrics ?? {}), ...(out.usage ?? {}) };
    return { events, result };
  }

  /**
   * What the store said to begin: false when the job does not run here (a duplicate, an
   * idempotent replay or a held key: answered already); true once it is running as r.attempt.
   */
  private async begun(r: Running, b: BeginOutcome): Promise<boolean> {
    const { job } = r;
    const key = job.execution.idempotency_key;
    if (b.kind === 'duplicate') {
      this.duplicate(r, b.state);
      return false;
    }
    this.claimed(r, b.state, b.nextSequence);
    const started = b.start;
    if (started.kind === 'replay') {
      const result: JobResult = { ...started.result, job_id: job.job_id, worker_id: this.o.workerId, idempotent_replay: { idempotency_key: key, original_job_id: started.originalJobId } };
      r.log.info({ original_job_id: started.originalJobId, idempotency_key: key }, 'idempotency key already completed: returning the first result without running');
      this.emit(r, { phase: 'validation', progress_percent: 100, message: `idempotency key already completed by job ${started.originalJobId}; returning its result` });
      await this.finish(r, 'completed', result);
      return false;
    }
    if (started.kind === 'held') {
      await this.finishError(r, new GuestkitError('DUPLICATE_JOB', `idempotency key ${JSON.stringify(key)} is held by job ${started.holderJobId}, which is still running`, {
        phase: 'validation',
        recoverable: true,
        retryRecommended: true,
        details: { idempotency_key: key, running_job_id: started.holderJobId },
      }), 'validation');
      return false;
    }
    r.attempt = started.attempt;
    if (!r.speculative) r.startedAt = new Date();
    r.span.setAttribute('guestkit.attempt', r.attempt);
    if (this.o.logger.isLevelEnabled('debug')) r.log.debug({ attempt: r.attempt }, 'job started');
    this.o.events.emit('started', { job, attempt: r.attempt, workerId: this.o.workerId });
    return true;
  }

  /**
   * The attempt's outcome: completed, aborted (cancel, timeout, drain, store) or failed. A
   * completed end is recorded while the slot takes its next job, unless `awaited`.
   */
  private async ran(r: Running, { out, budgetIsDeadline }: Run, awaited = false): Promise<void> {
    r.usage = out.usage;
    if (out.kind === 'completed') {
      const recording = this.completed(r, out.output, out.bytesRead);
      if (awaited) return recording;
      // the slot is free once the handler ended: the next job's start shares the commit that
      // records this end (queued first, so no more than maxConcurrent are ever running)
      r.recording = recording;
      return;
    }
    if (out.kind === 'aborted') return this.afterAbort(r, out.reason, budgetIsDeadline, out.bytesRead);
    return this.afterFailure(r, out.error, out.bytesRead);
  }

  /**
   * A job re-delivered after a stall: its previous holder lost its lock mid-job. A live
   * holder keeps it (looked at again later); a dead one's attempt counts as lost and the job
   * runs here, or ends WORKER_LOST when its attempts are used. True when it does not run here.
   */
  private async recoverStalled(r: Running): Promise<boolean> {
    const { job } = r;
    const id = job.job_id;
    const rec = await this.o.store.get(id);
    if (!rec) return false;
    const settle = () => {
      r.done = true;
      endSpan(r.span);
    };
    if (isTerminal(rec.status)) {
      settle();
      this.o.queue.drop(r.lease); // ended while it stalled: nothing to run
      return true;
    }
    const holder = rec.workerId;
    if ((rec.status === 'running' || rec.status === 'assigned') && holder && holder !== this.o.workerId && (await this.o.holderAlive?.(holder))) {
      settle();
      r.log.warn({ holder }, 'job re-delivered after a stall, but its holder is alive: looking again later');
      this.o.queue.retry(r.lease, this.o.stallRecheckMs ?? 5000);
      return true;
    }
    const a = await recoverJob({ store: this.o.store, workerId: this.o.workerId, logger: r.log, metrics: this.o.metrics }, job, id, { countLost: false });
    if (a.action === 'release') {
      r.log.warn({ holder, attempt: rec.attempt, max_attempts: rec.maxAttempts }, 'job re-delivered after its holder was lost; running it here');
      return false;
    }
    settle();
    this.o.queue.ack(r.lease, 'failed');
    if (a.result) {
      this.o.events.emit('finished', { job, status: 'failed', result: a.result });
      this.o.events.emit('failed', { job, result: a.result });
    }
    return true;
  }

  private duplicate(r: Running, state: JobState): void {
    r.done = true;
    const why = duplicateReason(r.job.job_id, state);
    r.log.warn({ existing_status: state.status }, why);
    endSpan(r.span, { code: 'DUPLICATE_JOB', message: why });
    this.o.events.emit('duplicate', { job: r.job, source: r.lease.source, reason: why });
    // not run here: its lease no longer counts against the namespace's share
    this.o.queue.drop(r.lease);
  }

  private claimed(r: Running, state: JobState, nextSequence: number): void {
    r.attempt = Math.max(r.job.execution.attempt, state.attempt + 1);
    r.nextSeq = nextSequence;
  }

  /** Records a completed end (resolves once recorded). */
  private completed(r: Running, output: HandlerOutput, bytesRead: number): Promise<void> {
    this.emit(r, COMPLETED_EVENT);
    return this.finish(r, 'completed', this.completedResultOf(r, output, bytesRead));
  }

  private completedResultOf(r: Running, output: HandlerOutput, bytesRead: number): JobResult {
    const metrics = { disk_read_bytes: bytesRead, ...(output.metrics ?? {}) };
    if (typeof output.metrics?.disk_read_bytes === 'number') metrics.disk_read_bytes = bytesRead + output.metrics.disk_read_bytes;
    const result = completedResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, data: output.data, outputs: output.outputs, metrics });
    return this.observed(r, result);
  }

  private async afterAbort(r: Running, kind: AbortKind, budgetIsDeadline: boolean, bytesRead = 0): Promise<void> {
    const { job } = r;
    if (kind === 'store') return this.requeueForStore(r);
    if (kind === 'drain') {
      await this.o.store.transition(job.job_id, 'pending', { workerId: null, reason: 'drain', attemptOutcome: 'interrupted', refundAttempt: true });
      r.done = true;
      r.log.info('interrupted by shutdown; job given back');
      endSpan(r.span);
      this.o.events.emit('released', { job, reason: 'drain' });
      return;
    }
    if (kind === 'cancel') return this.finish(r, 'cancelled', this.observed(r, cancelledResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt })));
    const secs = job.execution.timeout_seconds;
    const message = budgetIsDeadline ? `job did not finish before its deadline ${job.execution.deadline}` : `job exceeded its timeout of ${secs} s and was stopped`;
    if (r.attempt < job.execution.max_attempts && !deadlinePassed(job)) return this.retry(r, { code: 'TIMEOUT', message });
    const result = timeoutResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, message });
    if (bytesRead) result.metrics = { ...(result.metrics ?? {}), disk_read_bytes: bytesRead };
    return this.finish(r, 'timeout', this.observed(r, result));
  }

  private async afterFailure(r: Running, err: unknown, bytesRead: number): Promise<void> {
    const perr = toProtocolError(err, 'execution');
    if (perr.retry_recommended && r.attempt < r.job.execution.max_attempts && !deadlinePassed(r.job)) return this.retry(r, perr);
    return this.finishError(r, err, 'execution', bytesRead);
  }

  private async retry(r: Running, err: Pick<ProtocolError, 'code' | 'message'>): Promise<void> {
    const { job } = r;
    const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (r.attempt - 1)) * (1 + Math.random() * 0.1);
    await this.o.store.transition(job.job_id, 'pending', { reason: `retry after ${err.code}`, errorCode: err.code, errorMessage: err.message, attemptOutcome: err.code === 'TIMEOUT' ? 'timeout' : 'failed', nextAttemptAt: Date.now() + delay });
    this.emit(r, { phase: 'execution', message: `attempt ${r.attempt} failed (${err.code}: ${err.message}); retrying in ${Math.round(delay)} ms`, details: { code: err.code, next_attempt: r.attempt + 1 } });
    r.log.warn({ attempt: r.attempt, code: err.code, delay_ms: Math.round(delay) }, 'attempt failed; will retry');
    r.done = true;
    endSpan(r.span, err);
    this.o.events.emit('retrying', { job, attempt: r.attempt, delayMs: delay, code: err.code, message: err.message });
    this.o.queue.retry({ ...r.lease, rerun: false, stalled: undefined }, delay);
  }

  private async finishError(r: Running, err: unknown, phase: string, bytesRead = 0): Promise<void> {
    const error = err instanceof GuestkitError ? err : fromProtocol(toProtocolError(err, phase));
    const result = failedResult({ job: this.jobAt(r), workerId: this.o.workerId, startedAt: r.startedAt, error });
    if (bytesRead) result.metrics = { ...(result.metrics ?? {}), disk_read_bytes: bytesRead };
    return this.finish(r, 'failed', this.observed(r, result));
  }

  private observed(r: Running, result: JobResult): JobResult {
    result.observability = { trace_id: r.job.observability?.trace_id ?? r.span.spanContext().traceId, span_id: r.span.spanContext().spanId };
    return result;
  }

  /** Records the end, then tells the listeners (the result is published only once durable). */
  private async finish(r: Running, status: TerminalStatus, result: JobResult): Promise<void> {
    if (r.done) return;
    r.done = true;
    // every result carries the usage figures (zero for a job that never ran), measured ones last
    result.metrics = { ...NO_USAGE, ...(result.metrics ?? {}), ...(r.usage ?? {}) };
    if (!this.health.available) return this.park(r, status, result);
    try {
      await this.o.store.finish(r.job.job_id, status, result, { errorCode: result.error?.code, errorMessage: result.error?.message });
    } catch (err) {
      if (isStoreUnavailable(err)) return this.park(r, status, result);
      r.log.error({ err: String(err) }, 'could not record the job end in the store');
    }
    this.ended(r, status, result);
  }

  private ended(r: Running, status: TerminalStatus, result: JobResult): void {
    this.o.queue.ack(r.lease, status);
    this.o.events.emit('finished', { job: r.job, status, result });
    this.o.events.emit(status, { job: r.job, result });
    if (this.o.logger.isLevelEnabled(status === 'completed' ? 'info' : 'warn')) {
      const fields = { status, attempt: r.attempt, duration_ms: Date.now() - r.startedAt.getTime(), ...(result.error ? { code: result.error.code, error: result.error.message } : {}) };
      if (status === 'completed') r.log.info(fields, 'job completed');
      else r.log.warn(fields, `job ${status}`);
    }
    endSpan(r.span, result.error ?? undefined);
  }

  /** The store could not record a finished job: keep the result, record and publish it later. */
  private park(r: Running, status: TerminalStatus, result: JobResult): void {
    this.unrecorded.set(r.job.job_id, { r, status, result });
    r.log.warn({ status }, 'job store unavailable: the job ended but its result is published only once the store records it');
    this.health.failed();
  }

  private async recordParked(): Promise<void> {
    for (const [id, p] of [...this.unrecorded]) {
      if (!this.health.available) return;
      this.unrecorded.delete(id);
      p.r.done = false;
      await this.finish(p.r, p.status, p.result);
    }
  }

  /**
   * The store could not take what this job recorded: nothing of it was published, so it
   * goes back to the queue (its intake claim kept) and runs again once the store answers.
   */
  private requeueForStore(r: Running, cause?: unknown): void {
    if (cause !== undefined && !isStoreUnavailable(cause)) r.log.error({ err: String(cause) }, 'could not record a failure');
    r.done = true;
    endSpan(r.span, { code: 'EXECUTION_ERROR', message: 'job store unavailable; job kept for a re-run' });
    this.health.failed();
    if (this.draining) {
      r.log.warn('job store unavailable during shutdown: the job stays claimed for restart recovery');
      return;
    }
    r.log.warn('job store unavailable: the job is kept and runs again once the store answers');
    this.o.queue.retry({ ...r.lease, rerun: true, cancel: r.lease.cancel ?? (r.abort === 'cancel' ? 'cancel requested' : undefined) }, 0);
  }

  private eventOf(r: Running, u: ProgressUpdate, sequence: number): StoredEvent {
    const ev: StoredEvent = { job_id: r.job.job_id, timestamp: nowTimestamp(), sequence, phase: u.phase, message: u.message };
    if (typeof u.progress_percent === 'number' && Number.isFinite(u.progress_percent)) ev.progress_percent = Math.min(100, Math.max(0, Math.round(u.progress_percent)));
    if (u.details) ev.details = u.details;
    const obs = r.job.observability;
    if (obs?.trace_id) ev.observability = { trace_id: obs.trace_id, span_id: r.span.spanContext().spanId };
    return ev;
  }

  private emit(r: Running, u: ProgressUpdate): void {
    if (r.done) return;
    const ev = this.eventOf(r, u, r.nextSeq++);
    const publish = () => this.o.events.emit('progress', { job: r.job, event: ev as ProgressEvent });
    if (!this.health.available) return publish(); // the store misses it; the listeners do not
    this.o.store.appendEvent(ev).then(publish, (err: unknown) => {
      if (!isStoreUnavailable(err)) r.log.warn({ err: String(err) }, 'could not record progress event');
      publish();
    });
  }

  private newRunning(lease: Lease): Running {
    const job = lease.job;
    const span = startSpan(`job ${job.operation}`, jobParentContext(job.observability), { 'guestkit.job_id': job.job_id, 'guestkit.operation': job.operation, 'guestkit.worker_id': this.o.workerId });
    const traceId = job.observability?.trace_id ?? span.spanContext().traceId;
    const logger = this.o.logger;
    let log: Logger | undefined;
    return {
      lease,
      job,
      attempt: job.execution.attempt,
      nextSeq: 0,
      startedAt: new Date(),
      ctl: new AbortController(),
      span,
      // made on first use: at the usual levels a job that goes well logs nothing of its own
      get log() {
        return (log ??= logger.child({ job_id: job.job_id, trace_id: traceId, operation: job.operation }));
      },
      done: false,
    };
  }

  /** The job document with the attempt actually running (result builders read it there). */
  private jobAt(r: Running): JobDocument {
    return r.attempt === r.job.execution.attempt ? r.job : { ...r.job, execution: { ...r.job.execution, attempt: r.attempt } };
  }
}

/** The last progress line of every completed job. */
const COMPLETED_EVENT: ProgressUpdate = { phase: 'result_generation', progress_percent: 100, message: 'completed' };

/** How many inline jobs may run ahead of their recorded start (a commit's worth of them). */
const SETTLE_AHEAD = 64;

/** The attempt's time budget: timeout_seconds, cut short by the deadline. */
function budgetOf(job: JobDocument): { budget: number; budgetIsDeadline: boolean } {
  const budget = job.execution.timeout_seconds * 1000;
  if (job.execution.deadline) {
    const left = timestampMillis(job.execution.deadline) - Date.now();
    if (left < budget) return { budget: left, budgetIsDeadline: true };
  }
  return { budget, budgetIsDeadline: false };
}

function deadlinePassed(job: JobDocument): boolean {
  return job.execution.deadline ? timestampMillis(job.execution.deadline) <= Date.now() + 50 : false;
}
