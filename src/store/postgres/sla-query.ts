import type pg from 'pg';
import { DEFAULT_NAMESPACE, type JobStore } from '../../ports/job-store.js';
import { deadlineMissed, READY_AT, type EndedCursor, type EndedJob, type SlaSource, type WaitingGroup } from '../../ports/sla.js';
import { PostgresJobStore } from './pg-job-store.js';

/** The SlaSource of a PostgreSQL store, or undefined for another store. */
export function pgSlaOf(store: JobStore, defaultPool: string): PgSla | undefined {
  return store instanceof PostgresJobStore ? new PgSla(store.pool, defaultPool) : undefined;
}

const NS = `coalesce(nullif(j.namespace, ''), '${DEFAULT_NAMESPACE}')`;
const POOL = `coalesce(nullif(j.doc -> 'routing' ->> 'worker_pool', ''), $1)`;

/**
 * The SLA figures over the shared PostgreSQL store, with the embedded store's answers
 * (src/store/sqlite/sla-query.ts): pending rows through jobs_by_status, ended jobs a page at
 * a time through jobs_by_finished, the first attempt by its key. Grouping happens in the
 * database, so a scrape moves a row per namespace and pool, and a page of ended jobs.
 */
export class PgSla implements SlaSource {
  constructor(
    private readonly db: pg.Pool,
    private readonly defaultPool: string,
  ) {}

  async waiting(now: number): Promise<WaitingGroup[]> {
    const r = await this.db.query<{ ns: string; pool: string; ready: number; backoff: number; oldest: string | null }>(
      `SELECT ns, pool,
         count(*) FILTER (WHERE ready_at <= $2)::integer AS ready, count(*) FILTER (WHERE ready_at > $2)::integer AS backoff,
         min(ready_at) FILTER (WHERE ready_at <= $2) AS oldest
       FROM (SELECT ${NS} AS ns, ${POOL} AS pool, ${READY_AT} AS ready_at FROM jobs j
         WHERE j.status = 'pending' AND (j.hold IS NULL OR j.hold <> 'dependencies')) w
       GROUP BY ns, pool`,
      [this.defaultPool, now],
    );
    return r.rows.map((x) => ({ namespace: x.ns, pool: x.pool, ready: x.ready, backoff: x.backoff, oldestReadyAt: x.oldest === null ? null : Number(x.oldest) }));
  }

  async ended(after: EndedCursor, before: number, limit: number): Promise<EndedJob[]> {
    // bigint arrives as text; the deadline is RFC 3339 text in the document
    const r = await this.db.query<{ job_id: string; finished_at: string; ns: string; pool: string; status: string; started_at: string | null; first_start: string | null; queued_at: string; deadline: number | null }>(
      `SELECT j.job_id, j.finished_at, ${NS} AS ns, ${POOL} AS pool, j.status, j.started_at, a.started_at AS first_start, j.queued_at,
         (extract(epoch FROM (j.doc -> 'execution' ->> 'deadline')::timestamptz) * 1000)::float8 AS deadline
       FROM jobs j LEFT JOIN attempts a ON a.job_id = j.job_id AND a.attempt = 1
       WHERE j.finished_at IS NOT NULL AND j.finished_at < $2 AND j.finished_at >= $3 AND (j.finished_at > $3 OR j.job_id > $4)
       ORDER BY j.finished_at, j.job_id LIMIT $5`,
      [this.defaultPool, before, after.finishedAt, after.jobId, limit],
    );
    return r.rows.map((x) => {
      const finishedAt = Number(x.finished_at);
      const startedAt = x.started_at === null ? null : Number(x.started_at);
      const firstStart = x.first_start === null ? startedAt : Number(x.first_start);
      return {
        jobId: x.job_id,
        finishedAt,
        namespace: x.ns,
        pool: x.pool,
        waitMs: startedAt === null || firstStart === null ? null : Math.max(0, firstStart - Number(x.queued_at)),
        deadlineMissed: deadlineMissed(x.status, finishedAt, startedAt, x.deadline === null ? null : Math.round(x.deadline)),
      };
    });
  }
}
