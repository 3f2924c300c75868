import type { JobDocument } from '../../protocol/envelope.js';
import type { JobStatus } from '../../protocol/status.js';
import type { WorkerRegistration } from '../../protocol/worker.js';
import type { AttemptRecord, JobRecord, TransitionRecord, WorkerRecord } from '../../ports/job-store.js';

/** Rows as pg returns them (JSONB parsed, bigint as number); they never leave this folder. */
export interface PgJobRow {
  job_id: string;
  operation: string;
  namespace: string | null;
  status: JobStatus;
  priority: number;
  attempt: number;
  max_attempts: number;
  idempotency_key: string | null;
  worker_id: string | null;
  source: string | null;
  trace_id: string | null;
  doc: JobDocument;
  created_at: string;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_attempt_at: number | null;
  error_code: string | null;
  updated_at: number;
}

export function toJobRecord(r: PgJobRow): JobRecord {
  return {
    job: r.doc,
    status: r.status,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    workerId: r.worker_id,
    source: r.source,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    nextAttemptAt: r.next_attempt_at,
    errorCode: r.error_code,
    updatedAt: r.updated_at,
  };
}

export function toAttempt(r: { attempt: number; worker_id: string; status: string; error_code: string | null; started_at: number; finished_at: number | null }): AttemptRecord {
  return { attempt: r.attempt, workerId: r.worker_id, status: r.status, errorCode: r.error_code, startedAt: r.started_at, finishedAt: r.finished_at };
}

export function toTransition(r: { job_id: string; from_status: JobStatus | null; to_status: JobStatus; attempt: number; worker_id: string | null; at: number; reason: string | null }): TransitionRecord {
  return { jobId: r.job_id, from: r.from_status, to: r.to_status, attempt: r.attempt, workerId: r.worker_id, at: r.at, reason: r.reason };
}

export function toWorker(r: { worker_id: string; registration: WorkerRegistration; state: string; current_jobs: number; registered_at: number; last_heartbeat: number }): WorkerRecord {
  return {
    workerId: r.worker_id,
    registration: r.registration,
    state: r.state,
    currentJobs: r.current_jobs,
    registeredAt: r.registered_at,
    lastHeartbeat: r.last_heartbeat,
  };
}
