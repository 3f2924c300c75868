/**
 * The JSON shapes of the HTTP API (docs/api.md) as the client sees them. The server's own
 * view types are imported (type-only: nothing of the server is loaded by the client).
 */
import type { AttemptView, JobView, WorkerView } from '../api/views.js';
import type { TreeNode } from '../api/routes/job-tree.js';
import type { ProgressEvent } from '../protocol/progress.js';
import type { JobResult } from '../protocol/result.js';

export type { AttemptView, JobView, JobResult, ProgressEvent, WorkerView };

/** GET /jobs/{id}: the view with the document and every attempt. */
export type JobDetail = JobView & { attempts: AttemptView[] };

/** GET /jobs/{id}/tree: the jobs it waits for (up) and those that wait for it (down). */
export type JobTree = Omit<TreeNode, 'children' | 'truncated'> & { parents: TreeNode[]; dependants: TreeNode[] };
export type { TreeNode };

/** A page of a list; pass `next` as `cursor` for the following (older) page. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** GET /jobs filters (docs/api.md); `status` may list several. */
export interface JobFilter {
  status?: string[];
  operation?: string;
  /** Admins only; everyone else sees their own namespace. */
  namespace?: string;
  /** Label selector, e.g. `env=prod,tier!=db,team`. */
  labels?: string;
  imagePrefix?: string;
  /** Queued time bounds, RFC 3339. */
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  /** Include each job's document. */
  includeJob?: boolean;
}

export interface SubmitOptions {
  /** Sent as the Idempotency-Key header (sets execution.idempotency_key). */
  idempotencyKey?: string;
}

export interface CancelAnswer {
  job: JobView;
  /** `cancelled` when it had not started, `cancelling` while a running one stops. */
  outcome: 'cancelled' | 'cancelling';
}

export interface Capabilities {
  operations: string[];
  features: string[];
  disk_formats: string[];
  live_workers: number;
}

export interface UsageQuery {
  namespace?: string;
  /** finished_at bounds, RFC 3339. */
  from?: string;
  to?: string;
  groupBy?: 'operation' | 'day';
}

export interface UsageRow {
  /** The operation, the UTC day, or `total`. */
  key: string;
  jobs: number;
  cpu_seconds: number;
  wall_seconds: number;
  bytes_read: number;
  image_bytes: number;
  peak_memory_mb: number;
  cost: number;
}

export interface UsageReport {
  namespace?: string | null;
  group_by?: string;
  groups: UsageRow[];
  totals: UsageRow;
  prices: { cpu_second: number; gib_read: number; currency: string };
}

export interface AuditQuery {
  limit?: number;
  cursor?: string;
  from?: string;
  to?: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  role: string;
  namespace: string | null;
  action: string;
  target: string | null;
  source_ip: string | null;
  outcome: 'ok' | 'denied' | 'error';
  status: number;
  details?: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/** One server-sent event as it came over the wire. */
export interface SseMessage {
  /** The event's own `id:` field (progress events carry their sequence; status events none). */
  id?: string;
  /** `progress`, `status`, … (`message` when the server named none). */
  event: string;
  data: string;
}

/** The data of an `event: status` message. */
export interface StatusEventData {
  status: string;
  error_code?: string | null;
  finished_at?: string | null;
  attempt?: number;
  worker_id?: string | null;
  retry_in_ms?: number;
}
