import type { JobQuery } from './job-store.js';
import type { JobStatus, TerminalStatus } from '../protocol/status.js';
import { GuestkitError } from '../protocol/errors.js';
import type { UsageRow } from './usage.js';

/**
 * Read-only figures over the job history for the dashboard's counts and charts. A port of
 * its own (not part of JobStore): a store adapter may answer it from the same database
 * (src/store/sqlite/stats-query.ts) or not at all.
 */
export interface JobStats {
  /** How many jobs match a listing's filters, per status (cursor and limit are ignored). */
  counts(query: JobQuery): Promise<StatusCounts>;
  /** Jobs that finished in [from, to), per bucket of `bucketMs` and terminal status. */
  throughput(query: RangeQuery & { bucketMs: number }): Promise<ThroughputPoint[]>;
  /**
   * Queue wait (started − queued) and run time (finished − started) of the jobs that finished
   * in [from, to): percentiles over the whole range and per bucket of `bucketMs`.
   */
  latency(query: RangeQuery & { bucketMs: number }): Promise<LatencyStats>;
  /** What finished jobs consumed per namespace (key = the namespace), from the usage query. */
  usageByNamespace(query: RangeQuery): Promise<UsageRow[]>;
}

export type StatusCounts = Record<JobStatus, number>;

export interface RangeQuery {
  /** `default` also covers jobs that name no namespace; unset: every namespace. */
  namespace?: string;
  /** ms since epoch: inclusive from, exclusive to. */
  from: number;
  to: number;
  operation?: string;
}

/** One bucket: its start (ms since epoch) and how many jobs ended with each terminal status. */
export type ThroughputPoint = { at: number } & Record<TerminalStatus, number>;

export interface Percentiles {
  /** How many jobs the figures cover. */
  n: number;
  /** Seconds; null when n = 0. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface LatencyStats {
  wait: Percentiles;
  run: Percentiles;
  points: { at: number; wait: Percentiles; run: Percentiles }[];
}

export const PERCENTILES = [50, 90, 99] as const;

/** Nearest-rank percentiles of `values` (sorted in place), in seconds from ms. */
export function percentiles(values: Float64Array | number[]): Percentiles {
  const v = values instanceof Float64Array ? values : Float64Array.from(values);
  v.sort();
  const n = v.length;
  const at = (p: number) => (n === 0 ? null : v[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]! / 1000);
  return { n, p50: at(50), p90: at(90), p99: at(99) };
}

/** More buckets than this in one answer is a caller's mistake (a month by the minute). */
export const MAX_BUCKETS = 10_000;

/** The range must hold time; a VALIDATION_ERROR otherwise (every adapter checks the same way). */
export function checkRange(q: RangeQuery): void {
  if (!Number.isFinite(q.from) || !Number.isFinite(q.to) || q.to <= q.from) throw rangeError(`the range is empty or not a time range (from ${q.from}, to ${q.to})`);
}

/** Buckets start at a multiple of their size (UTC), the first one at or before `from`. */
export function statBuckets(q: RangeQuery & { bucketMs: number }): { start: number; n: number } {
  if (!Number.isInteger(q.bucketMs) || q.bucketMs < 1000) throw rangeError(`a bucket is a whole number of seconds, got ${q.bucketMs} ms`);
  const start = Math.floor(q.from / q.bucketMs) * q.bucketMs;
  const n = Math.ceil((q.to - start) / q.bucketMs);
  if (n > MAX_BUCKETS) throw rangeError(`${n} buckets of ${q.bucketMs / 1000} s; at most ${MAX_BUCKETS}: choose a larger bucket or a shorter range`);
  return { start, n: Math.max(0, n) };
}

/** Empty buckets from `start`, one per `bucketMs`, for an adapter to fill. */
export function emptyThroughput(start: number, n: number, bucketMs: number): ThroughputPoint[] {
  return Array.from({ length: n }, (_, i) => ({ at: start + i * bucketMs, completed: 0, failed: 0, cancelled: 0, timeout: 0 }));
}

function rangeError(message: string): GuestkitError {
  return new GuestkitError('VALIDATION_ERROR', message, { phase: 'validation' });
}
