import { z } from 'zod';
import { GuestkitError, toProtocolError, type ProtocolError } from './errors.js';
import type { JobDocument } from './envelope.js';
import { JobStatusSchema, type TerminalStatus } from './status.js';
import { nowTimestamp, Timestamp, timestampMillis } from './timestamp.js';

export const ResultErrorSchema = z.looseObject({
  code: z.string().min(1),
  message: z.string(),
  phase: z.string().min(1),
  details: z.record(z.string(), z.unknown()).nullish(),
  recoverable: z.boolean(),
  retry_recommended: z.boolean(),
});

const bytes = z.number().min(0);

/** The one result document per job (`<job_id>-result.json` in a results folder). */
export const JobResultSchema = z.looseObject({
  job_id: z.string().min(1),
  status: JobStatusSchema,
  completed_at: Timestamp.nullish(),
  failed_at: Timestamp.nullish(),
  worker_id: z.string().min(1),
  execution_summary: z.looseObject({
    started_at: Timestamp,
    duration_seconds: z.number().min(0),
    attempt: z.int().min(1),
    idempotency_key: z.string().nullish(),
  }),
  outputs: z
    .looseObject({
      primary: z.string().nullish(),
      artifacts: z.array(z.string()).nullish(),
    })
    .nullish(),
  metrics: z
    .looseObject({
      disk_read_bytes: bytes.nullish(),
      disk_write_bytes: bytes.nullish(),
      peak_memory_mb: bytes.nullish(),
      cpu_seconds: bytes.nullish(),
    })
    .nullish(),
  error: ResultErrorSchema.nullish(),
  observability: z.looseObject({ trace_id: z.string().nullish(), span_id: z.string().nullish() }).nullish(),
  data: z.unknown().optional(),
});
export type JobResult = z.output<typeof JobResultSchema>;
export type ResultMetrics = NonNullable<JobResult['metrics']>;
export type ResultOutputs = NonNullable<JobResult['outputs']>;

export interface ResultBase {
  job: Pick<JobDocument, 'job_id' | 'execution' | 'observability'>;
  workerId: string;
  /** When the handler started (RFC 3339 or Date). */
  startedAt: string | Date;
  /** When it ended; now by default. */
  finishedAt?: string | Date;
  outputs?: ResultOutputs;
  metrics?: ResultMetrics;
  data?: unknown;
}

const ts = (t: string | Date): string => (typeof t === 'string' ? t : nowTimestamp(t));

const millis = (t: string | Date): number => (typeof t === 'string' ? timestampMillis(t) : t.getTime());

function base(status: TerminalStatus, b: ResultBase): JobResult {
  const end = b.finishedAt ?? new Date();
  const started = ts(b.startedAt);
  const finished = ts(end);
  // from the Dates when given (parsing the text back costs more than the rest of the result)
  const ms = millis(end) - millis(b.startedAt);
  const out: JobResult = {
    job_id: b.job.job_id,
    status,
    worker_id: b.workerId,
    execution_summary: {
      started_at: started,
      duration_seconds: Number.isFinite(ms) ? Math.max(0, ms) / 1000 : 0,
      attempt: b.job.execution.attempt,
    },
  };
  if (status === 'completed') out.completed_at = finished;
  else out.failed_at = finished;
  if (b.job.execution.idempotency_key) out.execution_summary.idempotency_key = b.job.execution.idempotency_key;
  if (b.outputs) out.outputs = b.outputs;
  if (b.metrics) out.metrics = b.metrics;
  const obs = b.job.observability;
  if (obs?.trace_id || obs?.span_id) {
    out.observability = {};
    if (obs.trace_id) out.observability.trace_id = obs.trace_id;
    if (obs.span_id) out.observability.span_id = obs.span_id;
  }
  if (b.data !== undefined) out.data = b.data;
  return out;
}

export function completedResult(b: ResultBase): JobResult {
  return base('completed', b);
}

/** A failed job; `error` may be anything thrown (unknown errors become EXECUTION_ERROR). */
export function failedResult(b: ResultBase & { error: unknown }): JobResult {
  const out = base('failed', b);
  out.error = { ...toProtocolError(b.error) };
  return out;
}

/** A job that ran out of time: status `timeout`, code TIMEOUT (the earlier worker wrote `failed`). */
export function timeoutResult(b: ResultBase & { message?: string; phase?: string }): JobResult {
  const out = base('timeout', b);
  const secs = b.job.execution.timeout_seconds;
  out.error = {
    ...new GuestkitError('TIMEOUT', b.message ?? `job exceeded its timeout of ${secs} s`, {
    phase: b.phase ?? 'execution',
    recoverable: true,
    retryRecommended: true,
  }).toProtocol(),
  };
  return out;
}

export function cancelledResult(b: ResultBase & { message?: string; phase?: string }): JobResult {
  const out = base('cancelled', b);
  out.error = {
    ...new GuestkitError('CANCELLED', b.message ?? 'job was cancelled', { phase: b.phase ?? 'execution' }).toProtocol(),
  };
  return out;
}

export type { ProtocolError };
