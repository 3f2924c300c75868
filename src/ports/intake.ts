import type { JobEvents } from '../events/job-events.js';
import type { JobDocument } from '../protocol/envelope.js';
import type { JobResult } from '../protocol/result.js';
import type { SubmitOutcome } from './job-store.js';

/** A way jobs arrive (the file spool; the HTTP API next). Started and stopped by the composition root. */
export interface Intake {
  readonly name: string;
  start(): Promise<void>;
  /** Stops taking new jobs (what is held stays held until the worker drained). */
  stop(): void;
  /** After the worker drained: last writes (unpublished results). */
  close(): Promise<void>;
  /** Readiness: why this intake cannot serve now, or undefined. */
  problem(): string | undefined;
}

export interface SubmitOptions {
  /** Where it came from (spool file name, `http`). */
  source?: string;
  /** The worker whose intake holds the job (the spool's claim); unset for shared intakes. */
  owner?: string;
  /** A cancel that came with the job: it ends cancelled without running (cancellable jobs only). */
  cancel?: string;
  /** Only a job id the store does not know yet is accepted (HTTP submits; restart recovery resumes). */
  exclusive?: boolean;
  /**
   * Placed by the live workers' registrations: refused with CAPABILITY_MISMATCH when none can
   * run it (held instead when it asks to wait), pinned where only some can (HTTP submits).
   */
  place?: boolean;
  /** Not recorded when an earlier job of the namespace holds its idempotency key (see SubmitInput.keyed). */
  keyed?: boolean;
}

export type CancelOutcome = 'cancelled' | 'cancelling' | 'refused' | 'unknown';

export type RecoverAction = { action: 'release' } | { action: 'archive'; result: JobResult | undefined };

/**
 * What an intake may ask of the pipeline: one submit path (store first, then queue), cancel,
 * and restart recovery of jobs it held. Results and progress reach it as job events.
 */
export interface IntakeSink {
  readonly workerId: string;
  readonly events: JobEvents;
  /** Durable `pending` in the store, then queued; resolves once accepted (or refused as a duplicate). */
  submit(job: JobDocument, opts?: SubmitOptions): Promise<SubmitOutcome>;
  cancel(jobId: string, reason: string): CancelOutcome;
  /** Cancels a job held outside the queue (waiting for parents or capacity); false when it is not held. */
  cancelHeld(jobId: string, reason: string): Promise<boolean>;
  /** The worker holds this job already (waiting, running, or ended but not yet recorded). */
  knows(jobId: string): boolean;
  /** False when only routing sends the job elsewhere (another worker or pool). */
  routedHere(job: JobDocument): { ok: true } | { ok: false; why: string };
  /** The store takes writes and the worker is not draining. */
  readonly accepting: boolean;
  /** Jobs waiting in this worker's queue. */
  readonly queued: number;
  /** Jobs finished per second lately (claim-ahead sizing). */
  readonly recentRate: number;
  recover(job: JobDocument | null, jobId: string): Promise<RecoverAction>;
  /** Jobs the store says this worker holds that no intake found: ended WORKER_LOST. */
  failOrphans(keep: (jobId: string) => boolean): Promise<JobResult[]>;
  /** Another worker's heartbeat is stale (its claims may be adopted). */
  isWorkerDead(workerId: string): Promise<boolean>;
  /** Live workers other than this one (per the shared store). */
  livePeers(): Promise<number>;
  /** A finished job's whole result, as the store keeps it (events from other processes carry a partial one). */
  result(jobId: string): Promise<JobResult | undefined>;
}
