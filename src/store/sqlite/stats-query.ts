import type Database from 'better-sqlite3';
import { checkRange, emptyThroughput, percentiles, statBuckets, type JobStats, type LatencyStats, type RangeQuery, type StatusCounts, type ThroughputPoint } from '../../ports/job-stats.js';
import { DEFAULT_NAMESPACE, type JobQuery } from '../../ports/job-store.js';
import type { UsageRow } from '../../ports/usage.js';
import { listingWhere } from '../list-where.js';
import { JOB_STATUSES, TERMINAL_STATUSES, type TerminalStatus } from '../../protocol/status.js';
import { buildListQuery } from './list-query.js';
import { usageQuery } from './usage-query.js';


/**
 * The JobStats port over the embedded store's database (the SqliteJobStore's `db`): reads
 * only, on the indexes of schema v2/v4/v6 (finished jobs by finished_at, covering status,
 * namespace, operation and the three times, so the charts never read a job document).
 */
export class SqliteJobStats implements JobStats {
  constructor(private readonly db: Database.Database) {}

  async counts(query: JobQuery): Promise<StatusCounts> {
    const { where, params } = listingWhere(buildListQuery({ ...query, cursor: undefined, limit: undefined }));
    const rows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM jobs ${where} GROUP BY status`).all(...params) as { status: string; n: number }[];
    const out = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as StatusCounts;
    for (const r of rows) if (r.status in out) out[r.status as keyof StatusCounts] = r.n;
    return out;
  }

  async throughput(q: RangeQuery & { bucketMs: number }): Promise<ThroughputPoint[]> {
    const { start, n } = statBuckets(q);
    const { where, params } = finishedWhere(q);
    const rows = this.db
      .prepare(`SELECT CAST((finished_at - ?) / ? AS INTEGER) AS b, status, COUNT(*) AS n FROM jobs ${where} GROUP BY b, status`)
      .all(start, q.bucketMs, ...params) as { b: number; status: string; n: number }[];
    const points = emptyThroughput(start, n, q.bucketMs);
    for (const r of rows) {
      const p = points[r.b];
      if (p && (TERMINAL_STATUSES as readonly string[]).includes(r.status)) p[r.status as TerminalStatus] += r.n;
    }
    return points;
  }

  async latency(q: RangeQuery & { bucketMs: number }): Promise<LatencyStats> {
    const { start, n } = statBuckets(q);
    const { where, params } = finishedWhere(q);
    // raw rows of three integers: a month of a busy node is a few hundred thousand, sorted here
    const rows = this.db
      .prepare(`SELECT finished_at, started_at - queued_at, finished_at - started_at FROM jobs ${where} AND started_at IS NOT NULL`)
      .raw()
      .all(...params) as [number, number, number][];
    const wait = new Float64Array(rows.length);
    const run = new Float64Array(rows.length);
    const perBucket: { wait: number[]; run: number[] }[] = Array.from({ length: n }, () => ({ wait: [], run: [] }));
    rows.forEach(([fin, w, r], i) => {
      // clocks of different nodes may disagree by a little: never a negative duration
      wait[i] = Math.max(0, w);
      run[i] = Math.max(0, r);
      const b = perBucket[Math.floor((fin - start) / q.bucketMs)];
      if (b) {
        b.wait.push(wait[i]!);
        b.run.push(run[i]!);
      }
    });
    return {
      wait: percentiles(wait),
      run: percentiles(run),
      points: perBucket.map((b, i) => ({ at: start + i * q.bucketMs, wait: percentiles(b.wait), run: percentiles(b.run) })),
    };
  }

  async usageByNamespace(q: RangeQuery): Promise<UsageRow[]> {
    const { where, params } = finishedWhere(q);
    const namespaces = (
      this.db.prepare(`SELECT DISTINCT coalesce(nullif(namespace, ''), '${DEFAULT_NAMESPACE}') AS ns FROM jobs ${where}`).all(...params) as { ns: string }[]
    ).map((r) => r.ns);
    const out: UsageRow[] = [];
    for (const ns of namespaces.sort()) {
      // the usage query itself, per namespace (its rules: `default` covers jobs naming none)
      const rows = usageQuery(this.db, { namespace: ns, from: q.from, to: q.to, groupBy: 'operation' }).filter((r) => q.operation === undefined || r.key === q.operation);
      if (rows.length === 0) continue;
      const sum: UsageRow = { key: ns, jobs: 0, cpuSeconds: 0, wallSeconds: 0, bytesRead: 0, imageBytes: 0, peakMemoryMb: 0 };
      for (const r of rows) {
        sum.jobs += r.jobs;
        sum.cpuSeconds += r.cpuSeconds;
        sum.wallSeconds += r.wallSeconds;
        sum.bytesRead += r.bytesRead;
        sum.imageBytes += r.imageBytes;
        sum.peakMemoryMb = Math.max(sum.peakMemoryMb, r.peakMemoryMb);
      }
      out.push(sum);
    }
    return out;
  }
}


function finishedWhere(q: RangeQuery): { where: string; params: unknown[] } {
  checkRange(q);
  const where = ['finished_at >= ?', 'finished_at < ?'];
  const params: unknown[] = [q.from, q.to];
  if (q.namespace !== undefined) {
    where.push(q.namespace === DEFAULT_NAMESPACE ? "(namespace IS NULL OR namespace IN ('', ?))" : 'namespace = ?');
    params.push(q.namespace);
  }
  if (q.operation !== undefined) {
    where.push('operation = ?');
    params.push(q.operation);
  }
  return { where: `WHERE ${where.join(' AND ')}`, params };
}
