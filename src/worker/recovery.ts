import type { RecoverAction } from '../ports/intake.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import { failedResult, GuestkitError, type JobDocument, type JobResult } from '../protocol/index.js';
import type { JobRecord, JobStore } from '../ports/job-store.js';


export interface RecoveryContext {
  store: JobStore;
  workerId: string;
  logger: Logger;
  metrics: WorkerMetrics;
}

/**
 * Start-up recovery of a job a worker held when it died (its own, or adopted from a dead
 * peer): given back (a lost running attempt counted), or ended WORKER_LOST once its
 * attempts are used, or archived when it had already finished.
 */
export async function recoverJob(c: RecoveryContext, job: JobDocument | null, jobId: string, opts: { countLost?: boolean } = {}): Promise<RecoverAction> {
  const rec = await c.store.get(jobId);
  if (!rec) return { action: 'release' };
  switch (rec.status) {
    case 'completed':
    case 'failed':
    case 'cancelled':
    case 'timeout':
      return { action: 'archive', result: await c.store.result(jobId) };
    case 'assigned':
      await c.store.transition(jobId, 'pending', { workerId: null, reason: 'recovered (never started)' });
      return { action: 'release' };
    case 'pending':
      await c.store.unassign(jobId);
      return { action: 'release' };
    case 'running':
      break;
  }
  // running: the attempt died with the worker
  if (rec.attempt < rec.maxAttempts) {
    await c.store.transition(jobId, 'pending', { workerId: null, reason: 'worker_lost', attemptOutcome: 'lost', errorCode: 'WORKER_LOST' });
    c.logger.warn({ job_id: jobId, attempt: rec.attempt, max_attempts: rec.maxAttempts }, 'job was running when the worker died; re-queued');
    return { action: 'release' };
  }
  const result = lostResult(c.workerId, job ?? rec.job, rec);
  await c.store.finish(jobId, 'failed', result, { errorCode: 'WORKER_LOST', errorMessage: result.error?.message, reason: 'worker_lost' });
  // (not counted here when the caller publishes the end as a job event: the event counts it)
  if (opts.countLost !== false) c.metrics.jobs.inc({ operation: rec.job.operation, status: 'failed' });
  c.logger.warn({ job_id: jobId, attempt: rec.attempt }, 'job was running when the worker died and has no attempts left: WORKER_LOST');
  return { action: 'archive', result };
}

/** Jobs the store says this worker holds but no intake found at recovery: they end WORKER_LOST. */
export async function failOrphans(c: RecoveryContext, keep: (jobId: string) => boolean): Promise<JobResult[]> {
  const out: JobResult[] = [];
  for (const rec of await c.store.activeJobsOf(c.workerId)) {
    const id = rec.job.job_id;
    if (keep(id)) continue;
    const result = lostResult(c.workerId, rec.job, rec);
    if (rec.status === 'pending') await c.store.transition(id, 'assigned', { reason: 'orphan' });
    await c.store.finish(id, 'failed', result, { errorCode: 'WORKER_LOST', reason: 'orphan' });
    out.push(result);
  }
  return out;
}

function lostResult(workerId: string, doc: JobDocument, rec: JobRecord): JobResult {
  return failedResult({
    job: { ...doc, execution: { ...doc.execution, attempt: Math.max(1, rec.attempt) } },
    workerId,
    startedAt: new Date(rec.startedAt ?? rec.queuedAt),
    error: new GuestkitError('WORKER_LOST', `worker ${rec.workerId ?? workerId} stopped while running attempt ${rec.attempt} of ${rec.maxAttempts}`, {
      phase: 'execution',
      recoverable: true,
      retryRecommended: true,
      details: { attempt: rec.attempt, max_attempts: rec.maxAttempts },
    }),
  });
}
