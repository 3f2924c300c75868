import { namespaceOf, primaryImagePath, workerIsLive, type AttemptRecord, type Hold, type JobRecord, type WorkerRecord } from '../ports/job-store.js';
import type { JobDocument } from '../protocol/envelope.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A job as the API shows it (docs/api.md, "The job view"). */
export interface JobView {
  job_id: string;
  status: string;
  operation: string;
  namespace: string;
  labels: Record<string, string>;
  name: string | null;
  image_path: string | null;
  priority: number;
  attempt: number;
  max_attempts: number;
  worker_id: string | null;
  source: string | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  error_code: string | null;
  /** Accepted but not queued: waiting for its parents (`dependencies`) or for a worker that can run it (`capacity`). */
  hold: Hold | null;
  /** The jobs it waits for (execution.depends_on). */
  depends_on: string[];
  job?: JobDocument;
  attempts?: AttemptView[];
}

export interface AttemptView {
  attempt: number;
  worker_id: string;
  status: string;
  error_code: string | null;
  started_at: string;
  finished_at: string | null;
}

export function jobView(r: JobRecord, opts: { withJob?: boolean; attempts?: AttemptRecord[] } = {}): JobView {
  const job = r.job;
  const v: JobView = {
    job_id: job.job_id,
    status: r.status,
    operation: job.operation,
    namespace: namespaceOf(job),
    labels: job.metadata?.labels ?? {},
    name: job.metadata?.name ?? null,
    image_path: primaryImagePath(job),
    priority: job.execution.priority,
    attempt: r.attempt,
    max_attempts: r.maxAttempts,
    worker_id: r.workerId,
    source: r.source,
    queued_at: iso(r.queuedAt)!,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
    updated_at: iso(r.updatedAt)!,
    error_code: r.errorCode,
    hold: r.hold,
    depends_on: job.execution.depends_on ?? [],
  };
  if (opts.withJob) v.job = job;
  if (opts.attempts) {
    v.attempts = opts.attempts.map((a) => ({
      attempt: a.attempt,
      worker_id: a.workerId,
      status: a.status,
      error_code: a.errorCode,
      started_at: iso(a.startedAt)!,
      finished_at: iso(a.finishedAt),
    }));
  }
  return v;
}

/** The view of a job just accepted, without reading it back from the store. */
export function acceptedView(job: JobDocument, state: { status: string; attempt: number; workerId: string | null; source: string | null }, now: number, hold: Hold | null = null): JobView {
  return jobView(
    {
      job,
      status: state.status as JobRecord['status'],
      attempt: state.attempt,
      maxAttempts: job.execution.max_attempts,
      workerId: state.workerId,
      source: state.source,
      queuedAt: now,
      startedAt: null,
      finishedAt: null,
      nextAttemptAt: null,
      errorCode: null,
      updatedAt: now,
      hold,
    },
    { withJob: true },
  );
}

export interface WorkerView {
  worker_id: string;
  state: string;
  live: boolean;
  current_jobs: number;
  max_concurrent: number | null;
  pool: string | null;
  version: string;
  hostname: string;
  registered_at: string;
  last_heartbeat: string;
  capabilities: WorkerRecord['registration']['capabilities'];
}

/** A worker is live when it heartbeated within five of its own intervals and is not offline. */
export function workerView(w: WorkerRecord, now: number): WorkerView {
  const reg = w.registration;
  return {
    worker_id: w.workerId,
    state: w.state,
    live: workerIsLive(w, now),
    current_jobs: w.currentJobs,
    max_concurrent: reg.resources?.max_concurrent_jobs ?? null,
    pool: (reg.configuration as { worker_pool?: string } | undefined)?.worker_pool ?? null,
    version: reg.version,
    hostname: reg.hostname,
    registered_at: iso(w.registeredAt)!,
    last_heartbeat: iso(w.lastHeartbeat)!,
    capabilities: reg.capabilities,
  };
}
