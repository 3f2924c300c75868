import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveServeConfig } from '../../src/app/serve-config.js';
import { resolveWorkerConfig } from '../../src/app/worker-config.js';
import { ClusterRun, clusterTests } from '../helpers/cluster-e2e.js';
import { assertUsage, runCli } from '../helpers/cli.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { testJob } from '../helpers/serve.js';
import { makeSpool, sleep } from '../worker/helpers/daemon.js';

/**
 * Cluster mode with real processes: one `guestkit serve` (the API, running no jobs itself:
 * --max-concurrent 0) and two `guestkit worker` processes on one BullMQ queue in a private
 * Redis and one store in a private PostgreSQL. The scenario shared with the PostgreSQL-only
 * cluster is in test/helpers/cluster-e2e.ts; the Redis outage is here.
 */
let redis: RedisInstance;
let pg: PgInstance;
let run: ClusterRun;

describe('cluster: serve + 2 workers on one Redis queue and one PostgreSQL store', { timeout: 600_000 }, () => {
  before(async () => {
    redis = await startRedis({ settings: { appendonly: 'yes', 'maxmemory-policy': 'noeviction' } });
    pg = await startPostgres();
    run = new ClusterRun(await pg.createDatabase('cluster'), redis.url);
    await run.start();
  });

  after(async () => {
    await run?.stop();
    await pg?.stop();
    await redis?.stop();
  });

  clusterTests(() => run);

  test('a Redis outage longer than the drain delay and the lock: nothing accepted is lost, the workers take jobs again after it', async () => {
    const [running] = await run.submit([testJob('test.sleep', { seconds: 3 }, { job_id: 'outage-running' })]);
    await run.waitJob(running!, (j) => j.status === 'running', 'running');
    await redis.stopServer();
    let back = false;
    try {
      // the store is PostgreSQL: the API still accepts; the queue adds wait for Redis
      const during = await run.submit(Array.from({ length: 3 }, (_, i) => testJob('test.sleep', { seconds: 0.1 }, { job_id: `outage-new-${i}` })));
      // the running job's end is recorded in the store while Redis is away
      assert.equal((await run.waitEnd(running!)).status, 'completed');
      await sleep(8000); // keep Redis away longer than the drain delay (5 s) and the lock (3 s)
      await redis.startServer();
      back = true;
      for (const id of during) assert.equal((await run.waitEnd(id)).status, 'completed', id);
    } finally {
      if (!back) await redis.startServer();
    }
    const first = await run.job(running!);
    assert.equal((first.attempts as unknown[]).length, 1, `ran once, its stalled lock did not make it run again: ${JSON.stringify(first.attempts)}`);
    const [later] = await run.submit([testJob('test.sleep', { seconds: 0.1 }, { job_id: 'outage-after' })]);
    assert.equal((await run.waitEnd(later!)).status, 'completed');
  });
});

describe('cluster configuration errors', { timeout: 120_000 }, () => {
  test('a Redis with maxmemory-policy allkeys-lru is refused at start with a clear message', async () => {
    const lru = await startRedis({ settings: { 'maxmemory-policy': 'allkeys-lru' } });
    const pgi = await startPostgres();
    try {
      const url = await pgi.createDatabase('lru');
      const spool = makeSpool('gk-cluster-lru-');
      const r = await runCli(['worker', '--jobs-dir', spool.jobs, '--data-dir', spool.data, '--store', url, '--queue', lru.url], undefined, { timeoutMs: 60_000 });
      assertUsage(r, /maxmemory-policy=allkeys-lru.*noeviction/);
    } finally {
      await lru.stop();
      await pgi.stop();
    }
  });

  test('--queue, GUESTKIT_QUEUE and YAML queue: resolve; the store rule; bad URLs; --max-concurrent 0 only on a shared queue', () => {
    const pgUrl = 'postgres://gk@db/guestkit';
    assert.equal(resolveWorkerConfig({}, {}).queue, 'embedded');
    const w = resolveWorkerConfig({ store: pgUrl }, { GUESTKIT_QUEUE: 'redis://r:6379/2', GUESTKIT_QUEUE_GLOBAL_CONCURRENCY: '8', GUESTKIT_QUEUE_RATE_MAX: '100' });
    assert.equal(w.queue, 'redis://r:6379/2');
    assert.equal(w.queueGlobalConcurrency, 8);
    assert.equal(w.queueRateMax, 100);
    assert.equal(w.queueRateDurationMs, 1000);
    const yaml = join(mkdtempSync(join(tmpdir(), 'gk-cluster-yaml-')), 'worker.yaml');
    writeFileSync(yaml, `store: ${pgUrl}\nqueue: rediss://r:6380/1\nqueue_rate_max: 5\nqueue_rate_duration_ms: 2000\nqueue_lock_ms: 60000\n`);
    const y = resolveWorkerConfig({ config: yaml }, {});
    assert.deepEqual([y.queue, y.queueRateMax, y.queueRateDurationMs, y.queueLockMs], ['rediss://r:6380/1', 5, 2000, 60_000]);
    rmSync(dirname(yaml), { recursive: true, force: true });
    assert.throws(() => resolveWorkerConfig({ queue: 'redis://r:6379' }, {}), /--store sqlite.*postgres:\/\//);
    // the single serve process may keep its SQLite file
    assert.equal(resolveServeConfig({ queue: 'redis://r:6379' }, {}).worker.queue, 'redis://r:6379');
    assert.throws(() => resolveWorkerConfig({ store: pgUrl, queue: 'amqp://r' }, {}), /--queue must be embedded or a redis:\/\//);
    assert.throws(() => resolveWorkerConfig({ store: pgUrl, queue: 'redis://r:6379/x' }, {}), /database must be a number/);
    assert.throws(() => resolveWorkerConfig({ maxConcurrent: '0' }, {}), /max-concurrent must be an integer between 1/);
    assert.equal(resolveWorkerConfig({ store: pgUrl, queue: 'redis://r', maxConcurrent: '0' }, {}).maxConcurrent, 0);
    assert.throws(() => resolveWorkerConfig({ store: pgUrl, queue: 'redis://r' }, { GUESTKIT_QUEUE_LOCK_MS: '10' }), /queue lock/);
  });

  test('a worker on a Redis queue with a SQLite store is refused (the store must be shared)', async () => {
    const spool = makeSpool('gk-cluster-sqlite-');
    const r = await runCli(['worker', '--jobs-dir', spool.jobs, '--data-dir', spool.data, '--queue', 'redis://127.0.0.1:1']);
    assertUsage(r, /--store sqlite.*postgres:\/\//);
  });
});
