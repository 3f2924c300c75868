import type { JobDocument } from '../../protocol/envelope.js';
import type { JobStatus } from '../../protocol/status.js';
import type { WorkerRegistration } from '../../protocol/worker.js';
import type { JobRecord, WorkerRecord } from '../../ports/job-store.js';
import { jobRecordOf, toAttempt, toTransition, workerRecordOf } from '../rows.js';

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
  hold: string | null;
  hold_reason: string | null;
}

export function toJobRecord(r: PgJobRow): JobRecord {
  return jobRecordOf(r, r.doc);
}

export { toAttempt, toTransition };

export function toWorker(r: { worker_id: string; registration: WorkerRegistration; state: string; current_jobs: number; registered_at: number; last_heartbeat: number }): WorkerRecord {
  return workerRecordOf(r, r.registration);
}
