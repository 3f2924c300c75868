import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClusterRun, ranOn } from '../helpers/cluster-e2e.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { call, testJob } from '../helpers/serve.js';
import { sleep } from '../worker/helpers/daemon.js';

/**
 * Routing targets with real processes on one Redis queue: serve (pool default, API only),
 * worker-a and worker-b (pool default) and gpu-1 (pool gpu). Jobs pinned to worker-b run on
 * worker-b only; jobs routed to pool gpu, submitted through the default pool's serve, run on
 * gpu-1, and their events and cancels cross pools over the cluster's bus.
 */
let redis: RedisInstance;
let pg: PgInstance;
let run: ClusterRun;

describe('routing targets across processes (Redis queue)', { timeout: 600_000 }, () => {
  before(async () => {
    redis = await startRedis({ settings: { appendonly: 'yes', 'maxmemory-policy': 'noeviction' } });
    pg = await startPostgres();
    run = new ClusterRun(await pg.createDatabase('routing'), redis.url);
    await run.start();
    await run.startWorker('gpu-1', ['--pool', 'gpu']);
  });

  after(async () => {
    await run?.stop();
    await pg?.stop();
    await redis?.stop();
  });

  test('jobs pinned to worker-b run on worker-b only; unpinned ones spread', async () => {
    const pinned = await run.submit(Array.from({ length: 8 }, (_, i) => testJob('test.sleep', { seconds: 0.3 }, { job_id: `pinned-b-${i}`, routing: { worker_id: 'worker-b' } })));
    const free = await run.submit(Array.from({ length: 8 }, (_, i) => testJob('test.sleep', { seconds: 0.3 }, { job_id: `unpinned-${i}` })));
    for (const id of pinned) {
      const j = await run.waitEnd(id);
      assert.equal(j.status, 'completed', JSON.stringify(j));
      assert.deepEqual((j.attempts as { worker_id: string }[]).map((a) => a.worker_id), ['worker-b'], id);
    }
    const ranFree = new Set<string>();
    for (const id of free) {
      const j = await run.waitEnd(id);
      assert.equal(j.status, 'completed', JSON.stringify(j));
      ranFree.add(String(ranOn(j)));
    }
    assert.ok(!ranFree.has('gpu-1'), `the gpu pool runs no default-pool job: ${[...ranFree]}`);
  });

  test('jobs routed to pool gpu, submitted through the default pool’s serve, run on the gpu worker; its live events and a cancel cross pools', async () => {
    const ids = await run.submit(Array.from({ length: 4 }, (_, i) => testJob('test.sleep', { seconds: 0.3 }, { job_id: `to-gpu-${i}`, routing: { worker_pool: 'gpu' } })));
    const watched = run.sseUntilEnd(ids[3]!, 120_000);
    for (const id of ids) {
      const j = await run.waitEnd(id);
      assert.equal(j.status, 'completed', JSON.stringify(j));
      assert.equal(ranOn(j), 'gpu-1', id);
    }
    const events = await watched;
    assert.equal(events.at(-1)?.event, 'status');
    assert.match(events.at(-1)!.data, /"completed"/);

    const [long] = await run.submit([testJob('test.sleep', { seconds: 600 }, { job_id: 'to-gpu-cancel', routing: { worker_pool: 'gpu' } })]);
    await run.waitJob(long!, (j) => j.status === 'running' && j.worker_id === 'gpu-1', 'running on gpu-1');
    await sleep(500);
    assert.equal((await call(run.serve.url, 'POST', `/jobs/${long}/cancel`, { token: run.token })).status, 202);
    assert.equal((await run.waitEnd(long!)).status, 'cancelled');
  });
});
