import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { BullmqQueue, redisOptions, type BullmqQueueOptions } from '../../src/queue/bullmq/bullmq-queue.js';
import { RedisEvictionPolicyError } from '../../src/queue/bullmq/errors.js';
import { bullmqSuite, contractInChild, freshQueueName, queueJob, testLogger, within } from '../helpers/bullmq-suite.js';
import { redisSkipReason, startBlackholeProxy, startRedis, type RedisInstance } from '../helpers/redis.js';
import { jobQueueContract } from './contract.js';

const skip = redisSkipReason();
const CHILD = 'GK_BULLMQ_CONTRACT_CHILD';
const fresh = freshQueueName;

let redis: RedisInstance;
const open = (name: string, o: Partial<BullmqQueueOptions> = {}) =>
  // each with its own worker queue too, as every worker process has (shared-queue.ts)
  BullmqQueue.open({ backend: { kind: 'redis', url: redis.url }, name, workerId: `w-${process.pid}-${++opened}`, drainDelaySec: 1, probeIntervalMs: 200, logger: testLogger, ...o });
let opened = 0;

if (skip) {
  test('BullMQ queue on Redis', { skip }, () => undefined);
} else {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  if (process.env[CHILD]) {
    jobQueueContract({
      name: 'bullmq/redis',
      open: async () => {
        // no depth probe: `size` is then this process's own count, which is what the contract
        // checks (a probe answering while an op is in flight can be off by one until the next)
        const queue = await open(fresh(), { probeIntervalMs: 0 });
        return { queue, cleanup: () => queue.shutdown() };
      },
    });
  } else {
    // One contract test does not hold for a queue shared by the workers of a pool:
    // "close returns jobs still waiting and in back-off". close() of a BullMQ queue leaves
    // them to the other workers (tested in the suite); taking them out would strand HTTP jobs
    // as pending with no queue entry. The rest of the contract runs unchanged in a child.
    test('bullmq/redis JobQueue contract, all but "close returns jobs still waiting" (shared queue: see comment)', (t) => {
      contractInChild(t, fileURLToPath(import.meta.url), CHILD);
    });

    describe('BullMQ queue on Redis', () => {
      bullmqSuite({ label: 'Redis (appendonly)', open, restart: (downMs) => redis.restart({ downMs }) });

      test('half-open connections (silent for ever, no reset): the worker and its acks come back', async () => {
        // BullMQ alone stays blocked on such a connection (measured: still idle after 40 s)
        const name = fresh();
        const proxy = await startBlackholeProxy(redis);
        const q = await BullmqQueue.open({ backend: { kind: 'redis', url: proxy.url }, name, drainDelaySec: 1, probeIntervalMs: 250, stuckAfterMs: 3000 });
        const producer = new Queue(name, { connection: redisOptions(redis.url) as never });
        try {
          const taking = q.reserve();
          await new Promise((r) => setTimeout(r, 300));
          proxy.blackhole();
          await new Promise((r) => setTimeout(r, 1000));
          await producer.add('system.echo', { e: { job: queueJob('bh-1') } }, { jobId: 'bh-1', priority: 5 });
          const l = await within(taking, 10_000);
          assert.ok(l !== 'timeout' && l !== null && l.jobId === 'bh-1');
          q.ack(l, 'completed');
          const t0 = Date.now();
          while ((await producer.getJobState('bh-1')) === 'active') {
            assert.ok(Date.now() - t0 < 15_000, 'the ack reached Redis');
            await new Promise((r) => setTimeout(r, 100));
          }
          while (q.backendDown) {
            assert.ok(Date.now() - t0 < 15_000, 'the probe answers again');
            await new Promise((r) => setTimeout(r, 100));
          }
        } finally {
          await producer.close();
          await q.shutdown();
          await proxy.close();
        }
      });
    });

    describe('BullMQ queue refuses an evicting Redis', () => {
      let lru: RedisInstance;
      before(async () => {
        lru = await startRedis({ settings: { 'maxmemory-policy': 'allkeys-lru', appendonly: 'no' } });
      });
      after(async () => {
        await lru?.stop();
      });
      test('maxmemory-policy other than noeviction: refused at start, naming the setting', async () => {
        await assert.rejects(
          BullmqQueue.open({ backend: { kind: 'redis', url: lru.url }, name: fresh() }),
          (err: unknown) => err instanceof RedisEvictionPolicyError && err.setting === 'maxmemory-policy' && err.actual === 'allkeys-lru' && /noeviction/.test(err.message),
        );
      });
    });
  }
}
