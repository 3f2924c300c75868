import type Database from 'better-sqlite3';
import { DEFAULT_NAMESPACE } from '../../ports/job-store.js';
import { deadlineMissed, READY_AT, type EndedCursor, type EndedJob, type SlaSource, type WaitingGroup } from '../../ports/sla.js';

const ns = (t: string) => `coalesce(nullif(${t}.namespace, ''), '${DEFAULT_NAMESPACE}')`;
// the document is parsed only when it names a pool at all (most do not; a scrape reads every pending row)
const pool = (t: string) => `coalesce(nullif(CASE WHEN instr(${t}.doc, 'worker_pool') > 0 THEN json_extract(${t}.doc, '$.routing.worker_pool') END, ''), @pool)`;
// RFC 3339 text to ms since epoch (julianday reads the offset and the fraction)
const deadline = (t: string) => `round((julianday(json_extract(${t}.doc, '$.execution.deadline')) - 2440587.5) * 86400000.0)`;

/** The two reads (exported for the query-plan test). */
export const SQLITE_SLA_SQL = {
  waiting: `
    SELECT ns, pool,
      sum(ready_at <= @now) AS ready, sum(ready_at > @now) AS backoff,
      min(CASE WHEN ready_at <= @now THEN ready_at END) AS oldest
    FROM (SELECT ${ns('j')} AS ns, ${pool('j')} AS pool, ${READY_AT} AS ready_at FROM jobs j
      WHERE j.status = 'pending' AND (j.hold IS NULL OR j.hold <> 'dependencies'))
    GROUP BY ns, pool`,
  ended: `
    SELECT j.job_id AS jobId, j.finished_at AS finishedAt, ${ns('j')} AS namespace, ${pool('j')} AS pool,
      coalesce(a.started_at, j.started_at) - j.queued_at AS waitMs,
      j.status, j.started_at AS startedAt, ${deadline('j')} AS deadline
    FROM jobs j LEFT JOIN attempts a ON a.job_id = j.job_id AND a.attempt = 1
    WHERE j.finished_at IS NOT NULL AND j.finished_at < @before
      AND j.finished_at >= @at AND (j.finished_at > @at OR j.job_id > @id)
    ORDER BY j.finished_at, j.job_id LIMIT @limit`,
};

/**
 * The SLA figures over the embedded store's database: pending rows through jobs_by_status,
 * ended jobs a page at a time through jobs_by_finished (v6), the first attempt by its key.
 */
export class SqliteSla implements SlaSource {
  private readonly waitingStmt: Database.Statement;
  private readonly endedStmt: Database.Statement;

  constructor(db: Database.Database, private readonly defaultPool: string) {
    this.waitingStmt = db.prepare(SQLITE_SLA_SQL.waiting);
    this.endedStmt = db.prepare(SQLITE_SLA_SQL.ended);
  }

  async waiting(now: number): Promise<WaitingGroup[]> {
    const rows = this.waitingStmt.all({ now, pool: this.defaultPool }) as { ns: string; pool: string; ready: number; backoff: number; oldest: number | null }[];
    return rows.map((r) => ({ namespace: r.ns, pool: r.pool, ready: r.ready, backoff: r.backoff, oldestReadyAt: r.oldest }));
  }

  async ended(after: EndedCursor, before: number, limit: number): Promise<EndedJob[]> {
    const rows = this.endedStmt.all({ at: after.finishedAt, id: after.jobId, before, limit, pool: this.defaultPool }) as (Omit<EndedJob, 'deadlineMissed'> & {
      status: string;
      startedAt: number | null;
      deadline: number | null;
    })[];
    return rows.map(({ status, startedAt, deadline, ...r }) => ({
      ...r,
      // a start recorded at all (a job cancelled while pending has none)
      waitMs: startedAt === null || r.waitMs === null ? null : Math.max(0, r.waitMs),
      deadlineMissed: deadlineMissed(status, r.finishedAt, startedAt, deadline),
    }));
  }
}
