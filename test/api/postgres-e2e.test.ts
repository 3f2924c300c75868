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
