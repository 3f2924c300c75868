import type pg from 'pg';
import { checkRange, emptyThroughput, statBuckets, type JobStats, type LatencyStats, type Percentiles, type RangeQuery, type StatusCounts, type ThroughputPoint } from '../../ports/job-stats.js';
import { DEFAULT_NAMESPACE, type JobQuery, type JobStore } from '../../ports/job-store.js';
import type { UsageRow } from '../../ports/usage.js';
import { listingWhere } from '../list-where.js';
import { JOB_STATUSES, TERMINAL_STATUSES, type TerminalStatus } from '../../protocol/status.js';
import { buildPgListQuery } from './list-query.js';
import { PostgresJobStore } from './pg-job-store.js';
import { pgUsageQuery } from './usage-query.js';

/** The JobStats port of a PostgreSQL store, or undefined for another store. */
export function pgStatsOf(store: JobStore): PgJobStats | undefined {
  return store instanceof PostgresJobStore ? new PgJobStats(store.pool) : undefined;
}

const PS = [0.5, 0.9, 0.99];

/**
 * The JobStats port over the shared PostgreSQL store, with the embedded store's answers
 * (src/store/sqlite/stats-query.ts). The sums and percentiles are computed in the database
 * (percentile_disc is the nearest rank), so no job rows travel: the servers of a cluster all
 * chart the same history.
 */
export class PgJobStats implements JobStats {
  constructor(private readonly pool: pg.Pool) {}

  async counts(query: JobQuery): Promise<StatusCounts> {
    const { where, params } = listingWhere(buildPgListQuery({ ...query, cursor: undefined, limit: undefined }));
    const r = await this.pool.query<{ status: string; n: number }>(`SELECT status, count(*)::integer AS n FROM jobs ${where} GROUP BY status`, params);
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts;
    for (const row of r.rows) if (row.status in out) out[row.status as keyof StatusCounts] = row.n;
    return out;
  }

  async throughput(q: RangeQuery & { bucketMs: number }): Promise<ThroughputPoint[]> {
    const { start, n } = statBuckets(q);
    const { where, params } = finishedWhere(q, 2);
    const r = await this.pool.query<{ b: number; status: string; n: number }>(
      `SELECT floor((finished_at - $1)::float8 / $2)::integer AS b, status, count(*)::integer AS n FROM jobs ${where} GROUP BY 1, 2`,
      [start, q.bucketMs, ...params],
    );
    const points = emptyThroughput(start, n, q.bucketMs);
    for (const row of r.rows) {
      const p = points[row.b];
      if (p && (TERMINAL_STATUSES as readonly string[]).includes(row.status)) p[row.status as TerminalStatus] += row.n;
    }
    return points;
  }

  async latency(q: RangeQuery & { bucketMs: number }): Promise<LatencyStats> {
    const { start, n } = statBuckets(q);
    const { where, params } = finishedWhere(q, 3);
    // clocks of different nodes may disagree by a little: never a negative duration
    const r = await this.pool.query<{ b: number | null; n: number; wait: string[] | null; run: string[] | null }>(
      `SELECT floor((finished_at - $1)::float8 / $2)::integer AS b, count(*)::integer AS n,
         percentile_disc($3::float8[]) WITHIN GROUP (ORDER BY greatest(0, started_at - queued_at)) AS wait,
         percentile_disc($3::float8[]) WITHIN GROUP (ORDER BY greatest(0, finished_at - started_at)) AS run
       FROM jobs ${where} AND started_at IS NOT NULL
       GROUP BY ROLLUP (1)`,
      [start, q.bucketMs, PS, ...params],
    );
    const none: Percentiles = { n: 0, p50: null, p90: null, p99: null };
    const points = Array.from({ length: n }, (_, i) => ({ at: start + i * q.bucketMs, wait: none, run: none }));
    let wait = none;
    let run = none;
    for (const row of r.rows) {
      const w = pct(row.n, row.wait);
      const u = pct(row.n, row.run);
      if (row.b === null) {
        wait = w;
        run = u;
      } else if (points[row.b]) points[row.b] = { at: points[row.b]!.at, wait: w, run: u };
    }
    return { wait, run, points };
  }

  async usageByNamespace(q: RangeQuery): Promise<UsageRow[]> {
    checkRange(q);
    const { sql, params } = pgUsageQuery({ groupBy: 'namespace', from: q.from, to: q.to, namespace: q.namespace, operation: q.operation });
    return (await this.pool.query<UsageRow>(sql, params)).rows;
  }
}

/** Percentiles in seconds from the database's milliseconds (bigint arrives as text). */
function pct(n: number, ms: string[] | null): Percentiles {
  if (!n || !ms) return { n: 0, p50: null, p90: null, p99: null };
  const [p50, p90, p99] = ms.map((v) => Number(v) / 1000);
  return { n, p50: p50!, p90: p90!, p99: p99! };
}


/** finished_at in range, namespace and operation; placeholders numbered after `taken` others. */
function finishedWhere(q: RangeQuery, taken: number): { where: string; params: unknown[] } {
  checkRange(q);
  const params: unknown[] = [q.from, q.to];
  const p = (v: unknown) => {
    params.push(v);
    return `$${taken + params.length}`;
  };
  const where = [`finished_at >= $${taken + 1}`, `finished_at < $${taken + 2}`];
  if (q.namespace !== undefined) where.push(q.namespace === DEFAULT_NAMESPACE ? `(namespace IS NULL OR namespace IN ('', ${p(q.namespace)}))` : `namespace = ${p(q.namespace)}`);
  if (q.operation !== undefined) where.push(`operation = ${p(q.operation)}`);
  return { where: `WHERE ${where.join(' AND ')}`, params };
}
