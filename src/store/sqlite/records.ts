import type { JobDocument } from '../../protocol/envelope.js';
import type { JobStatus } from '../../protocol/status.js';
import type { WorkerRegistration } from '../../protocol/worker.js';
import type { JobRecord, WorkerRecord } from '../../ports/job-store.js';
import { jobRecordOf, toAttempt, toTransition, workerRecordOf } from '../rows.js';

/** Rows as SQLite returns them; they never leave this folder. */
export interface JobRow {
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
  doc: string;
  created_at: string;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_attempt_at: number | null;
  error_code: string | null;
  updated_at: number;
  hold: string | null;
  hold_reason: string | null;
}

export function toJobRecord(r: JobRow): JobRecord {
  return jobRecordOf(r, JSON.parse(r.doc) as JobDocument);
}

export { toAttempt, toTransition };

export function toWorker(r: { worker_id: string; registration: string; state: string; current_jobs: number; registered_at: number; last_heartbeat: number }): WorkerRecord {
  return workerRecordOf(r, JSON.parse(r.registration) as WorkerRegistration);
}
