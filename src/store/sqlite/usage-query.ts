import type Database from 'better-sqlite3';
import { DEFAULT_NAMESPACE } from '../../ports/job-store.js';
import type { UsageQuery, UsageRow } from '../../ports/usage.js';

const metric = (name: string) => `json_extract(r.doc, '$.metrics.${name}')`;

const KEYS: Record<UsageQuery['groupBy'], string> = {
  operation: 'j.operation',
  // finished_at is ms since epoch; the day is UTC
  day: `strftime('%Y-%m-%d', j.finished_at / 1000, 'unixepoch')`,
};

/**
 * Usage of finished jobs (finished_at in [from, to)), grouped by operation or UTC day,
 * summed from the metrics of their results. Results written before wall_seconds existed
 * count their execution_summary.duration_seconds instead.
 */
export function usageQuery(db: Database.Database, q: UsageQuery): UsageRow[] {
  const where = ['j.finished_at IS NOT NULL'];
  const params: (string | number)[] = [];
  if (q.from !== undefined) {
    where.push('j.finished_at >= ?');
    params.push(q.from);
  }
  if (q.to !== undefined) {
    where.push('j.finished_at < ?');
    params.push(q.to);
  }
  if (q.namespace !== undefined) {
    // jobs naming no namespace (NULL, or empty) are in `default`
    where.push(q.namespace === DEFAULT_NAMESPACE ? "(j.namespace IS NULL OR j.namespace IN ('', ?))" : 'j.namespace = ?');
    params.push(q.namespace);
  }
  const sql = `SELECT ${KEYS[q.groupBy]} AS key,
      COUNT(*) AS jobs,
      TOTAL(${metric('cpu_seconds')}) AS cpuSeconds,
      TOTAL(COALESCE(${metric('wall_seconds')}, json_extract(r.doc, '$.execution_summary.duration_seconds'))) AS wallSeconds,
      TOTAL(${metric('disk_read_bytes')}) AS bytesRead,
      TOTAL(${metric('image_bytes')}) AS imageBytes,
      COALESCE(MAX(${metric('peak_memory_mb')}), 0) AS peakMemoryMb
    FROM jobs j LEFT JOIN results r ON r.job_id = j.job_id
    WHERE ${where.join(' AND ')}
    GROUP BY key ORDER BY key`;
  return db.prepare(sql).all(...params) as UsageRow[];
}
