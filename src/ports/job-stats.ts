import type { JobQuery } from './job-store.js';
import type { JobStatus, TerminalStatus } from '../protocol/status.js';
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
