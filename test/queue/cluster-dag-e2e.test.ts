import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClusterRun, ranOn } from '../helpers/cluster-e2e.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { call, echo, testJob } from '../helpers/serve.js';

/**
 * Held jobs in cluster mode: serve (API only) and 2 workers on a private Redis queue and
 * PostgreSQL store. Children are submitted through serve and wait in the store; their
 * parents run on the workers; whichever node hears a parent's end first releases them (a
 * compare-and-set on the store row), the others' sweeps find nothing left to do.
 */
let redis: RedisInstance;
let pg: PgInstance;
let run: ClusterRun;

const dep = (ids: string[], extra: Record<string, unknown> = {}) => ({ execution: { depends_on: ids, ...extra } });
const ms = (v: Record<string, unknown>, k: string) => Date.parse(String(v[k]));

describe('cluster: job dependencies and placement across processes', { timeout: 600_000 }, () => {
  before(async () => {
    redis = await startRedis({ settings: { appendonly: 'yes' } });
    pg = await startPostgres();
    run = new ClusterRun(await pg.createDatabase('dag'), redis.url);
    await run.start();
  });

  after(async () => {
    await run?.stop();
    await redis?.stop();
    await pg?.stop();
  });

  test('a 3-level DAG runs in order on the workers; every job once; the tree through serve', async () => {
    await run.submit([
      testJob('test.sleep', { seconds: 1 }, { job_id: 'cdag-root' }),
      testJob('test.sleep', { seconds: 0.3 }, { job_id: 'cdag-mid-1', ...dep(['cdag-root']) }),
      testJob('test.sleep', { seconds: 0.3 }, { job_id: 'cdag-mid-2', ...dep(['cdag-root']) }),
      echo('leaf', { job_id: 'cdag-leaf', ...dep(['cdag-mid-1', 'cdag-mid-2']) }),
    ]);
    const leafHeld = await run.job('cdag-leaf');
    assert.equal((leafHeld.hold as { kind: string } | null)?.kind, 'dependencies');
    const [root, m1, m2, leaf] = await Promise.all(['cdag-root', 'cdag-mid-1', 'cdag-mid-2', 'cdag-leaf'].map((id) => run.waitEnd(id)));
    for (const j of [root, m1, m2, leaf]) {
      assert.equal(j!.status, 'completed', JSON.stringify(j));
      assert.equal((j!.attempts as unknown[]).length, 1, 'ran once');
      assert.ok(['worker-a', 'worker-b'].includes(ranOn(j!) ?? ''), 'ran on a worker, not on the API node');
    }
    assert.ok(ms(m1!, 'started_at') >= ms(root!, 'finished_at'));
    assert.ok(ms(m2!, 'started_at') >= ms(root!, 'finished_at'));
    assert.ok(ms(leaf!, 'started_at') >= Math.max(ms(m1!, 'finished_at'), ms(m2!, 'finished_at')));
    const tree = (await call(run.serve.url, 'GET', '/jobs/cdag-root/tree', { token: run.token })).body as { dependants: { job_id: string; children?: { job_id: string }[] }[] };
    assert.deepEqual(tree.dependants.map((n) => [n.job_id, (n.children ?? []).map((c) => c.job_id)]), [['cdag-mid-1', ['cdag-leaf']], ['cdag-mid-2', ['cdag-leaf']]]);
  });

  test('a failing parent on a worker fails its dependants (DEPENDENCY_FAILED), down the chain; continue runs', async () => {
    await run.submit([
      testJob('test.flaky', { succeed_on_attempt: 9 }, { job_id: 'cfail-parent', execution: { max_attempts: 2 } }),
      echo('c', { job_id: 'cfail-child', ...dep(['cfail-parent']) }),
      echo('g', { job_id: 'cfail-grandchild', ...dep(['cfail-child']) }),
      echo('k', { job_id: 'cfail-keepgoing', ...dep(['cfail-parent'], { on_dependency_failure: 'continue' }) }),
    ]);
    const parent = await run.waitEnd('cfail-parent');
    assert.equal(parent.status, 'failed');
    assert.equal((parent.attempts as unknown[]).length, 2, 'the parent’s retry did not release its children early');
    for (const id of ['cfail-child', 'cfail-grandchild']) {
      const j = await run.waitEnd(id);
      assert.equal(j.status, 'failed');
      assert.equal(j.error_code, 'DEPENDENCY_FAILED');
      assert.equal(j.attempt, 0);
    }
    assert.equal((await run.waitEnd('cfail-keepgoing')).status, 'completed');
  });

  test('placement over the live workers: refused when none can run it, held when it waits, and the API node never counts', async () => {
    const r = await call(run.serve.url, 'POST', '/jobs', { token: run.token, body: echo('gpu', { job_id: 'cplace-gpu-1', constraints: { required_features: ['gpu'] } }) });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.match(JSON.stringify(r.body), /none of the 2 live worker\(s\) can run it: worker lacks features \\"gpu\\" \(2 workers\)/);
    const held = await call(run.serve.url, 'POST', '/jobs', { token: run.token, body: echo('gpu', { job_id: 'cplace-gpu-2', constraints: { required_features: ['gpu'] }, routing: { wait_for_capacity: true } }) });
    assert.equal(held.status, 202);
    const v = await run.job('cplace-gpu-2');
    assert.equal((v.hold as { kind: string }).kind, 'capacity');
    assert.equal(v.status, 'pending');
    const c = await call(run.serve.url, 'POST', '/jobs/cplace-gpu-2/cancel', { token: run.token });
    assert.equal(c.status, 202);
    assert.equal((await run.waitEnd('cplace-gpu-2')).status, 'cancelled');
  });
});
