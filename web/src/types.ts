/** Shapes of the API's answers (docs/api.md). */
export type { Inspection, OperatingSystem, FilesystemEntry, Application, UserInfo, ServiceInfo, NetInterface } from '../../src/inspect/types';

export interface AttemptView {
  attempt: number;
  worker_id: string;
  status: string;
  error_code: string | null;
  started_at: string;
  finished_at: string | null;
}

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
  job?: Record<string, unknown> & { metadata?: { annotations?: Record<string, string> | null } | null; execution?: Record<string, unknown> };
  attempts?: AttemptView[];
}

export interface JobPage {
  items: JobView[];
  next?: string;
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
  capabilities: { operations?: string[]; features?: string[]; disk_formats?: string[]; [k: string]: unknown } | null;
}

export interface ProgressEvent {
  job_id: string;
  timestamp: string;
  sequence: number;
  phase: string;
  progress_percent?: number | null;
  message: string;
  details?: Record<string, unknown> | null;
}

export interface ResultError {
  code: string;
  message: string;
  phase: string;
  details?: Record<string, unknown> | null;
  recoverable: boolean;
  retry_recommended: boolean;
}

export interface JobResult {
  job_id: string;
  status: string;
  completed_at?: string | null;
  failed_at?: string | null;
  worker_id: string;
  execution_summary: { started_at: string; duration_seconds: number; attempt: number; idempotency_key?: string | null };
  outputs?: { primary?: string | null; artifacts?: string[] | null } | null;
  metrics?: Record<string, number | null | undefined> | null;
  error?: ResultError | null;
  data?: unknown;
}

export interface Capabilities {
  operations: string[];
  features: string[];
  disk_formats: string[];
  live_workers: number;
}
