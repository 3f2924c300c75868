/**
 * The PostgreSQL JobStore: the contract suite on a private PostgreSQL (test/helpers/postgres.ts),
 * a fresh schema per store, and what only a shared database server brings: concurrent
 * migrations, connections cut mid-write, server restarts, and workers of several
 * processes claiming the same jobs.
 */
import assert from 'node:assert/strict';
import { after, mock, test } from 'node:test';
import pg from 'pg';
import { completedResult, type JobDocument, type JobResult } from '../../src/protocol/index.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { isStoreUnavailable, type StoreUnavailableError } from '../../src/ports/job-store.js';
import { PostgresJobStore, type PgStoreOptions } from '../../src/store/postgres/pg-job-store.js';
import { PG_MIGRATIONS } from '../../src/store/postgres/schema.js';
import { startPostgres } from '../helpers/postgres.js';
import { jobDoc, jobStoreContract } from './contract.js';

const pgi = await startPostgres();
after(() => pgi.stop());
const url = await pgi.createDatabase('gk_store');

let schemas = 0;
const freshSchema = () => `t${process.pid}_${++schemas}`;

/** A superuser connection to the test database (row locks, pg_terminate_backend). */
async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function dropIn(schema: string): Promise<void> {
  const c = await adminClient();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

jobStoreContract({
  name: 'postgres',
  async open() {
    const schema = freshSchema();
    return {
      store: await PostgresJobStore.open(url, { schema, maxConnections: 4 }),
      reopen: () => PostgresJobStore.open(url, { schema, maxConnections: 4 }),
      cleanup: () => dropIn(schema),
    };
  },
});

async function withPgStore(opts: PgStoreOptions, fn: (s: PostgresJobStore, schema: string) => Promise<void>): Promise<void> {
  const schema = freshSchema();
  const s = await PostgresJobStore.open(url, { schema, maxConnections: 4, ...opts });
  try {
    await fn(s, schema);
  } finally {
    await s.close();
    await dropIn(schema);
  }
}

const done = (id: string): JobResult =>
  ({ job_id: id, status: 'completed', worker_id: 'w1', execution_summary: { started_at: '2026-01-30T16:00:00Z', duration_seconds: 0, attempt: 1 }, data: { ok: true } }) as JobResult;

/**
 * Waits until the store's connection is blocked on a row lock; its backend pid. Asked on a
 * connection of its own: pg_stat_activity is a snapshot that lasts a transaction.
 */
async function blockedBackend(appName: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const { rows } = await pgi.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [appName]);
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  const { rows } = await pgi.query(`SELECT pid, state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE application_name = $1`, [appName]);
  throw new Error(`the store never waited for the lock: ${JSON.stringify(rows)}`);
}

test('postgres store: stores opening a new schema at once migrate it once, under the advisory lock', async () => {
  const schema = freshSchema();
  const stores = await Promise.all([0, 1, 2].map(() => PostgresJobStore.open(url, { schema, maxConnections: 2 })));
  try {
    const admin = await adminClient();
    try {
      const { rows } = await admin.query(`SELECT component, version FROM ${schema}.gk_migrations ORDER BY version`);
      assert.deepEqual(rows, PG_MIGRATIONS.map((_, i) => ({ component: 'jobs', version: i + 1 })));
    } finally {
      await admin.end();
    }
    await stores[0]!.submit({ job: jobDoc('p-mig-01') });
    assert.equal((await stores[2]!.get('p-mig-01'))!.status, 'pending', 'all three share the tables');
    // a later opener finds the schema current
    const later = await PostgresJobStore.open(url, { schema, maxConnections: 1 });
    await later.close();
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await dropIn(schema);
  }
});

test('postgres store: a connection killed mid-write is a StoreUnavailableError (nothing kept) when retries are off; the next write recovers', async () => {
  await withPgStore({ retryMs: 0, applicationName: 'gk-kill-0' }, async (s, schema) => {
    const heard: StoreUnavailableError[] = [];
    s.onUnavailable((e) => heard.push(e));
    await s.submit({ job: jobDoc('p-kill-01') });
    const admin = await adminClient();
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM ${schema}.jobs WHERE job_id = 'p-kill-01' FOR UPDATE`);
      // settled into a value at once: it fails while the test still waits for pg_terminate_backend
      const begin = s.begin('p-kill-01', 'w1').then(
        (v) => v,
        (e: unknown) => e,
      );
      const pid = await blockedBackend('gk-kill-0');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const e = await begin;
      assert.ok(isStoreUnavailable(e) && e.storeCode === '57P01' && e.retryRecommended, String(e));
      await admin.query('ROLLBACK');
    } finally {
      await admin.end();
    }
    assert.equal(s.unavailable?.code, '57P01');
    assert.deepEqual(heard.map((e) => e.storeCode), ['57P01']);
    assert.equal(s.doubtfulBatches.size, 0, 'the cut batch was fenced: known not to have committed');
    assert.equal((await s.get('p-kill-01'))!.status, 'pending', 'the cut write was rolled back');
    assert.deepEqual((await s.transitions('p-kill-01')).map((t) => t.to), ['pending']);
    const b = await s.begin('p-kill-01', 'w1');
    assert.ok(b.kind === 'claimed' && b.start.kind === 'started' && b.start.attempt === 1);
    assert.equal(s.unavailable, undefined, 'a commit clears the failure');
  });
});

test('postgres store: a write cut mid-flight is fenced, then sent again: applied exactly once', async () => {
  await withPgStore({ applicationName: 'gk-kill-1' }, async (s, schema) => {
    await s.submit({ job: jobDoc('p-fence-01') });
    await s.submit({ job: jobDoc('p-fence-02') });
    const admin = await adminClient();
    let pid: number;
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM ${schema}.jobs WHERE job_id = 'p-fence-01' FOR UPDATE`);
      const writes = Promise.all([s.begin('p-fence-02', 'w1'), s.begin('p-fence-01', 'w1'), s.appendEvent({ job_id: 'p-fence-02', sequence: 0, timestamp: '2026-01-30T16:00:00Z', phase: 'validation', message: 'x' })]);
      pid = await blockedBackend('gk-kill-1');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await new Promise((r) => setTimeout(r, 50));
      await admin.query('ROLLBACK');
      const outs = await writes;
      for (const o of outs.slice(0, 2)) assert.ok(o && o.kind === 'claimed' && o.start.kind === 'started' && o.start.attempt === 1);
      const { rows } = await admin.query<{ fenced: boolean; n: number }>(`SELECT fenced, count(*)::int AS n FROM ${schema}.gk_batches GROUP BY fenced ORDER BY fenced`);
      assert.ok(rows.some((r) => r.fenced && r.n >= 1), 'the cut batch was fenced');
    } finally {
      await admin.end();
    }
    for (const id of ['p-fence-01', 'p-fence-02']) {
      assert.deepEqual((await s.transitions(id)).map((t) => t.to), ['pending', 'assigned', 'running'], `${id} was begun once`);
      assert.equal((await s.attempts(id)).length, 1);
    }
    assert.equal((await s.events('p-fence-02')).length, 1);
    assert.equal(s.unavailable, undefined);
  });
});

test('postgres store: gk_fence finds a committed batch with its outcomes, and bars one that never ran', async () => {
  await withPgStore({}, async (_s, schema) => {
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      const a = 'a0000000-0000-4000-8000-000000000001';
      const b = 'b0000000-0000-4000-8000-000000000002';
      const ops = JSON.stringify([{ op: 'submit', id: 'p-gf-01', now: Date.now(), job: jobDoc('p-gf-01') }]);
      await c.query('SELECT gk_apply($1, $2::jsonb)', [a, ops]);
      const found = (await c.query('SELECT gk_fence($1) AS f', [a])).rows[0].f;
      assert.equal(found.outcomes[0].kind, 'accepted');
      assert.equal((await c.query('SELECT gk_fence($1) AS f', [b])).rows[0].f, null);
      await assert.rejects(c.query('SELECT gk_apply($1, $2::jsonb)', [b, ops]), (e: { code?: string }) => e.code === '23505', 'a fenced batch can no longer commit');
    } finally {
      await c.end();
    }
  });
});

test('postgres store: a server restart mid-run is ridden out; every job completes exactly once', async () => {
  await withPgStore({ retryMs: 30_000 }, async (s) => {
    const heard: string[] = [];
    s.onUnavailable((e) => heard.push(e.storeCode));
    const ids = Array.from({ length: 300 }, (_, i) => `p-rs-${String(i).padStart(3, '0')}`);
    const runOne = async (id: string) => {
      await s.submit({ job: jobDoc(id) });
      const b = await s.begin(id, 'w1');
      assert.ok(b.kind === 'claimed' && b.start.kind === 'started', `${id}: ${JSON.stringify(b)}`);
      await s.finish(id, 'completed', done(id));
    };
    let restarted = false;
    const work = (async () => {
      for (let i = 0; i < ids.length; i += 10) {
        await Promise.all(ids.slice(i, i + 10).map(runOne));
        if (i === 100) restarted = true;
      }
    })();
    while (!restarted) await new Promise((r) => setTimeout(r, 5));
    await pgi.restart({ downMs: 300 });
    await work;
    assert.deepEqual(heard, [], 'the outage stayed inside the retry window');
    const page = await s.list({ limit: 1000, status: 'completed' });
    assert.equal(page.items.length, 300);
    for (const id of [ids[0]!, ids[150]!, ids[299]!]) {
      assert.deepEqual((await s.transitions(id)).map((t) => t.to), ['pending', 'assigned', 'running', 'completed']);
    }
    const admin = await adminClient();
    try {
      const schema = (await admin.query<{ s: string }>(`SELECT nspname AS s FROM pg_namespace WHERE nspname LIKE $1 ORDER BY oid DESC LIMIT 1`, [`t${process.pid}_%`])).rows[0]!.s;
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.attempts`);
      assert.equal(rows[0]!.n, 300, 'one attempt per job');
    } finally {
      await admin.end();
    }
  });
});

test('postgres store: while the server is down past the retry window, writes fail typed; they work again once it is back', async () => {
  await withPgStore({ retryMs: 200 }, async (s) => {
    await s.submit({ job: jobDoc('p-down-01') });
    pgi.stopServer();
    try {
      await assert.rejects(s.submit({ job: jobDoc('p-down-02') }), (e) => isStoreUnavailable(e));
      await assert.rejects(s.probe('w1', 'ready', 0), (e) => isStoreUnavailable(e));
      await assert.rejects(s.get('p-down-01'), (e) => isStoreUnavailable(e));
      assert.ok(s.unavailable);
    } finally {
      pgi.startServer();
    }
    await s.registerWorker({ worker_id: 'w1', status: { state: 'ready', current_jobs: 0 } } as never);
    await s.probe('w1', 'ready', 0);
    assert.equal(s.unavailable, undefined);
    assert.equal(await s.get('p-down-02'), undefined, 'the failed submit left nothing');
    assert.equal((await s.get('p-down-01'))!.status, 'pending');
  });
});

test('postgres store: two stores (two workers) beginning the same jobs at once never both get one', async () => {
  const schema = freshSchema();
  const a = await PostgresJobStore.open(url, { schema, maxConnections: 2 });
  const b = await PostgresJobStore.open(url, { schema, maxConnections: 2 });
  try {
    const ids = Array.from({ length: 200 }, (_, i) => `p-race-${String(i).padStart(3, '0')}`);
    await Promise.all(ids.map((id) => a.submit({ job: jobDoc(id) })));
    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    const [ra, rb] = await Promise.all([Promise.all(ids.map((id) => a.begin(id, 'wa'))), Promise.all(shuffled.map((id) => b.begin(id, 'wb')))]);
    const winners = new Map<string, string[]>();
    ra.forEach((o, i) => o.kind === 'claimed' && winners.set(ids[i]!, [...(winners.get(ids[i]!) ?? []), 'wa']));
    rb.forEach((o, i) => o.kind === 'claimed' && winners.set(shuffled[i]!, [...(winners.get(shuffled[i]!) ?? []), 'wb']));
    assert.equal(winners.size, 200, 'every job was begun');
    for (const [id, w] of winners) assert.equal(w.length, 1, `${id} begun by ${w.join(' and ')}`);
    for (const id of ids.slice(0, 20)) {
      const rec = (await b.get(id))!;
      assert.equal(rec.status, 'running');
      assert.equal(rec.workerId, winners.get(id)![0]);
      assert.equal((await a.attempts(id)).length, 1);
    }
  } finally {
    await a.close();
    await b.close();
    await dropIn(schema);
  }
});

test('postgres store: a wrong write in a batch fails alone, as a bug, not as an outage', async () => {
  await withPgStore({}, async (s) => {
    const bad = { ...jobDoc('p-bad-01'), created_at: undefined } as unknown as JobDocument;
    const outs = await Promise.allSettled([s.submit({ job: jobDoc('p-bad-00') }), s.submit({ job: bad }), s.submit({ job: jobDoc('p-bad-02') })]);
    assert.deepEqual(outs.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    const err = (outs[1] as PromiseRejectedResult).reason;
    assert.ok(!isStoreUnavailable(err) && /created_at/.test(String(err.message)), String(err));
    assert.equal(s.unavailable, undefined);
    await assert.rejects(s.transition('p-none', 'running'), (e) => isGuestkitError(e, 'NOT_FOUND'));
    // JSONB holds no NUL character: such a document is refused as input
    const nul = jobDoc('p-bad-03', { metadata: { name: 'a\u0000b' } } as Partial<JobDocument>);
    await assert.rejects(s.submit({ job: nul }), (e) => isGuestkitError(e, 'VALIDATION_ERROR') && !isStoreUnavailable(e));
    assert.equal(s.unavailable, undefined);
  });
});

test('postgres store: usage sums the JSONB metrics of results per operation and UTC day', async () => {
  await withPgStore({}, async (s) => {
    const DAY = 86_400_000;
    const T0 = Date.UTC(2026, 0, 30, 12);
    const run = async (id: string, op: string, ns: string | undefined, at: number, cpu: number, read: number, peak: number) => {
      mock.timers.enable({ apis: ['Date'], now: at });
      try {
        const job = jobDoc(id, { operation: op, ...(ns ? { metadata: { namespace: ns } } : {}) } as Partial<JobDocument>);
        await s.submit({ job });
        await s.begin(id, 'w1');
        await s.finish(id, 'completed', completedResult({ job, workerId: 'w1', startedAt: new Date(at), metrics: { cpu_seconds: cpu, wall_seconds: cpu * 2, disk_read_bytes: read, image_bytes: 10, peak_memory_mb: peak } }));
      } finally {
        mock.timers.reset();
      }
    };
    await run('u-1', 'guestkit.inspect', 'team-a', T0, 1.5, 1000, 40);
    await run('u-2', 'guestkit.inspect', 'team-a', T0 + 1000, 0.5, 24, 60);
    await run('u-3', 'system.echo', undefined, T0 + DAY, 0.25, 0, 0);
    const byOp = await s.usage({ groupBy: 'operation' });
    assert.deepEqual(byOp, [
      { key: 'guestkit.inspect', jobs: 2, cpuSeconds: 2, wallSeconds: 4, bytesRead: 1024, imageBytes: 20, peakMemoryMb: 60 },
      { key: 'system.echo', jobs: 1, cpuSeconds: 0.25, wallSeconds: 0.5, bytesRead: 0, imageBytes: 10, peakMemoryMb: 0 },
    ]);
    assert.deepEqual((await s.usage({ groupBy: 'day' })).map((r) => [r.key, r.jobs]), [['2026-01-30', 2], ['2026-01-31', 1]]);
    assert.deepEqual((await s.usage({ groupBy: 'day', namespace: 'default' })).map((r) => [r.key, r.jobs]), [['2026-01-31', 1]]);
    assert.deepEqual(await s.usage({ groupBy: 'day', from: T0 + 2 * DAY }), []);
  });
});
