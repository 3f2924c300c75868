import type Database from 'better-sqlite3';
import { GuestkitError } from '../../protocol/errors.js';
import type { JobResult } from '../../protocol/result.js';
import { resultJson } from '../../protocol/result-json.js';
import { isLegalTransition, isTerminal, type JobStatus, type TerminalStatus } from '../../protocol/status.js';
import type { WorkerRegistration, WorkerState } from '../../protocol/worker.js';
import type {
  Hold,
  HoldKind,
  AttemptRecord,
  BeginOutcome,
  JobState,
  ClaimOutcome,
  NamespaceLoad,
  RemoveOutcome,
  FinishOptions,
  JobEnd,
  HeldCursor,
  JobPage,
  JobQuery,
  JobRecord,
  JobStore,
  StartOptions,
  StartOutcome,
  StoredEvent,
  StoreFailure,
  StoreUnavailableError,
  SubmitInput,
  SubmitOutcome,
  TransitionOptions,
  TransitionRecord,
  WorkerRecord,
} from '../../ports/job-store.js';
import { DEFAULT_NAMESPACE, KEY_FREED } from '../../ports/job-store.js';
import type { UsageQuery, UsageRow } from '../../ports/usage.js';
import { classify, openDatabase } from './connection.js';
import { usageQuery } from './usage-query.js';
import { GroupCommit } from './group-commit.js';
import { buildListQuery, encodeCursor } from './list-query.js';
import { toAttempt, toJobRecord, toTransition, toWorker, type JobRow } from './records.js';
import { holdOf } from '../rows.js';
import { prepareStatements, type Statements } from './statements.js';

export interface SqliteStoreOptions {
  /** ms a write waits for another process's lock (workers sharing a data dir) before the store counts as failing. */
  busyTimeoutMs?: number;
}

/**
 * The embedded JobStore: one SQLite file (`<dataDir>/guestkit.db`) holding jobs, attempts,
 * state transitions, progress events, results, idempotency keys and workers. Writes go
 * through the group commit; reads run directly against the last committed state.
 */
export class SqliteJobStore implements JobStore {
  private readonly s: Statements;
  private readonly commits: GroupCommit;
  private failure?: StoreFailure;
  private readonly listeners: ((err: StoreUnavailableError) => void)[] = [];
  private readonly probeWaitMs: number;

  private constructor(
    readonly db: Database.Database,
    busyTimeoutMs: number,
  ) {
    this.s = prepareStatements(db);
    this.probeWaitMs = Math.min(busyTimeoutMs, 250);
    this.commits = new GroupCommit(db, busyTimeoutMs, {
      failed: (err) => this.fail(err),
      committed: () => {
        this.failure = undefined;
      },
    });
  }

  /** Opens (creating and migrating) `<dataDir>/guestkit.db`, a file path ending in .db, or ':memory:'. */
  static open(location: string, opts: SqliteStoreOptions = {}): SqliteJobStore {
    const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5_000));
    return new SqliteJobStore(openDatabase(location, busy), busy);
  }

  async close(): Promise<void> {
    this.commits.close();
    if (this.db.open) this.db.close();
  }

  get unavailable(): StoreFailure | undefined {
    return this.failure;
  }

  onUnavailable(cb: (err: StoreUnavailableError) => void): void {
    this.listeners.push(cb);
  }

  submit(input: SubmitInput): Promise<SubmitOutcome> {
    return this.commits.runBare('submit', () => this.submitBody(input, Date.now()));
  }

  // hot: run without a savepoint of its own (GroupCommit.runBare)
  private readonly submitBody = (input: SubmitInput, now: number): SubmitOutcome => {
    const job = input.job;
    const row = this.state(job.job_id);
    if (!row) {
      const prior = input.keyed ? this.keyHolder(job) : undefined;
      if (prior) return { kind: 'keyed', prior: toJobRecord(prior) };
      this.s.insertJob.run(
        job.job_id,
        job.operation,
        job.metadata?.namespace ?? null,
        job.execution.priority,
        job.execution.max_attempts,
        job.execution.idempotency_key ?? null,
        input.owner ?? null,
        input.source ?? null,
        job.observability?.trace_id ?? null,
        JSON.stringify(job),
        job.created_at,
        now,
        now,
        input.hold?.kind ?? null,
        input.hold?.reason ?? null,
      );
      for (const parent of job.execution.depends_on ?? []) this.s.insertDependency.run(parent, job.job_id);
      this.s.transition.run(job.job_id, null, 'pending', 0, input.owner ?? null, now, input.hold ? `held: ${input.hold.kind}` : null);
      const state: JobState = { jobId: job.job_id, status: 'pending', attempt: 0, workerId: input.owner ?? null, source: input.source ?? null };
      return input.hold ? { kind: 'accepted', state, resumed: false, hold: input.hold } : { kind: 'accepted', state, resumed: false };
    }
    // a finished job, or one held by another worker (or by the owner's previous life: restart recovery resolves it)
    if (row.status !== 'pending' || input.exclusive) return { kind: 'duplicate', state: stateOf(row) };
    const source = input.source ?? row.source;
    this.s.resubmit.run({ job_id: row.job_id, worker_id: input.owner ?? null, source, now });
    const hold = holdOf(this.s.getHold.get(row.job_id) as { hold: string | null; hold_reason: string | null });
    const state = { ...stateOf(row), workerId: input.owner ?? null, source };
    return hold ? { kind: 'accepted', state, resumed: true, hold } : { kind: 'accepted', state, resumed: true };
  };

  /** The newest other job of the namespace with this job's idempotency key, when it still counts (waiting, running, completed). */
  private keyHolder(job: SubmitInput['job']): JobRow | undefined {
    const key = job.execution.idempotency_key;
    if (!key) return undefined;
    const ns = job.metadata?.namespace ?? DEFAULT_NAMESPACE;
    const row = this.s.byIdemKey.get(key, ns, ns === DEFAULT_NAMESPACE ? 1 : 0) as JobRow | undefined;
    return row && row.job_id !== job.job_id && !KEY_FREED.has(row.status) ? row : undefined;
  }

  claim(jobId: string, workerId: string, source?: string): Promise<ClaimOutcome> {
    return this.write('claim', () => this.claimTx(jobId, workerId, source, Date.now()));
  }

  private readonly claimBody = (jobId: string, workerId: string, source: string | undefined, now: number): ClaimOutcome => {
    const row = this.state(jobId);
    if (!row) throw notFound(jobId);
    if (isTerminal(row.status)) return { kind: 'duplicate', state: stateOf(row) };
    if (row.status !== 'pending' && row.worker_id !== workerId) return { kind: 'duplicate', state: stateOf(row) };
    if (row.status === 'running') throw illegal(jobId, row.status, 'assigned');
    const m = (this.s.maxSeq.get(jobId) as { m: number | null }).m;
    const resumed = row.attempt > 0 || row.status === 'assigned' || m !== null;
    const src = source ?? row.source;
    if (row.status === 'pending') {
      this.s.assign.run({ job_id: jobId, worker_id: workerId, source: src, now, from: 'pending' });
      this.s.transition.run(jobId, 'pending', 'assigned', row.attempt, workerId, now, resumed ? 'resumed' : null);
    }
    return { kind: 'claimed', state: { jobId, status: 'assigned', attempt: row.attempt, workerId, source: src }, resumed, nextSequence: m === null ? 0 : m + 1 };
  };

  private readonly claimTx = this.tx(this.claimBody);

  begin(jobId: string, workerId: string, opts: StartOptions & { source?: string } = {}): Promise<BeginOutcome> {
    return this.write('begin', () => this.beginTx(jobId, workerId, opts, Date.now()));
  }

  beginAndEnd(jobId: string, workerId: string, opts: StartOptions & { source?: string }, end: EndOf): Promise<BeginOutcome & { ended?: boolean }> {
    return this.commits.runBare('beginAndEnd', () => this.beginAndEndBody(jobId, workerId, opts, end, Date.now()));
  }

  // hot: run without a savepoint of its own (GroupCommit.runBare)
  private readonly beginAndEndBody = (jobId: string, workerId: string, opts: StartOptions & { source?: string }, end: EndOf, now: number): BeginOutcome & { ended?: boolean } => {
    const row = this.s.getStateSeq.get(jobId) as (StateRow & { max_seq: number | null }) | undefined;
    if (row?.status === 'pending' && !opts.idempotency && row.idempotency_key === null) {
      const m = row.max_seq;
      const attempt = Math.max(row.attempt + 1, opts.minAttempt ?? 1);
      const nextSequence = m === null ? 0 : m + 1;
      const e = end({ attempt, nextSequence });
      if (e?.status === 'completed' && !e.finish?.reason) {
        // pending → completed in one update of the job row; every edge still recorded
        const resumed = row.attempt > 0 || m !== null;
        const source = opts.source ?? row.source;
        this.s.insertEndedAttempt.run(jobId, attempt, workerId, now, now, 'completed');
        this.insertEvents(e.events);
        this.s.completePending.run(source, attempt, now, now, now, jobId);
        this.s.transitionsToCompleted.run(jobId, row.attempt, workerId, now, resumed ? 'resumed' : null, jobId, attempt, workerId, now, jobId, attempt, workerId, now);
        this.s.putResult.run(jobId, 'completed', resultJson(e.result), now);
        return { kind: 'claimed', state: { jobId, status: 'assigned', attempt: row.attempt, workerId, source }, resumed, nextSequence, start: { kind: 'started', attempt }, ended: true };
      }
      // end() was asked already: the general begin starts the same attempt
      return this.ended(jobId, this.beginBody(jobId, workerId, opts, now), e, now);
    }
    const b = this.beginBody(jobId, workerId, opts, now);
    return b.kind === 'claimed' && b.start.kind === 'started' ? this.ended(jobId, b, end({ attempt: b.start.attempt, nextSequence: b.nextSequence }), now) : b;
  };

  /** After a begin: the end the caller built for that attempt, if any (events, then the terminal edge and result). */
  private ended(jobId: string, b: BeginOutcome, e: JobEnd | undefined, now: number): BeginOutcome & { ended?: boolean } {
    if (!e) return b;
    this.insertEvents(e.events);
    this.finishBody(jobId, e.status, e.result, e.finish ?? {}, now);
    return { ...b, ended: true };
  }

  /** A job's events of one step in one statement (a few rows at a time: statements cost more than rows). */
  private insertEvents(events: readonly StoredEvent[]): void {
    for (let i = 0; i < events.length; i += EVENTS_PER_INSERT) {
      const part = events.length - i >= EVENTS_PER_INSERT ? EVENTS_PER_INSERT : events.length - i;
      const args: unknown[] = [];
      for (let k = i; k < i + part; k++) {
        const ev = events[k]!;
        args.push(ev.job_id, ev.sequence, ev.timestamp, ev.phase, JSON.stringify(ev));
      }
      this.eventInsert(part).run(args);
    }
  }

  private readonly eventInserts: Database.Statement[] = [];

  private eventInsert(rows: number): Database.Statement {
    if (rows === 1) return this.s.insertEvent;
    return (this.eventInserts[rows] ??= this.db.prepare(`INSERT OR REPLACE INTO events (job_id, sequence, timestamp, phase, doc) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?)').join(', ')}`));
  }

  /**
   * claim + start with one read and one update of the job row (the hot path); both
   * transitions are recorded. A start refused by its idempotency key leaves the job assigned.
   */
  private readonly beginTx = this.tx((jobId: string, workerId: string, opts: StartOptions & { source?: string }, now: number): BeginOutcome => this.beginBody(jobId, workerId, opts, now));

  private readonly beginBody = (jobId: string, workerId: string, opts: StartOptions & { source?: string }, now: number): BeginOutcome => {
    const row = this.state(jobId);
    if (!row) throw notFound(jobId);
    if (row.status !== 'pending') {
      // resumed as assigned (or refused): the general path
      const claim = this.claimBody(jobId, workerId, opts.source, now);
      if (claim.kind === 'duplicate') return claim;
      return { ...claim, start: this.startBody(jobId, workerId, opts, now) };
    }
    const m = (this.s.maxSeq.get(jobId) as { m: number | null }).m;
    const resumed = row.attempt > 0 || m !== null;
    const source = opts.source ?? row.source;
    const claimed = { state: { jobId, status: 'assigned' as const, attempt: row.attempt, workerId, source }, resumed, nextSequence: m === null ? 0 : m + 1 };
    this.s.transition.run(jobId, 'pending', 'assigned', row.attempt, workerId, now, resumed ? 'resumed' : null);
    const held = opts.idempotency ? this.idempotency(opts.idempotency.scope, opts.idempotency.key, jobId, now) : undefined;
    if (held) {
      this.s.assign.run({ job_id: jobId, worker_id: workerId, source, now, from: 'pending' });
      return { kind: 'claimed', ...claimed, start: held };
    }
    const attempt = Math.max(row.attempt + 1, opts.minAttempt ?? 1);
    this.s.beginAttempt.run({ job_id: jobId, worker_id: workerId, source, attempt, now });
    this.s.insertAttempt.run(jobId, attempt, workerId, now);
    this.s.transition.run(jobId, 'assigned', 'running', attempt, workerId, now, null);
    return { kind: 'claimed', ...claimed, start: { kind: 'started', attempt } };
  };

  start(jobId: string, workerId: string, opts: StartOptions = {}): Promise<StartOutcome> {
    return this.write('start', () => this.startTx(jobId, workerId, opts, Date.now()));
  }

  private readonly startBody = (jobId: string, workerId: string, opts: StartOptions, now: number): StartOutcome => {
    const row = this.state(jobId);
    if (!row) throw notFound(jobId);
    if (row.status !== 'assigned') throw illegal(jobId, row.status, 'running');
    if (opts.idempotency) {
      const held = this.idempotency(opts.idempotency.scope, opts.idempotency.key, jobId, now);
      if (held) return held;
    }
    const attempt = Math.max(row.attempt + 1, opts.minAttempt ?? 1);
    this.s.startAttempt.run({ job_id: jobId, attempt, now });
    this.s.insertAttempt.run(jobId, attempt, workerId, now);
    this.s.transition.run(jobId, 'assigned', 'running', attempt, workerId, now, null);
    return { kind: 'started', attempt };
  };

  private readonly startTx = this.tx(this.startBody);

  /**
   * Takes an idempotency key: free → taken (undefined); held by a completed job → its
   * result; held by a running job → refused. The same job re-taking its own key (retry,
   * restart) takes it again; a holder that is not active any more gives it up.
   */
  private idempotency(scope: string, key: string, jobId: string, now: number): StartOutcome | undefined {
    const held = this.s.getIdem.get(scope, key) as { job_id: string; state: string } | undefined;
    if (!held) {
      this.s.insertIdem.run(scope, key, jobId, now, now);
      return undefined;
    }
    if (held.state === 'completed') {
      const r = this.s.getResult.get(held.job_id) as { doc: string } | undefined;
      if (r) return { kind: 'replay', originalJobId: held.job_id, result: JSON.parse(r.doc) as JobResult };
      this.s.takeIdem.run(jobId, now, scope, key); // result row lost: this job runs and owns the key
      return undefined;
    }
    if (held.job_id === jobId) return undefined;
    const holder = this.row(held.job_id);
    if (!holder || isTerminal(holder.status)) {
      this.s.takeIdem.run(jobId, now, scope, key);
      return undefined;
    }
    return { kind: 'held', holderJobId: held.job_id };
  }

  transition(jobId: string, to: JobStatus, opts: TransitionOptions = {}): Promise<void> {
    return this.write('transition', () => {
      this.transitionTx(jobId, to, opts, Date.now());
    });
  }

  private readonly transitionTx = this.tx((jobId: string, to: JobStatus, opts: TransitionOptions, now: number): StateRow => this.transitionBody(jobId, to, opts, now));

  private readonly transitionBody = (jobId: string, to: JobStatus, opts: TransitionOptions, now: number): StateRow => {
    const row = this.state(jobId);
    if (!row) throw notFound(jobId);
    if (!isLegalTransition(row.status, to)) throw illegal(jobId, row.status, to);
    const terminal = isTerminal(to);
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
    return row;
  };

  finish(jobId: string, status: TerminalStatus, result: JobResult, opts: FinishOptions = {}): Promise<void> {
    return this.write('finish', () => this.finishTx(jobId, status, result, opts, Date.now()));
  }

  private readonly finishTx = this.tx((jobId: string, status: TerminalStatus, result: JobResult, opts: FinishOptions, now: number): void => this.finishBody(jobId, status, result, opts, now));

  private readonly finishBody = (jobId: string, status: TerminalStatus, result: JobResult, opts: FinishOptions, now: number): void => {
    const row = this.transitionBody(jobId, status, { errorCode: opts.errorCode, errorMessage: opts.errorMessage, reason: opts.reason, workerId: null }, now);
    this.s.putResult.run(jobId, status, resultJson(result), now);
    if (row.idempotency_key !== null) {
      const scope = row.namespace ?? '';
      if (status === 'completed') this.s.completeIdem.run(now, scope, row.idempotency_key, jobId);
      else this.s.releaseIdem.run(scope, row.idempotency_key, jobId);
    }
  };

  releaseInterrupted(jobId: string, workerId: string): Promise<void> {
    return this.write('releaseInterrupted', () => {
      const row = this.row(jobId);
      if (!row || row.worker_id !== workerId || (row.status !== 'running' && row.status !== 'assigned')) return;
      this.transitionTx(jobId, 'pending', { workerId: null, reason: 'store_unavailable', attemptOutcome: 'interrupted', refundAttempt: true }, Date.now());
    });
  }

  unassign(jobId: string): Promise<void> {
    return this.write('unassign', () => {
      this.s.unassign.run(Date.now(), jobId);
    });
  }

  appendEvent(ev: StoredEvent): Promise<void> {
    return this.write('appendEvent', () => this.insertEvents([ev]));
  }

  async events(jobId: string, afterSequence = -1): Promise<StoredEvent[]> {
    return this.read('events', () => (this.s.events.all(jobId, afterSequence) as { doc: string }[]).map((r) => JSON.parse(r.doc) as StoredEvent));
  }

  async nextEventSequence(jobId: string): Promise<number> {
    const r = this.read('nextEventSequence', () => this.s.maxSeq.get(jobId) as { m: number | null });
    return r.m === null ? 0 : r.m + 1;
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const row = this.read('get', () => this.row(jobId));
    return row ? toJobRecord(row) : undefined;
  }

  async result(jobId: string): Promise<JobResult | undefined> {
    const r = this.read('result', () => this.s.getResult.get(jobId) as { doc: string } | undefined);
    return r ? (JSON.parse(r.doc) as JobResult) : undefined;
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    return this.read('attempts', () => (this.s.attempts.all(jobId) as Parameters<typeof toAttempt>[0][]).map(toAttempt));
  }

  async transitions(jobId: string): Promise<TransitionRecord[]> {
    return this.read('transitions', () => (this.s.jobTransitions.all(jobId) as Parameters<typeof toTransition>[0][]).map(toTransition));
  }

  async activeJobsOf(workerId: string): Promise<JobRecord[]> {
    return this.read('activeJobsOf', () => (this.s.activeOf.all(workerId) as JobRow[]).map(toJobRecord));
  }

  async list(query: JobQuery = {}): Promise<JobPage> {
    const { sql, params, limit } = buildListQuery(query);
    const rows = this.read('list', () => this.db.prepare(sql).all(...params) as JobRow[]);
    const items = rows.slice(0, limit).map(toJobRecord);
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return last ? { items, next: encodeCursor(last.queued_at, last.job_id) } : { items };
  }

  remove(jobId: string): Promise<RemoveOutcome> {
    return this.write('remove', () => this.removeTx(jobId));
  }

  private readonly removeTx = this.tx((jobId: string): RemoveOutcome => {
    const row = this.state(jobId);
    if (!row) return 'unknown';
    if (!isTerminal(row.status)) return 'active';
    for (const st of [this.s.removeResult, this.s.removeEvents, this.s.removeAttempts, this.s.removeTransitions, this.s.removeIdem, this.s.removeJob]) st.run(jobId);
    return 'removed';
  });

  async namespaceLoad(namespace: string, sinceMs: number): Promise<NamespaceLoad> {
    return this.read('namespaceLoad', () => {
      const dflt = namespace === DEFAULT_NAMESPACE;
      const load = (dflt ? this.s.loadOfDefault.get() : this.s.loadOf.get(namespace)) as { queued: number; running: number };
      const since = (dflt ? this.s.submittedSinceDefault.get(sinceMs) : this.s.submittedSince.get(namespace, sinceMs)) as { n: number };
      return { queued: load.queued, running: load.running, submittedSince: since.n };
    });
  }

  async findByIdempotencyKey(namespace: string, key: string): Promise<JobRecord | undefined> {
    const row = this.read('findByIdempotencyKey', () => this.s.byIdemKey.get(key, namespace, namespace === DEFAULT_NAMESPACE ? 1 : 0) as JobRow | undefined);
    return row ? toJobRecord(row) : undefined;
  }

  async usage(query: UsageQuery): Promise<UsageRow[]> {
    return this.read('usage', () => usageQuery(this.db, query));
  }

  async workers(): Promise<WorkerRecord[]> {
    return this.read('workers', () => (this.s.allWorkers.all() as Parameters<typeof toWorker>[0][]).map(toWorker));
  }

  registerWorker(reg: WorkerRegistration): Promise<void> {
    return this.write('registerWorker', () => {
      this.s.upsertWorker.run({ worker_id: reg.worker_id, registration: JSON.stringify(reg), state: reg.status.state, current_jobs: reg.status.current_jobs, now: Date.now() });
    });
  }

  heartbeat(workerId: string, state: WorkerState, currentJobs: number): Promise<void> {
    return this.write('heartbeat', () => {
      this.s.heartbeat.run(state, currentJobs, Date.now(), workerId);
    });
  }

  async worker(workerId: string): Promise<WorkerRecord | undefined> {
    const r = this.read('worker', () => this.s.getWorker.get(workerId) as Parameters<typeof toWorker>[0] | undefined);
    return r ? toWorker(r) : undefined;
  }

  async liveWorkers(sinceMs: number): Promise<string[]> {
    return this.read('liveWorkers', () => (this.s.liveWorkers.all(sinceMs) as { worker_id: string }[]).map((r) => r.worker_id));
  }

  async heldJobs(limit: number, after?: HeldCursor): Promise<JobRecord[]> {
    const rows = this.read('heldJobs', () => (after ? this.s.heldJobsAfter.all(after.queuedAt, after.jobId, limit) : this.s.heldJobs.all(limit)) as JobRow[]);
    return rows.map(toJobRecord);
  }

  async dependants(jobId: string): Promise<string[]> {
    return this.read('dependants', () => (this.s.dependants.all(jobId) as { child_id: string }[]).map((r) => r.child_id));
  }

  swapHold(jobId: string, from: HoldKind, to: Hold | null, token: string): Promise<boolean> {
    return this.write('swapHold', () => this.s.swapHold.run({ job_id: jobId, from, to: to?.kind ?? null, reason: to?.reason ?? null, token, now: Date.now() }).changes > 0);
  }

  probe(workerId: string, state: WorkerState, currentJobs: number): Promise<void> {
    const p = this.commits.run('probe', () => void this.s.heartbeat.run(state, currentJobs, Date.now(), workerId), this.probeWaitMs);
    return p;
  }

  private row(jobId: string): JobRow | undefined {
    return this.s.getJob.get(jobId) as JobRow | undefined;
  }

  /** The state columns only: the document is not read (nor parsed) on the hot path. */
  private state(jobId: string): StateRow | undefined {
    return this.s.getState.get(jobId) as StateRow | undefined;
  }

  /** A multi-statement write as one unit (a savepoint inside the group commit's transaction). */
  private tx<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
    // created on first use: field initializers run before the connection is set
    let t: ((...args: A) => T) | undefined;
    return (...args: A) => (t ??= this.db.transaction(fn) as unknown as (...args: A) => T)(...args);
  }

  private write<T>(op: string, fn: () => T): Promise<T> {
    return this.commits.run(op, fn);
  }

  private read<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const e = classify(op, err);
      if (e !== err) this.fail(e as StoreUnavailableError);
      throw e;
    }
  }

  private fail(err: StoreUnavailableError): void {
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

/** Most event rows one INSERT carries. */
const EVENTS_PER_INSERT = 8;

/** What beginAndEnd asks of its caller once it knows the attempt: its events and end, or nothing (the begin alone). */
type EndOf = (start: { attempt: number; nextSequence: number }) => JobEnd | undefined;

type StateRow = Pick<JobRow, 'job_id' | 'status' | 'attempt' | 'worker_id' | 'source' | 'idempotency_key' | 'namespace' | 'error_code'>;

function stateOf(r: StateRow): JobState {
  return { jobId: r.job_id, status: r.status, attempt: r.attempt, workerId: r.worker_id, source: r.source };
}

function notFound(jobId: string): GuestkitError {
  return new GuestkitError('NOT_FOUND', `job ${jobId} is not in the store`, { phase: 'execution', details: { job_id: jobId } });
}

function illegal(jobId: string, from: JobStatus, to: JobStatus): GuestkitError {
  return new GuestkitError('EXECUTION_ERROR', `job ${jobId}: illegal state change ${from} → ${to}`, {
    phase: 'execution',
    details: { job_id: jobId, from, to },
    recoverable: false,
    retryRecommended: false,
  });
}
