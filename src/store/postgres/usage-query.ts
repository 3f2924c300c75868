import { DEFAULT_NAMESPACE } from '../../ports/job-store.js';
import type { UsageQuery } from '../../ports/usage.js';

// a metric that is not a JSON number counts as absent (as SQLite's TOTAL skips NULLs)
const num = (path: string) => `(CASE WHEN jsonb_typeof(r.doc #> '${path}') = 'number' THEN (r.doc #>> '${path}')::float8 END)`;
const metric = (name: string) => num(`{metrics,${name}}`);

/** The usage query's groupings, and `namespace` for the charts (src/store/postgres/stats-query.ts). */
export type PgUsageQuery = UsageQuery | (Omit<UsageQuery, 'groupBy'> & { groupBy: 'namespace'; operation?: string });

const KEYS: Record<PgUsageQuery['groupBy'], string> = {
  operation: 'j.operation',
  // jobs naming no namespace (NULL, or empty) are in `default`
  namespace: `coalesce(nullif(j.namespace, ''), '${DEFAULT_NAMESPACE}')`,
  // finished_at is ms since epoch; the day is UTC
  day: `to_char(to_timestamp(floor(j.finished_at / 1000.0)) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
};

/**
 * Usage of finished jobs (finished_at in [from, to)), grouped by operation or UTC day,
 * summed in the database from the JSONB metrics of their results. Results written before
 * wall_seconds existed count their execution_summary.duration_seconds instead.
 */
export function pgUsageQuery(q: PgUsageQuery): { sql: string; params: unknown[] } {
  const where = ['j.finished_at IS NOT NULL'];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (q.from !== undefined) where.push(`j.finished_at >= ${p(q.from)}`);
  if (q.to !== undefined) where.push(`j.finished_at < ${p(q.to)}`);
  if (q.namespace !== undefined) {
    // jobs naming no namespace (NULL, or empty) are in `default`
    where.push(q.namespace === DEFAULT_NAMESPACE ? `(j.namespace IS NULL OR j.namespace IN ('', ${p(q.namespace)}))` : `j.namespace = ${p(q.namespace)}`);
  }
  if ('operation' in q && q.operation !== undefined) where.push(`j.operation = ${p(q.operation)}`);
  const sql = `SELECT ${KEYS[q.groupBy]} AS key,
      count(*)::integer AS "jobs",
      coalesce(sum(${metric('cpu_seconds')}), 0)::float8 AS "cpuSeconds",
      coalesce(sum(coalesce(${metric('wall_seconds')}, ${num('{execution_summary,duration_seconds}')})), 0)::float8 AS "wallSeconds",
      coalesce(sum(${metric('disk_read_bytes')}), 0)::float8 AS "bytesRead",
      coalesce(sum(${metric('image_bytes')}), 0)::float8 AS "imageBytes",
      coalesce(max(${metric('peak_memory_mb')}), 0)::float8 AS "peakMemoryMb"
    FROM jobs j LEFT JOIN results r ON r.job_id = j.job_id
    WHERE ${where.join(' AND ')}
    GROUP BY 1 ORDER BY 1`;
  return { sql, params };
}
