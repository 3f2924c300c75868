import { z } from 'zod';
import { PHASES } from './errors.js';
import { nowTimestamp, Timestamp } from './timestamp.js';

export const STANDARD_PHASES = PHASES;

const TraceRef = z.looseObject({
  trace_id: z.string().nullish(),
  span_id: z.string().nullish(),
  parent_span_id: z.string().nullish(),
  correlation_id: z.string().nullish(),
});

/** One progress event; `sequence` counts from 0 per job. */
export const ProgressEventSchema = z.looseObject({
  job_id: z.string().min(1),
  timestamp: Timestamp,
  sequence: z.int().min(0),
  phase: z.string().min(1),
  progress_percent: z.number().min(0).max(100).nullish(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).nullish(),
  observability: TraceRef.nullish(),
});
export type ProgressEvent = z.output<typeof ProgressEventSchema>;

export interface ProgressOptions {
  percent?: number;
  details?: Record<string, unknown>;
  now?: Date;
}

/** Makes a job's progress events in order: sequence 0, 1, 2, …; percent clamped to 0..100. */
export class ProgressSequence {
  #next = 0;
  constructor(
    readonly jobId: string,
    private readonly observability?: { trace_id?: string | null; span_id?: string | null },
  ) {}

  /** The sequence number the next event will carry. */
  get nextSequence(): number {
    return this.#next;
  }

  event(phase: string, message: string, opts: ProgressOptions = {}): ProgressEvent {
    const ev: ProgressEvent = {
      job_id: this.jobId,
      timestamp: nowTimestamp(opts.now),
      sequence: this.#next++,
      phase,
      message,
    };
    if (opts.percent !== undefined && Number.isFinite(opts.percent)) {
      ev.progress_percent = Math.min(100, Math.max(0, Math.round(opts.percent)));
    }
    if (opts.details) ev.details = opts.details;
    if (this.observability?.trace_id) {
      ev.observability = { trace_id: this.observability.trace_id, span_id: this.observability.span_id ?? undefined };
    }
    return ev;
  }
}
