import { GuestkitError } from '../protocol/errors.js';
import type { JobDocument } from '../protocol/envelope.js';
import type { ProgressEvent } from '../protocol/progress.js';
import type { JobResult } from '../protocol/result.js';
import type { JobStatus, TerminalStatus } from '../protocol/status.js';
import type { WorkerRegistration, WorkerState } from '../protocol/worker.js';
import type { UsageQuery, UsageRow } from './usage.js';

/**
 * The job store port: where jobs, attempts, results, events, idempotency keys and
 * workers are kept. Every adapter (SQLite embedded, PostgreSQL for clusters) passes the
 * contract suite in test/store/contract.ts. A promise that resolves means the write is
 * durable; storage failures reject with StoreUnavailableError, nothing else.
 */
export interface JobStore {
  /** Records a job as `pending` (durable before the submitter hears "accepted"). */
  submit(input: SubmitInput): Promise<SubmitOutcome>;
  /** pending → assigned for `workerId`; a finished job or one another worker holds is a duplicate. */
  claim(jobId: string, workerId: string, source?: string): Promise<ClaimOutcome>;
  /** Takes the idempotency key (if any) and moves assigned → running as the next attempt. */
  start(jobId: string, workerId: string, opts?: StartOptions): Promise<StartOutcome>;
  /** claim + start in one durable step (the hot path: one commit instead of two). */
  begin(jobId: string, workerId: string, opts?: StartOptions & { source?: string }): Promise<BeginOutcome>;
  /**
   * Optional: begin, and — when it starts the job as an attempt `end` accepts — that attempt's
   * events and terminal end, all in one durable step. For a job whose handler already ran
   * (inline handlers): its start and end are recorded together, so the recorded running jobs
   * never outnumber the handlers running. `end` returning undefined records the begin only.
   * `end` may be called more than once (a store may run the step again): it must only build.
   */
  beginAndEnd?(jobId: string, workerId: string, opts: StartOptions & { source?: string }, end: (start: { attempt: number; nextSequence: number }) => JobEnd | undefined): Promise<BeginOutcome & { ended?: boolean }>;
  /** One edge of the state machine (illegal edges are refused with EXECUTION_ERROR). */
  transition(jobId: string, to: JobStatus, opts?: TransitionOptions): Promise<void>;
  /** Terminal status + result + attempt outcome + idempotency key (kept on success, freed otherwise). */
  finish(jobId: string, status: TerminalStatus, result: JobResult, opts?: FinishOptions): Promise<void>;
  /** A job whose last writes may be lost (store outage): back to pending, the open attempt refunded. */
  releaseInterrupted(jobId: string, workerId: string): Promise<void>;
  /** A pending job handed back: no worker holds it any more. */
  unassign(jobId: string): Promise<void>;

  appendEvent(event: StoredEvent): Promise<void>;
  events(jobId: string, afterSequence?: number): Promise<StoredEvent[]>;
  /** Next free event sequence number of a job (continues after a restart). */
  nextEventSequence(jobId: string): Promise<number>;

  get(jobId: string): Promise<JobRecord | undefined>;
  result(jobId: string): Promise<JobResult | undefined>;
  attempts(jobId: string): Promise<AttemptRecord[]>;
  transitions(jobId: string): Promise<TransitionRecord[]>;
  /** Jobs a worker holds: assigned/running, or pending with it as owner. */
  activeJobsOf(workerId: string): Promise<JobRecord[]>;
  /** Filtered, cursor-paginated listing in a stable order (newest first). */
  list(query?: JobQuery): Promise<JobPage>;
  /** Deletes a finished job with its result, events, attempts and transitions. */
  remove(jobId: string): Promise<RemoveOutcome>;
  /** What a namespace has waiting and running now, and how many it submitted since `sinceMs` (quotas). */
  namespaceLoad(namespace: string, sinceMs: number): Promise<NamespaceLoad>;
  /** What finished jobs consumed (their results' metrics), summed per operation or day. */
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /** The newest job of a namespace carrying this idempotency key, if any. */
  findByIdempotencyKey(namespace: string, key: string): Promise<JobRecord | undefined>;

  registerWorker(registration: WorkerRegistration): Promise<void>;
  heartbeat(workerId: string, state: WorkerState, currentJobs: number): Promise<void>;
  worker(workerId: string): Promise<WorkerRecord | undefined>;
  /** Every registered worker, live or not, by id. */
  workers(): Promise<WorkerRecord[]>;
  /** Workers that heartbeated since `sinceMs` and are not offline. */
  liveWorkers(sinceMs: number): Promise<string[]>;

  /** Accepted jobs that wait (held, not queued), oldest first; `after` continues a listing where its last page ended. */
  heldJobs(limit: number, after?: HeldCursor): Promise<JobRecord[]>;
  /** The jobs that list `jobId` in their execution.depends_on. */
  dependants(jobId: string): Promise<string[]>;
  /**
   * Changes the hold of a pending job that is still held as `from`; `to` null releases it
   * (the caller then queues it). False when another process did it first or the job moved
   * on. Repeating a call after a lost answer is safe: `token` makes it idempotent.
   */
  swapHold(jobId: string, from: HoldKind, to: Hold | null, token: string): Promise<boolean>;

  /** One real write with a short wait: resolves only when the store takes writes again. */
  probe(workerId: string, state: WorkerState, currentJobs: number): Promise<void>;
  /** Why writes fail now; undefined while the store works. */
  readonly unavailable: StoreFailure | undefined;
  /** Called each time a write fails for storage reasons (never throws into the store). */
  onUnavailable(cb: (err: StoreUnavailableError) => void): void;
  close(): Promise<void>;
}

export interface JobRecord {
  job: JobDocument;
  status: JobStatus;
  /** Attempts started so far. */
  attempt: number;
  maxAttempts: number;
  /** The worker holding it (assigned/running) or owning its intake claim (pending). */
  workerId: string | null;
  /** Where it came from (spool file name, `http`, queue id). */
  source: string | null;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  nextAttemptAt: number | null;
  errorCode: string | null;
  updatedAt: number;
  /** Accepted but not queued yet: why it waits. */
  hold: Hold | null;
}

/** Where a listing of held jobs stopped: the last job it gave (oldest first). */
export interface HeldCursor {
  queuedAt: number;
  jobId: string;
}

/** Why an accepted job waits outside the queue: for its parents, or for a worker that can run it. */
export type HoldKind = 'dependencies' | 'capacity';
export interface Hold {
  kind: HoldKind;
  reason: string;
}

export interface SubmitInput {
  job: JobDocument;
  source?: string;
  /** The worker whose intake holds the job (spool claim); unset for shared intakes (HTTP). */
  owner?: string;
  /** A new job only: an id the store knows already is a duplicate, even while pending (HTTP). */
  exclusive?: boolean;
  /** Accepted but held, not to be queued yet (a new job only). Its depends_on is recorded either way. */
  hold?: Hold;
  /**
   * Its execution.idempotency_key is looked up in the same step as the insert: when the newest
   * job of its namespace with that key (another job id) is waiting, running or completed, nothing
   * is recorded and the answer is `keyed` with that job. Concurrent submits with one key, through
   * any number of store handles or API nodes, so make one job (HTTP submits).
   */
  keyed?: boolean;
}

/** Where a job stands, without its document (what the hot path needs). */
export interface JobState {
  jobId: string;
  status: JobStatus;
  /** Attempts started so far. */
  attempt: number;
  workerId: string | null;
  source: string | null;
}

export type SubmitOutcome =
  /** `hold`: the job waits outside the queue (set at its first submit): do not queue it. */
  | { kind: 'accepted'; state: JobState; resumed: boolean; hold?: Hold }
  /** the job id is known and finished, or another worker holds it */
  | { kind: 'duplicate'; state: JobState }
  /** `keyed` submits: an earlier job of the namespace holds the idempotency key (nothing recorded) */
  | { kind: 'keyed'; prior: JobRecord };

export type ClaimOutcome =
  /** `nextSequence`: where the job's event numbering continues (0 for a new job). */
  | { kind: 'claimed'; state: JobState; resumed: boolean; nextSequence: number }
  | { kind: 'duplicate'; state: JobState };

/** A claim and what starting it gave (replay/held leave the job assigned, to be finished). */
export type BeginOutcome = { kind: 'duplicate'; state: JobState } | { kind: 'claimed'; state: JobState; resumed: boolean; nextSequence: number; start: StartOutcome };

/** What `beginAndEnd` records after the start: the attempt's progress events, then its end. */
export interface JobEnd {
  events: StoredEvent[];
  status: TerminalStatus;
  result: JobResult;
  finish?: FinishOptions;
}

export interface StartOptions {
  /** The attempt number to start at least (the document's execution.attempt). */
  minAttempt?: number;
  /** Idempotency key and its scope (the namespace). */
  idempotency?: { scope: string; key: string };
}

export type StartOutcome =
  | { kind: 'started'; attempt: number }
  /** the key's first job completed: its result is returned without running */
  | { kind: 'replay'; originalJobId: string; result: JobResult }
  /** the key is held by a job that still runs */
  | { kind: 'held'; holderJobId: string };

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

export interface FinishOptions {
  errorCode?: string;
  errorMessage?: string;
  reason?: string;
}

export interface StoredEvent extends ProgressEvent {
  sequence: number;
  phase: string;
  timestamp: string;
}

export interface AttemptRecord {
  attempt: number;
  workerId: string;
  status: string;
  errorCode: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface TransitionRecord {
  jobId: string;
  from: JobStatus | null;
  to: JobStatus;
  attempt: number;
  workerId: string | null;
  at: number;
  reason: string | null;
}

export interface WorkerRecord {
  workerId: string;
  registration: WorkerRegistration;
  state: string;
  currentJobs: number;
  registeredAt: number;
  lastHeartbeat: number;
}

export type RemoveOutcome = 'removed' | 'active' | 'unknown';

export interface NamespaceLoad {
  /** pending */
  queued: number;
  /** assigned or running */
  running: number;
  submittedSince: number;
}

/** The namespace of jobs that name none. */
export const DEFAULT_NAMESPACE = 'default';

/** A job ended in one of these does not hold its idempotency key any more: the key may be used again. */
export const KEY_FREED: ReadonlySet<JobStatus> = new Set<JobStatus>(['failed', 'timeout', 'cancelled']);

/** Seconds between a worker's heartbeats, as it registered them (10 when it did not say). */
export function heartbeatSecondsOf(w: WorkerRecord): number {
  return Number((w.registration.configuration as { heartbeat_seconds?: unknown } | undefined)?.heartbeat_seconds) || 10;
}

/** A worker is live when it heartbeated within five of its own intervals and is not offline. */
export function workerIsLive(w: WorkerRecord, now: number): boolean {
  return w.state !== 'offline' && now - w.lastHeartbeat <= 5 * heartbeatSecondsOf(w) * 1000;
}

export function namespaceOf(job: JobDocument): string {
  return job.metadata?.namespace || DEFAULT_NAMESPACE;
}

/** The image a job is about (the payload's `image.path`), for listings and filters. */
export function primaryImagePath(job: JobDocument): string | null {
  const data = job.payload?.data as { image?: { path?: unknown } } | null | undefined;
  const p = data && typeof data === 'object' ? data.image?.path : undefined;
  return typeof p === 'string' ? p : null;
}

export interface JobQuery {
  status?: JobStatus | readonly JobStatus[];
  operation?: string;
  /** `default` also matches jobs that name no namespace. */
  namespace?: string;
  /** Jobs whose image path starts with this. */
  imagePrefix?: string;
  /** Case-insensitive substring of the job id, name, labels or image path. */
  search?: string;
  /** `key=value`, `key!=value` and `key` (present) requirements, all of which must hold. */
  labels?: readonly LabelRequirement[];
  /** queued_at bounds, ms since epoch (inclusive from, exclusive to). */
  queuedFrom?: number;
  queuedTo?: number;
  /** At most 1,000 per page; default 100. */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

export type LabelRequirement = { key: string; op: '=' | '!='; value: string } | { key: string; op: 'exists' };

export interface JobPage {
  items: JobRecord[];
  /** Present when more items follow. */
  next?: string;
}

/** Why the store is failing, since when (ms since epoch). */
export interface StoreFailure {
  since: number;
  code: string;
  error: string;
}

/**
 * The store could not take a write (or commit): lock held too long, disk full, I/O
 * error, connection lost. Nothing of that write is durable; callers keep the work and
 * try again once the store answers.
 */
export class StoreUnavailableError extends GuestkitError {
  readonly storeCode: string;

  constructor(op: string, storeCode: string, cause: unknown) {
    super('EXECUTION_ERROR', `job store unavailable (${op}): ${storeCode}: ${(cause as Error)?.message ?? String(cause)}`, {
      phase: 'execution',
      recoverable: true,
      retryRecommended: true,
      details: { store_error: storeCode, operation: op },
      cause,
    });
    this.storeCode = storeCode;
  }
}

export function isStoreUnavailable(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}

export const MAX_PAGE = 1000;

/** Why a second copy of a job id is not run (logged and archived by whoever met it). */
export function duplicateReason(jobId: string, state: JobState): string {
  return `job_id ${jobId} was already submitted (status ${state.status}${state.workerId ? ` on ${state.workerId}` : ''}); this copy is not run`;
}

/** Parses a label selector (`env=prod,tier!=db,team`) into requirements; throws VALIDATION_ERROR. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  for (const part of selector.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9._/-]+)\s*(!=|==|=)\s*(.*)$/.exec(part);
    if (m) out.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() });
    else if (/^[A-Za-z0-9._/-]+$/.test(part)) out.push({ key: part, op: 'exists' });
    else throw new GuestkitError('VALIDATION_ERROR', `label selector: cannot parse ${JSON.stringify(part)}`, { phase: 'validation', details: { selector } });
  }
  return out;
}
