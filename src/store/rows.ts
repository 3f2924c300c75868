import type { JobDocument } from '../protocol/envelope.js';
import type { JobStatus } from '../protocol/status.js';
import type { WorkerRegistration } from '../protocol/worker.js';
import type { AttemptRecord, Hold, JobRecord, TransitionRecord, WorkerRecord } from '../ports/job-store.js';

/**
 * Row → record conversions every SQL adapter shares (column names are the same in SQLite
 * and PostgreSQL); each adapter only says how it decodes its JSON columns.
 */
export interface JobRowColumns {
  status: JobStatus;
  attempt: number;
  max_attempts: number;
  worker_id: string | null;
  source: string | null;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_attempt_at: number | null;
  error_code: string | null;
  updated_at: number;
  hold: string | null;
  hold_reason: string | null;
}

export function jobRecordOf(r: JobRowColumns, job: JobDocument): JobRecord {
  return {
    job,
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
    hold: holdOf(r),
  };
}

export function holdOf(r: { hold: string | null; hold_reason: string | null }): Hold | null {
  return r.hold === 'dependencies' || r.hold === 'capacity' ? { kind: r.hold, reason: r.hold_reason ?? '' } : null;
}

export function toAttempt(r: { attempt: number; worker_id: string; status: string; error_code: string | null; started_at: number; finished_at: number | null }): AttemptRecord {
  return { attempt: r.attempt, workerId: r.worker_id, status: r.status, errorCode: r.error_code, startedAt: r.started_at, finishedAt: r.finished_at };
}

export function toTransition(r: { job_id: string; from_status: JobStatus | null; to_status: JobStatus; attempt: number; worker_id: string | null; at: number; reason: string | null }): TransitionRecord {
  return { jobId: r.job_id, from: r.from_status, to: r.to_status, attempt: r.attempt, workerId: r.worker_id, at: r.at, reason: r.reason };
}

export function workerRecordOf(r: { worker_id: string; state: string; current_jobs: number; registered_at: number; last_heartbeat: number }, registration: WorkerRegistration): WorkerRecord {
  return { workerId: r.worker_id, registration, state: r.state, currentJobs: r.current_jobs, registeredAt: r.registered_at, lastHeartbeat: r.last_heartbeat };
}
