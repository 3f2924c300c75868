/**
 * What `guestkit serve` reads from the job store at scrape time for the SLA metrics
 * (src/observability/sla-metrics.ts). A port of its own, like JobStats: the figures are the
 * store's, so every process of a cluster reports the same fleet, not the jobs it ran itself.
 *
 * A job's pool is its `routing.worker_pool`, else the pool of the process that asks (the
 * pool a job naming none is queued in); its namespace is `default` when it names none.
 */
export interface SlaSource {
  /** Pending jobs now (not those held for their parents), per namespace and pool (reads pending rows only, never the history). */
  waiting(now: number): Promise<WaitingGroup[]>;
  /**
   * Jobs that ended after `after` (finished_at, then job_id) and before `before` (ms), oldest
   * first, at most `limit`: a page of the finished-jobs index, so a scrape reads only what
   * ended since the one before.
   */
  ended(after: EndedCursor, before: number, limit: number): Promise<EndedJob[]>;
}

/**
 * When a pending job (row `j`) became ready to start, in SQL both stores speak: the end of its
 * retry back-off (next_attempt_at, cleared at claim); for a job that was held (hold_token is set
 * when a hold changes: its parents ended, or a worker that can run it came) the last change of
 * its row; else when it was queued. Jobs held for their parents do not wait in the queue and are
 * left out by the adapters.
 */
export const READY_AT = `CASE WHEN j.next_attempt_at IS NOT NULL THEN j.next_attempt_at WHEN j.hold_token IS NOT NULL THEN j.updated_at ELSE j.queued_at END`;

export interface SlaGroup {
  namespace: string;
  pool: string;
}

export interface WaitingGroup extends SlaGroup {
  /** Pending jobs that may start now (not in retry back-off). */
  ready: number;
  /** Pending jobs in retry back-off (next attempt later than now). */
  backoff: number;
  /** When the oldest ready job became ready (queued, or its back-off ended), ms; null when none is. */
  oldestReadyAt: number | null;
}

export interface EndedCursor {
  finishedAt: number;
  /** '' for "every job that ended at finishedAt". */
  jobId: string;
}

export interface EndedJob extends SlaGroup {
  jobId: string;
  finishedAt: number;
  /** Submit (queued_at) to the start of the first attempt, ms; null when it never started. */
  waitMs: number | null;
  /** It has an execution.deadline and ended because it passed (status timeout at or after it), or started after it. */
  deadlineMissed: boolean;
}

/** The start of the cursor: nothing ended before `at` is read. */
export function cursorAt(at: number): EndedCursor {
  return { finishedAt: at, jobId: '' };
}

/** Ended because the deadline (ms) passed, or started after it: one rule for every adapter. */
export function deadlineMissed(status: string, finishedAt: number, startedAt: number | null, deadline: number | null): boolean {
  if (deadline === null || !Number.isFinite(deadline)) return false;
  return (status === 'timeout' && finishedAt >= deadline) || (startedAt !== null && startedAt > deadline);
}
