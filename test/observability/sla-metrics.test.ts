import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { SlaMetrics } from '../../src/observability/sla-metrics.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { SlaSource } from '../../src/ports/sla.js';
import type { JobDocument } from '../../src/protocol/envelope.js';
import type { JobResult } from '../../src/protocol/result.js';
import type { TerminalStatus } from '../../src/protocol/status.js';
import { PostgresJobStore } from '../../src/store/postgres/pg-job-store.js';
import { PgSla } from '../../src/store/postgres/sla-query.js';
import { SQLITE_SLA_SQL, SqliteSla } from '../../src/store/sqlite/sla-query.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { startPostgres } from '../helpers/postgres.js';
import { call, removeDataDir, startServe, testJob } from '../helpers/serve.js';
import { jobDoc } from '../store/contract.js';

/**
 * The SLA metrics serve exports, read from a real store (SQLite, and a private PostgreSQL)
 * holding jobs at known times, with the scrape's clock under the test's control.
 */
const T = Date.parse('2026-03-01T10:00:00Z');
const S = 1000;
const MIN = 60 * S;
const iso = (ms: number) => new Date(ms).toISOString();

interface Times {
  queued: number;
  started?: number | null;
  /** the first attempt's start, when it differs from the last one's */
  firstStart?: number;
  finished?: number | null;
  next?: number | null;
  /** the row's last change (a hold released) */
  updated?: number;
}

interface Fixture {
  store: JobStore;
  source: SlaSource;
  setTimes(id: string, t: Times): Promise<void>;
  close(): Promise<void>;
}

const pgi = await startPostgres();
after(() => pgi.stop());

const fixtures: Record<string, () => Promise<Fixture>> = {
  sqlite: async () => {
    const store = SqliteJobStore.open(':memory:');
    return {
      store,
      source: new SqliteSla(store.db, 'main'),
      setTimes: async (id, t) => {
        store.db.prepare('UPDATE jobs SET queued_at = ?, started_at = ?, finished_at = ?, next_attempt_at = ?, updated_at = ? WHERE job_id = ?').run(t.queued, t.started ?? null, t.finished ?? null, t.next ?? null, t.updated ?? t.queued, id);
        store.db.prepare('UPDATE attempts SET started_at = ? WHERE job_id = ? AND attempt = 1').run(t.firstStart ?? t.started ?? 0, id);
      },
      close: () => store.close(),
    };
  },
  postgres: async () => {
    const store = await PostgresJobStore.open(await pgi.createDatabase('gk_sla'), { maxConnections: 4 });
    return {
      store,
      source: new PgSla(store.pool, 'main'),
      setTimes: async (id, t) => {
        await store.pool.query('UPDATE jobs SET queued_at = $1, started_at = $2, finished_at = $3, next_attempt_at = $4, updated_at = $5 WHERE job_id = $6', [t.queued, t.started ?? null, t.finished ?? null, t.next ?? null, t.updated ?? t.queued, id]);
        await store.pool.query('UPDATE attempts SET started_at = $1 WHERE job_id = $2 AND attempt = 1', [t.firstStart ?? t.started ?? 0, id]);
      },
      close: () => store.close(),
    };
  },
};

const result = (id: string, status: TerminalStatus): JobResult =>
  ({ job_id: id, status, worker_id: 'w1', execution_summary: { started_at: iso(T), duration_seconds: 1, attempt: 1 } }) as unknown as JobResult;

interface Put extends Times {
  ns?: string;
  pool?: string;
  deadline?: number;
  status: TerminalStatus | 'pending' | 'running';
  /** attempt 1 failed and was retried before the last attempt */
  retried?: boolean;
  /** held outside the queue at submit; `released`: the hold was lifted since */
  hold?: 'dependencies' | 'capacity';
  released?: boolean;
}

async function put(f: Fixture, id: string, p: Put): Promise<void> {
  const base = jobDoc(id);
  const job = {
    ...base,
    ...(p.ns ? { metadata: { namespace: p.ns } } : {}),
    ...(p.pool ? { routing: { worker_pool: p.pool } } : {}),
    execution: { ...base.execution, max_attempts: 3, ...(p.deadline ? { deadline: iso(p.deadline) } : {}) },
  } as JobDocument;
  await f.store.submit({ job, source: 'test', ...(p.hold ? { hold: { kind: p.hold, reason: 'test' } } : {}) });
  if (p.hold && p.released) assert.ok(await f.store.swapHold(id, p.hold, null, `token-${id}`));
  if (p.retried) {
    await f.store.begin(id, 'w1');
    await f.store.transition(id, 'pending', { workerId: null, reason: 'retry after TEST', attemptOutcome: 'failed' });
  }
  if (p.status !== 'pending' && (p.started !== null || p.status === 'running')) await f.store.begin(id, 'w1');
  if (p.status !== 'pending' && p.status !== 'running') await f.store.finish(id, p.status, result(id, p.status));
  await f.setTimes(id, p);
}

/** The value of one series from the registry's JSON (a scrape: collect() runs). */
async function series(reg: Registry, name: string, labels: Record<string, string | number>): Promise<number | undefined> {
  const all = await reg.getMetricsAsJSON();
  const m = all.find((x) => x.name === name.replace(/_(bucket|count|sum)$/, ''));
  const v = (m?.values as { metricName?: string; labels: Record<string, string | number>; value: number }[] | undefined)?.find(
    (x) => (x.metricName ?? m!.name) === name && Object.entries(labels).every(([k, l]) => x.labels[k] === l) && Object.keys(x.labels).length === Object.keys(labels).length,
  );
  return v?.value;
}

/** histogram_quantile as Prometheus computes it (linear within the bucket) over cumulative buckets. */
function quantile(q: number, buckets: [number, number][]): number {
  const total = buckets[buckets.length - 1]![1];
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of buckets) {
    if (n >= rank) return le === Infinity ? prevLe : prevLe + ((le - prevLe) * (rank - prevN)) / (n - prevN);
    prevLe = le;
    prevN = n;
  }
  return NaN;
}

for (const [label, open] of Object.entries(fixtures)) {
  test(`${label}: waiting jobs, oldest age, deadline misses and queue waits per pool and namespace, read from the store`, async () => {
    const f = await open();
    try {
      let now = T;
      const reg = new Registry();
      new SlaMetrics({ source: f.source, registry: reg, now: () => now, settleMs: 5 * S, reuseMs: 0 });

      // waiting: two fresh jobs and one whose back-off ended (team-a, the asking node's pool), one
      // still backing off, one routed to pool gpu (team-b); running jobs do not wait
      await put(f, 'a-w1', { ns: 'team-a', status: 'pending', queued: T + 1 * MIN });
      await put(f, 'a-w2', { ns: 'team-a', status: 'pending', queued: T + 3 * MIN });
      await put(f, 'a-back-over', { ns: 'team-a', status: 'pending', queued: T - 60 * MIN, next: T + 4 * MIN });
      await put(f, 'a-back', { ns: 'team-a', status: 'pending', queued: T - 60 * MIN, next: T + 20 * MIN });
      await put(f, 'b-gpu', { ns: 'team-b', pool: 'gpu', status: 'pending', queued: T + 2 * MIN });
      await put(f, 'a-run', { ns: 'team-a', status: 'running', queued: T, started: T + S });
      // held for its parents: not in the queue; held for capacity: waits for a worker; released
      // from a hold at minute 5: ready since then
      await put(f, 'a-parents', { ns: 'team-a', status: 'pending', queued: T - 60 * MIN, hold: 'dependencies' });
      await put(f, 'a-capacity', { ns: 'team-a', status: 'pending', queued: T + 2 * MIN, hold: 'capacity' });
      await put(f, 'a-released', { ns: 'team-a', status: 'pending', queued: T - 60 * MIN, hold: 'dependencies', released: true, updated: T + 5 * MIN });

      // ended: 18 quick starts and two slow ones (default namespace), a retried job whose
      // wait is its first attempt's, a job cancelled before it started (no wait)
      for (let i = 0; i < 18; i++) await put(f, `q-${i}`, { status: 'completed', queued: T + i * S, started: T + i * S + 300, finished: T + 1 * MIN + i * S });
      await put(f, 'slow-7', { status: 'completed', queued: T, started: T + 7 * S, finished: T + 2 * MIN });
      await put(f, 'slow-45', { status: 'completed', queued: T, started: T + 45 * S, finished: T + 2 * MIN + S });
      await put(f, 'retry', { status: 'completed', retried: true, queued: T, firstStart: T + 2 * S, started: T + 40 * S, finished: T + 3 * MIN });
      await put(f, 'cx', { status: 'cancelled', started: null, queued: T, finished: T + 1 * MIN });
      // deadlines (team-b, pool gpu): timed out at it, never started before it, started after
      // it; not misses: a timeout well before it, a job done in time
      await put(f, 'd-at', { ns: 'team-b', pool: 'gpu', deadline: T + 5 * MIN, status: 'timeout', queued: T, started: T + 4 * MIN, finished: T + 5 * MIN + 10 });
      await put(f, 'd-never', { ns: 'team-b', pool: 'gpu', deadline: T + 2 * MIN, status: 'timeout', started: null, queued: T, finished: T + 2 * MIN + 5 * S });
      await put(f, 'd-late-start', { ns: 'team-b', pool: 'gpu', deadline: T + 5 * MIN, status: 'completed', queued: T, started: T + 6 * MIN, finished: T + 6 * MIN + S });
      await put(f, 'd-own-timeout', { ns: 'team-b', pool: 'gpu', deadline: T + 9 * MIN, status: 'timeout', queued: T, started: T + S, finished: T + 3 * MIN });
      await put(f, 'd-in-time', { ns: 'team-b', pool: 'gpu', deadline: T + 9 * MIN, status: 'completed', queued: T, started: T + S, finished: T + 4 * MIN });
      // before this process's first scrape (not counted), and within the settle time of the scrape
      await put(f, 'history', { status: 'completed', queued: T - 60 * MIN, started: T - 60 * MIN, finished: T - MIN });
      await put(f, 'settling', { ns: 'team-b', pool: 'gpu', deadline: T + 5 * MIN, status: 'timeout', queued: T, started: T + 8 * MIN, finished: T + 10 * MIN - 2 * S });

      now = T + 10 * MIN;
      const a = { pool: 'main', namespace: 'team-a' };
      const b = { pool: 'gpu', namespace: 'team-b' };
      const d = { pool: 'main', namespace: 'default' };
      assert.equal(await series(reg, 'guestkit_queue_waiting_jobs', a), 5, 'a-w1, a-w2, a-back-over, a-capacity, a-released');
      assert.equal(await series(reg, 'guestkit_queue_backoff_jobs', a), 1);
      assert.equal(await series(reg, 'guestkit_queue_waiting_jobs', b), 1);
      // a-w1 (queued at 1 min) is the oldest: a-back-over has been ready only since minute 4,
      // a-released since minute 5
      assert.equal(await series(reg, 'guestkit_queue_oldest_age_seconds', a), 540);
      assert.equal(await series(reg, 'guestkit_queue_oldest_age_seconds', b), 480);
      assert.equal(await series(reg, 'guestkit_queue_oldest_age_seconds', d), undefined, 'nothing waits in default');

      assert.equal(await series(reg, 'guestkit_deadline_misses_total', b), 3);
      assert.equal(await series(reg, 'guestkit_queue_wait_seconds_count', d), 21, '18 quick, two slow, the retried one; not the cancelled one nor history');
      const buckets = async (l: Record<string, string>) => {
        const out: [number, number][] = [];
        for (const le of [0.25, 0.5, 1, 2.5, 5, 10, 30, 60]) out.push([le, (await series(reg, 'guestkit_queue_wait_seconds_bucket', { ...l, le }))!]);
        out.push([Infinity, (await series(reg, 'guestkit_queue_wait_seconds_bucket', { ...l, le: '+Inf' }))!]);
        return out;
      };
      const bd = await buckets(d);
      assert.deepEqual(bd, [[0.25, 0], [0.5, 18], [1, 18], [2.5, 19], [5, 19], [10, 20], [30, 20], [60, 21], [Infinity, 21]]);
      const p50 = quantile(0.5, bd);
      const p99 = quantile(0.99, bd);
      assert.ok(p50 > 0.25 && p50 <= 0.5, `p50 ${p50} in the bucket of the 0.3 s waits`);
      assert.ok(p99 > 30 && p99 <= 60, `p99 ${p99} in the bucket of the 45 s wait`);
      assert.equal(await series(reg, 'guestkit_queue_wait_seconds_sum', d), 18 * 0.3 + 7 + 45 + 2);
      // the summary a rule can read without histogram_quantile
      assert.equal(await series(reg, 'guestkit_queue_wait_recent_seconds', { ...d, quantile: '0.5' }), 0.3);
      assert.equal(await series(reg, 'guestkit_queue_wait_recent_seconds', { ...d, quantile: '0.99' }), 45);
      assert.equal(await series(reg, 'guestkit_queue_wait_seconds_count', b), 4, 'd-at, d-late-start, d-own-timeout, d-in-time started');

      // a minute later: the oldest waits longer, the settled timeout is one more miss, and a
      // second scrape counts nothing twice
      now = T + 11 * MIN;
      assert.equal(await series(reg, 'guestkit_queue_oldest_age_seconds', a), 600);
      assert.equal(await series(reg, 'guestkit_deadline_misses_total', b), 4);
      assert.equal(await series(reg, 'guestkit_queue_wait_seconds_count', d), 21);
      // the first waiting job starts: team-a's oldest is now a-capacity (minute 2)
      await f.store.begin('a-w1', 'w2');
      assert.equal(await series(reg, 'guestkit_queue_oldest_age_seconds', a), 540);
      assert.equal(await series(reg, 'guestkit_queue_waiting_jobs', a), 4);

      // a scrape after a long pause reads a page at a time and catches up, counting each job once
      const reg2 = new Registry();
      let now2 = T;
      new SlaMetrics({ source: f.source, registry: reg2, now: () => now2, settleMs: 0, reuseMs: 0, pageSize: 4, maxPages: 2 });
      now2 = T + 20 * MIN;
      const counts: number[] = [];
      for (let i = 0; i < 4; i++) counts.push((await series(reg2, 'guestkit_queue_wait_seconds_count', d)) ?? 0);
      assert.deepEqual(counts, [7, 15, 21, 21], 'pages of 4, two a scrape, in end order (the cancelled job first: no wait)');
      assert.equal(await series(reg2, 'guestkit_deadline_misses_total', b), 4);
    } finally {
      await f.close();
    }
  });

  test(`${label}: a store that cannot be read leaves the queue figures out and is counted, the scrape still answers`, async () => {
    const f = await open();
    const reg = new Registry();
    new SlaMetrics({ source: f.source, registry: reg, settleMs: 0, reuseMs: 0 });
    await put(f, 'w', { ns: 'team-a', status: 'pending', queued: Date.now() - 5 * S });
    assert.equal(await series(reg, 'guestkit_queue_waiting_jobs', { pool: 'main', namespace: 'team-a' }), 1);
    await f.close();
    const text = await reg.metrics();
    assert.doesNotMatch(text, /guestkit_queue_waiting_jobs\{/);
    assert.match(text, /guestkit_sla_read_failures_total 1\b/);
  });
}

test('a store read that hangs: the scrape answers after timeoutMs, counts one failure, and the next scrape waits for the same read', async () => {
  let reads = 0;
  const hung: SlaSource = {
    waiting: () => {
      reads++;
      return new Promise(() => undefined);
    },
    ended: async () => [],
  };
  const reg = new Registry();
  new SlaMetrics({ source: hung, registry: reg, timeoutMs: 50, reuseMs: 0 });
  assert.match(await reg.metrics(), /guestkit_sla_read_failures_total 1\b/);
  assert.match(await reg.metrics(), /guestkit_sla_read_failures_total 2\b/);
  assert.equal(reads, 1, 'one read under way, not one per scrape');
});

test('sqlite: a scrape reads pending jobs through jobs_by_status and ended jobs through jobs_by_finished, never the whole table', () => {
  const store = SqliteJobStore.open(':memory:');
  try {
    const plan = (sql: string, params: Record<string, unknown>) =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join(' | ');
    const waiting = plan(SQLITE_SLA_SQL.waiting, { now: T, pool: 'main' });
    assert.match(waiting, /SEARCH j USING INDEX jobs_by_status \(status=\?\)/, waiting);
    const ended = plan(SQLITE_SLA_SQL.ended, { at: T, id: '', before: T + MIN, limit: 10, pool: 'main' });
    assert.match(ended, /SEARCH j USING INDEX jobs_by_finished \(finished_at>\? AND finished_at<\?\)/, ended);
    assert.match(ended, /SEARCH a USING INDEX sqlite_autoindex_attempts_1 \(job_id=\? AND attempt=\?\)/, ended);
    assert.doesNotMatch(waiting + ended, /SCAN j\b/);
  } finally {
    store.close();
  }
});

test('guestkit serve (embedded store) exports them on /metrics: a job waits behind a long one, misses its deadline, and is counted', async () => {
  const s = await startServe({ args: ['--max-concurrent', '1'] });
  try {
    const metrics = async (name: string) => {
      const text = await (await fetch(s.url.replace(/\/api\/v1$/, '') + '/metrics')).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('pool="default"') && l.includes('namespace="default"'));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    const submit = async (doc: Record<string, unknown>) => assert.equal((await call(s.url, 'POST', '/jobs', { token: s.adminToken, body: doc })).status, 202);
    await submit(testJob('test.sleep', { seconds: 600 }, { job_id: 'sla-long-1' }));
    const now = new Date();
    await submit(testJob('system.echo', { message: 'late' }, { job_id: 'sla-late-1', created_at: now.toISOString(), execution: { deadline: new Date(now.getTime() + 1500).toISOString() } }));
    // the one slot is taken: the second job waits (polled; hang guards only)
    const until = async (what: string, ok: () => Promise<boolean>) => {
      const end = Date.now() + 30_000;
      while (!(await ok())) {
        if (Date.now() > end) {
          const jobs = await Promise.all(['sla-long-1', 'sla-late-1'].map(async (id) => (await call(s.url, 'GET', `/jobs/${id}`, { token: s.adminToken })).body));
          const text = await (await fetch(s.url.replace(/\/api\/v1$/, '') + '/metrics')).text();
          throw new Error(`${what} not seen on /metrics within 60 s; jobs ${JSON.stringify(jobs)}; ${text.split('\n').filter((l) => /guestkit_(queue|deadline|sla)/.test(l) && !l.startsWith('#')).join('; ')}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await until('one waiting job', async () => (await metrics('guestkit_queue_waiting_jobs')) === 1);
    assert.ok((await metrics('guestkit_queue_oldest_age_seconds'))! >= 0);
    // once its deadline passed, the long job is cancelled: the late one is taken and ends timeout
    const deadline = now.getTime() + 1500;
    while (Date.now() <= deadline + 100) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await call(s.url, 'POST', '/jobs/sla-long-1/cancel', { token: s.adminToken })).status, 202);
    await until('the deadline miss', async () => (await metrics('guestkit_deadline_misses_total')) === 1);
    const late = await call(s.url, 'GET', '/jobs/sla-late-1', { token: s.adminToken });
    assert.equal(late.body.status, 'timeout', JSON.stringify(late.body));
    assert.equal(await metrics('guestkit_queue_waiting_jobs'), undefined);
    // the long job started (a queue wait observed); the late one never did
    assert.equal(await metrics('guestkit_queue_wait_seconds_count'), 1);
  } finally {
    await s.stop();
    removeDataDir(s.dataDir);
  }
});
