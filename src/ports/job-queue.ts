import type { JobDocument } from '../protocol/envelope.js';
import type { GuestkitError } from '../protocol/errors.js';
import type { TerminalStatus } from '../protocol/status.js';

/** A job the store accepted, waiting for a worker. */
export interface QueueEntry {
  job: JobDocument;
  /** Where it came from (spool file name, `http`); recorded with the claim. */
  source?: string;
  /** A cancel that arrived before the job could start: it ends cancelled when taken. */
  cancel?: string;
  /** Taken again after a store outage: whatever it recorded then is released first. */
  rerun?: boolean;
  /**
   * An end decided before it runs (a parent failed; no worker can run it): the worker
   * records it failed with this error without running it. Handed to the worker directly,
   * never queued.
   */
  refusal?: GuestkitError;
  /**
   * Where placement sent it (shared queues): a pool's queue, or one worker's own queue.
   * Absent: the job's `routing.worker_id` / `routing.worker_pool`, else the submitting node's pool.
   */
  target?: QueueTarget;
}

/** A queue a job can be placed on: the pool's shared queue, or one worker's own queue in it. */
export interface QueueTarget {
  pool?: string;
  workerId?: string;
}

/** A job handed to one worker until it acks, retries or releases it. */
export interface Lease extends QueueEntry {
  readonly jobId: string;
  /**
   * Shared queues: this delivery follows a stall (its previous holder lost its lock mid-job:
   * it died, or was cut off longer than the lock). The store may still show the job running
   * under that holder: the worker recovers it (as at restart) before it begins.
   */
  readonly stalled?: number;
}

/**
 * The queue port: how a worker gets its next job and gives it back. The embedded queue
 * (priority order over what this process's intakes accepted) is the default; the BullMQ
 * adapter shares one queue between machines. Every adapter passes test/queue/contract.ts.
 */
export interface JobQueue {
  /** Makes a submitted job available (after the store recorded it). False when it is already queued here. */
  enqueue(entry: QueueEntry): boolean;
  /** The next job by priority, then arrival; waits while none is ready. Null once closed. */
  reserve(): Promise<Lease | null>;
  /** The job ended and its end is recorded. */
  ack(lease: Lease, status: TerminalStatus): void;
  /** Runs the job again after `delayMs` (retry back-off, store outage). */
  retry(lease: Lease, delayMs: number): void;
  /** Gives a reserved job back unfinished (drain): any worker may take it. */
  release(lease: Lease): void;
  /** Forgets a reserved job this worker will not run (a duplicate of one that ran or runs elsewhere): nothing is re-delivered. */
  drop(lease: Lease): void;
  /** Takes a waiting (or backing-off) job out of the queue: cancel, another worker took it. */
  remove(jobId: string): QueueEntry | undefined;
  /** The waiting entry of a job, if any (to attach a cancel while it cannot be recorded). */
  peek(jobId: string): QueueEntry | undefined;
  /** Jobs waiting here, including those in back-off. */
  readonly size: number;
  /** Stops handing out jobs (pending reserve() calls get null); returns what was still waiting. */
  close(): QueueEntry[];
}
