import { canRun, type UnmetConstraint } from '../protocol/can-run.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError } from '../protocol/errors.js';
import { workerIsLive, type WorkerRecord } from '../ports/job-store.js';
import type { QueueTarget } from '../ports/job-queue.js';
import { compareText } from '../util/compare.js';

export type Placement =
  /** Queue it: on the pool's queue, or one worker's own queue when only some of the pool can run it. */
  | { kind: 'queue'; target: QueueTarget }
  /** No live worker can run it now and the job asked to wait (routing.wait_for_capacity). */
  | { kind: 'hold'; reason: string }
  | { kind: 'refuse'; error: GuestkitError };

/** API-only nodes register (they heartbeat) but take no jobs. */
export function runsJobs(w: WorkerRecord): boolean {
  return (w.registration.configuration as { runs_jobs?: unknown } | undefined)?.runs_jobs !== false;
}

const poolOf = (w: WorkerRecord): string | null => w.registration.configuration?.worker_pool ?? null;

/**
 * Where a job can run, from the live workers' registrations: each unmet rule (operation,
 * capabilities, features, version, disk size, pool, pinning) is checked the way the worker
 * itself checks it (canRun). A pool where every live worker can run the job gets it on the
 * pool's queue; when only some can, the least loaded of those gets it on its own queue.
 */
export function placeJob(job: JobDocument, workers: readonly WorkerRecord[], now: number, ownPool: string): Placement {
  const live = workers.filter((w) => workerIsLive(w, now) && w.state !== 'draining' && runsJobs(w));
  const verdicts = live.map((w) => ({ w, can: canRun(job, w.registration) }));
  const able = verdicts.filter((v) => v.can.ok).map((v) => v.w);
  if (able.length === 0) return nowhere(job, live.length, verdicts.flatMap((v) => (v.can.ok ? [] : [{ worker: v.w.workerId, unmet: v.can.unmet }])));
  const pinned = job.routing?.worker_id;
  if (pinned) return { kind: 'queue', target: { pool: poolOf(able[0]!) ?? ownPool, workerId: pinned } };
  // the job's pool if it names one; else ours when we can; else the first pool that can
  const pools = [...new Set(able.map((w) => poolOf(w) ?? ownPool))];
  const pool = job.routing?.worker_pool ?? (pools.includes(ownPool) ? ownPool : pools.sort()[0]!);
  const inPool = live.filter((w) => (poolOf(w) ?? ownPool) === pool);
  const ableInPool = able.filter((w) => (poolOf(w) ?? ownPool) === pool);
  if (ableInPool.length === inPool.length) return { kind: 'queue', target: { pool } };
  const least = [...ableInPool].sort((a, b) => load(a) - load(b) || compareText(a.workerId, b.workerId))[0]!;
  return { kind: 'queue', target: { pool, workerId: least.workerId } };
}

function load(w: WorkerRecord): number {
  return w.currentJobs / Math.max(1, w.registration.resources.max_concurrent_jobs);
}

function nowhere(job: JobDocument, liveCount: number, gaps: { worker: string; unmet: UnmetConstraint[] }[]): Placement {
  const why = liveCount === 0
    ? 'no live worker is registered'
    : `none of the ${liveCount} live worker(s) can run it: ${summarize(gaps)}`;
  if (job.routing?.wait_for_capacity) return { kind: 'hold', reason: `waiting for capacity: ${why}` };
  return {
    kind: 'refuse',
    error: new GuestkitError('CAPABILITY_MISMATCH', `no live worker can run job ${job.job_id}: ${why} (set routing.wait_for_capacity to hold it until one can)`, {
      phase: 'validation',
      details: { live_workers: liveCount, unmet: gaps.slice(0, 20) },
    }),
  };
}

/** The distinct unmet rules, each with how many workers it stopped. */
function summarize(gaps: { unmet: UnmetConstraint[] }[]): string {
  const counts = new Map<string, number>();
  for (const g of gaps) for (const u of g.unmet) counts.set(u.message, (counts.get(u.message) ?? 0) + 1);
  return [...counts].map(([m, n]) => (n > 1 ? `${m} (${n} workers)` : m)).join('; ');
}
