import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startPostgres } from '../helpers/postgres.js';
import { call, removeDataDir, startServe, tempDataDir, testJob, waitFinal } from '../helpers/serve.js';

/** `guestkit serve --store postgres://…`: the same node on a shared PostgreSQL (its own private instance here). */
const pgi = await startPostgres();
after(() => pgi.stop());

test('serve on PostgreSQL: jobs, tokens and audit live in the database; after kill -9 every accepted job completes once', { timeout: 240_000 }, async () => {
  const url = await pgi.createDatabase('serve');
  const dataDir = tempDataDir('gk-serve-pg-');
  const first = await startServe({ dataDir, args: ['--store', url, '--max-concurrent', '2'] });
  const token = first.adminToken;
  assert.match(token, /^gk_/, 'the first admin token is made in the PostgreSQL control tables');
  const ids: string[] = [];
  try {
    const r = await call(first.url, 'POST', '/jobs', { token, body: { jobs: Array.from({ length: 60 }, (_, i) => testJob('test.sleep', { seconds: 0.05 }, { job_id: `pg-serve-${String(i).padStart(3, '0')}`, execution: { max_attempts: 2 } })) } });
    assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 300));
    ids.push(...(r.body.jobs as { job_id: string }[]).map((j) => j.job_id));
  } finally {
    await first.daemon.stop('SIGKILL');
  }
  const second = await startServe({ dataDir, args: ['--store', url, '--max-concurrent', '2'] });
  try {
    for (const id of ids) assert.equal((await waitFinal(second.url, token, id, 120_000)).status, 'completed', id);
    const one = await call(second.url, 'GET', `/jobs/${ids[0]}`, { token });
    assert.equal((one.body.attempts as { status: string }[]).filter((a) => a.status === 'completed').length, 1);
    const audit = await call(second.url, 'GET', '/audit?limit=10', { token });
    assert.equal(audit.status, 200);
    assert.ok((audit.body.items as { action: string }[]).some((e) => e.action === 'job.submit'), 'the first life’s audit entries are in the database');
    const usage = await call(second.url, 'GET', '/usage?group_by=operation', { token });
    assert.equal((usage.body.totals as { jobs: number }).jobs, 60);
    // the dashboard's counts and charts come from the same database
    const counts = await call(second.url, 'GET', '/stats/counts?operation=test.sleep', { token });
    assert.equal(counts.status, 200, JSON.stringify(counts.body));
    assert.equal((counts.body.counts as Record<string, number>).completed, 60);
    const tp = await call(second.url, 'GET', '/stats/throughput?range=1h', { token });
    assert.equal((tp.body.points as { completed: number }[]).reduce((a, p) => a + p.completed, 0), 60);
    const lat = await call(second.url, 'GET', '/stats/latency?range=1h', { token });
    assert.equal((lat.body.run as { n: number }).n, 60);
    const byNs = await call(second.url, 'GET', '/stats/usage?window=24h', { token });
    assert.deepEqual((byNs.body.groups as { namespace: string; jobs: number }[]).map((g) => [g.namespace, g.jobs]), [['default', 60]]);
  } finally {
    await second.stop();
    removeDataDir(dataDir);
  }
});

test('two API nodes on one PostgreSQL: submits racing with one idempotency key make one job; different requests under it are 409', { timeout: 240_000 }, async () => {
  const url = await pgi.createDatabase('serve_keys');
  const dirs = [tempDataDir('gk-serve-pg-a-'), tempDataDir('gk-serve-pg-b-')];
  const a = await startServe({ dataDir: dirs[0]!, args: ['--store', url, '--max-concurrent', '2'] });
  try {
    const b = await startServe({ dataDir: dirs[1]!, args: ['--store', url, '--max-concurrent', '2'] });
    try {
      const token = a.adminToken;
      const nodes = [a.url, b.url];
      const body = testJob('test.sleep', { seconds: 0.5 }, { metadata: { labels: { race: 'two-nodes' } } });
      const posts = await Promise.all(Array.from({ length: 16 }, (_, i) => call(nodes[i % 2]!, 'POST', '/jobs', { token, body, headers: { 'idempotency-key': 'pg-race-1' } })));
      assert.deepEqual(posts.map((r) => r.status), Array(16).fill(202), JSON.stringify(posts.find((r) => r.status !== 202)?.body));
      const ids = new Set(posts.map((r) => (r.body.job as { job_id: string }).job_id));
      assert.equal(ids.size, 1, `one job for one key across both nodes, got ${[...ids].join(', ')}`);
      assert.equal(posts.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 15);
      const listed = await call(b.url, 'GET', '/jobs?labels=race%3Dtwo-nodes', { token });
      assert.deepEqual((listed.body.items as { job_id: string }[]).map((j) => j.job_id), [...ids], 'one job stored');
      const clashing = await Promise.all([1, 2, 3, 4].map((n) => call(nodes[n % 2]!, 'POST', '/jobs', { token, body: testJob('test.sleep', { seconds: n / 10 }), headers: { 'idempotency-key': 'pg-race-2' } })));
      assert.deepEqual(clashing.map((r) => r.status).sort(), [202, 409, 409, 409]);
      for (const r of clashing.filter((x) => x.status === 409)) assert.equal((r.body.error as { code: string }).code, 'DUPLICATE_JOB');
      assert.equal((await waitFinal(a.url, token, [...ids][0]!, 60_000)).status, 'completed');
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
    for (const d of dirs) removeDataDir(d);
  }
});
