import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Lease } from '../../src/ports/job-queue.js';
import { BullmqQueue, placementOf, queueNameOf, workerQueueNameOf, type BullmqBackend, type BullmqQueueOptions } from '../../src/queue/bullmq/bullmq-queue.js';
import { freshQueueName, queueJob, testLogger, within } from '../helpers/bullmq-suite.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { redisSkipReason, startRedis, type RedisInstance } from '../helpers/redis.js';

/**
 * Routing targets on the shared queue (Redis, and PostgreSQL too): a job goes to the queue of the worker it is
 * pinned to, or of the pool it is routed to, whoever submits it; each worker takes from its
 * pool's queue and its own.
 */
const skip = redisSkipReason();
let redis: RedisInstance;
let pg: PgInstance;
let pgUrl: string;
const routed = (id: string, routing: { worker_id?: string; worker_pool?: string }, priority = 5) => {
  const j = queueJob(id, priority);
  return { ...j, routing: { ...j.routing, ...routing } };
};

test('placement: target.workerId, then routing.worker_id; target.pool, then routing.worker_pool; else home', () => {
  const home = queueNameOf('default');
  assert.equal(placementOf({ job: queueJob('p-1') }, home), home);
  assert.equal(placementOf({ job: routed('p-2', { worker_pool: 'gpu' }) }, home), queueNameOf('gpu'));
  assert.equal(placementOf({ job: routed('p-3', { worker_pool: 'gpu', worker_id: 'b' }) }, home), workerQueueNameOf('b'));
  assert.equal(placementOf({ job: routed('p-4', { worker_id: 'b' }), target: { workerId: 'c' } }, home), workerQueueNameOf('c'));
  assert.equal(placementOf({ job: routed('p-5', { worker_pool: 'gpu' }), target: { pool: 'cpu' } }, home), queueNameOf('cpu'));
  assert.notEqual(workerQueueNameOf('x'), queueNameOf('x'), 'a worker and a pool of one name never share a queue');
});

if (skip) {
  test('routing targets on the shared queue (Redis)', { skip }, () => undefined);
} else {
  describe('routing targets on the shared queue (Redis)', { timeout: 120_000 }, () => {
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });
    routingTests(() => ({ kind: 'redis', url: redis.url }));
  });
}

describe('routing targets on the shared queue (PostgreSQL)', { timeout: 120_000 }, () => {
  before(async () => {
    pg = await startPostgres();
    pgUrl = await pg.createDatabase('routing');
  });
  after(async () => {
    await pg?.stop();
  });
  routingTests(() => ({ kind: 'postgres', url: pgUrl }));
});

function routingTests(backend: () => BullmqBackend): void {
  {
    // pool names unique per test so that the queues start empty
    let pool: string;
    let gpu: string;
    let tag: string;
    const open = (poolName: string, workerId: string, o: Partial<BullmqQueueOptions> = {}) =>
      BullmqQueue.open({ backend: backend(), name: queueNameOf(poolName), workerId: `${workerId}-${tag}`, workerName: workerId, drainDelaySec: 1, probeIntervalMs: 200, logger: testLogger, ...o });
    const wid = (w: string) => `${w}-${tag}`;
    const drainAll = async (qs: BullmqQueue[]) => Promise.all(qs.map((q) => q.shutdown()));
    let n = 0;
    const fresh = () => {
      tag = `${process.pid}-${++n}`;
      pool = `${freshQueueName()}-default`;
      gpu = `${freshQueueName()}-gpu`;
    };

    test('a job pinned to worker B (routing.worker_id or target) is taken by B only, whoever queued it', async () => {
      fresh();
      const a = await open(pool, 'worker-a');
      const b = await open(pool, 'worker-b');
      try {
        a.enqueue({ job: routed('pin-1', { worker_id: wid('worker-b') }) });
        a.enqueue({ job: queueJob('pin-2') }, );
        a.enqueue({ job: queueJob('pin-3'), target: { workerId: wid('worker-b') } });
        await a.settled();
        const takenByA: string[] = [];
        for (;;) {
          const l = await within(a.reserve(), 2500);
          if (l === 'timeout' || l === null) break;
          takenByA.push(l.jobId);
          a.ack(l, 'completed');
        }
        assert.deepEqual(takenByA, ['pin-2'], 'A takes only the unpinned job');
        const takenByB: string[] = [];
        for (let i = 0; i < 2; i++) {
          const l = await within(b.reserve(), 10_000);
          assert.ok(l !== 'timeout' && l !== null, `B's take ${i}`);
          takenByB.push(l.jobId);
          b.ack(l, 'completed');
        }
        assert.deepEqual(takenByB.sort(), ['pin-1', 'pin-3']);
      } finally {
        await drainAll([a, b]);
      }
    });

    test('a job routed to pool gpu, queued through a node of pool default, is taken by the gpu worker only', async () => {
      fresh();
      const a = await open(pool, 'worker-a');
      const g = await open(gpu, 'gpu-1');
      try {
        const gpuPool = gpu.replace(/^guestkit\./, '');
        a.enqueue({ job: routed('gpu-1', { worker_pool: gpuPool }) });
        a.enqueue({ job: queueJob('cpu-1') });
        await a.settled();
        assert.equal(a.peek('gpu-1'), undefined, 'it does not wait in the default pool');
        const l = await within(g.reserve(), 10_000);
        assert.ok(l !== 'timeout' && l !== null && l.jobId === 'gpu-1');
        g.ack(l, 'completed');
        assert.equal(await within(g.reserve(), 2000), 'timeout', 'the gpu worker does not take the default pool’s job');
        const d = await within(a.reserve(), 5000);
        assert.ok(d !== 'timeout' && d !== null && d.jobId === 'cpu-1');
        a.ack(d, 'completed');
      } finally {
        await drainAll([a, g]);
      }
    });

    test('take finds a waiting job on the pool’s queue, its own, and any queue it placed one on; a heard cancel rides on the lease', async () => {
      fresh();
      const a = await open(pool, 'worker-a');
      const b = await open(pool, 'worker-b');
      try {
        a.enqueue({ job: routed('tk-b', { worker_id: wid('worker-b') }) });
        a.enqueue({ job: routed('tk-c', { worker_id: wid('worker-c') }) }); // no such worker running
        a.enqueue({ job: routed('tk-b2', { worker_id: wid('worker-b') }) });
        await a.settled();
        assert.equal((await b.take('tk-b'))?.job.job_id, 'tk-b', 'B finds it in its own queue');
        assert.equal((await a.take('tk-c'))?.job.job_id, 'tk-c', 'A finds it where A placed it');
        // a cancel B heard (the pool's bus) for a job in its own queue: it ends cancelled when taken
        b.noteCancel('tk-b2', 'user asked');
        const l = (await within(b.reserve(), 10_000)) as Lease | 'timeout' | null;
        assert.ok(l !== 'timeout' && l !== null && l.jobId === 'tk-b2');
        assert.equal(l.cancel, 'user asked');
        b.ack(l, 'cancelled');
      } finally {
        await drainAll([a, b]);
      }
    });

    test('the jobs waiting in a gone worker’s own queue are taken out whole, to be placed again', async () => {
      fresh();
      const a = await open(pool, 'worker-a');
      const b = await open(pool, 'worker-b');
      try {
        a.enqueue({ job: routed('gone-1', { worker_id: wid('worker-c') }, 9) });
        a.enqueue({ job: queueJob('gone-2', 3), target: { pool: pool.replace(/^guestkit\./, ''), workerId: wid('worker-c') } });
        a.retry({ job: routed('gone-3', { worker_id: wid('worker-c') }), jobId: 'gone-3' }, 60_000);
        await a.settled();
        const back = await b.takeWaitingOf(wid('worker-c'));
        assert.deepEqual(back.map((e) => e.job.job_id).sort(), ['gone-1', 'gone-2', 'gone-3']);
        assert.ok(back.every((e) => e.target === undefined), 'the target that named the gone worker is dropped');
        assert.deepEqual(await b.takeWaitingOf(wid('worker-c')), [], 'nothing is left there');
        // placed again on the pool: any worker takes gone-2 (routing.worker_id still pins the others)
        b.enqueue(back.find((e) => e.job.job_id === 'gone-2')!);
        const l = await within(a.reserve(), 10_000);
        assert.ok(l !== 'timeout' && l !== null && l.jobId === 'gone-2');
        a.ack(l, 'completed');
      } finally {
        await drainAll([a, b]);
      }
    });

    test('a worker takes from its pool’s queue and its own; each in priority order', async () => {
      fresh();
      const a = await open(pool, 'worker-a');
      const b = await open(pool, 'worker-b', { trackOthers: false });
      try {
        for (let i = 0; i < 10; i++) a.enqueue({ job: routed(`mix-own-${i}`, { worker_id: wid('worker-b') }, 1 + i) });
        for (let i = 0; i < 10; i++) a.enqueue({ job: queueJob(`mix-pool-${i}`, 1 + i) });
        await a.settled();
        const got: { id: string; p: number }[] = [];
        while (got.length < 20) {
          const l = await within(b.reserve(), 10_000);
          assert.ok(l !== 'timeout' && l !== null, `after ${got.length}`);
          got.push({ id: l.jobId, p: l.job.execution.priority });
          b.ack(l, 'completed');
        }
        for (const kind of ['own', 'pool']) {
          const ps = got.filter((g) => g.id.startsWith(`mix-${kind}`)).map((g) => g.p);
          assert.equal(ps.length, 10);
          assert.deepEqual(ps, [...ps].sort((x, y) => y - x), `${kind} queue in priority order: ${ps.join(',')}`);
        }
      } finally {
        await drainAll([a, b]);
      }
    });
  }
}
