/** Shapes of the API's answers (docs/api.md). */
export type { Inspection, OperatingSystem, FilesystemEntry, Application, UserInfo, ServiceInfo, NetInterface } from '../../src/inspect/types';

/** The API's own view types (type-only: nothing of the server is bundled). */
export type { AttemptView, JobView, WorkerView } from '../../src/api/views';
import type { JobView } from '../../src/api/views';
export type { InventoryAnswer, InventoryImageView, InventoryPackageView } from '../../src/api/inventory-views';
export type { CheckResult, Evidence, GuestReport, ProfileReport, Severity } from '../../src/profile/types';

export interface JobPage {
  items: JobView[];
  next?: string;
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
