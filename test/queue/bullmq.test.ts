import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Lease } from '../../src/ports/job-queue.js';
import { BullmqQueue, redisOptions, type BullmqLease, type BullmqQueueOptions } from '../../src/queue/bullmq/bullmq-queue.js';
import { RedisEvictionPolicyError } from '../../src/queue/bullmq/errors.js';
import { redisSkipReason, startBlackholeProxy, startRedis, type RedisInstance } from '../helpers/redis.js';
import { jobDoc } from '../store/contract.js';
import { jobQueueContract } from './contract.js';

const skip = redisSkipReason();
const job = (id: string, priority = 5) => jobDoc(id, { execution: { ...jobDoc(id).execution, priority } });
let names = 0;
const fresh = () => `gk-test-${process.pid}-${++names}`;

async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

let redis: RedisInstance;
const open = (name: string, o: Partial<BullmqQueueOptions> = {}) =>
  BullmqQueue.open({ backend: { kind: 'redis', url: redis.url }, name, drainDelaySec: 1, probeIntervalMs: 200, logger: process.env.GK_TEST_LOG ? { warn: (o, m) => console.error('WARN', m, JSON.stringify(o)), info: (o, m) => console.error('INFO', m, JSON.stringify(o)) } : undefined, ...o });

if (skip) {
  test('BullMQ queue on Redis', { skip }, () => undefined);
} else {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  if (process.env.GK_BULLMQ_CONTRACT_CHILD) {
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
    // them to the other workers (tested below); taking them out would strand HTTP jobs as
    // pending with no queue entry. The rest of the contract runs unchanged in a child
    // process that leaves out that one test by name (node 20 cannot skip it from here).
    // Proposed: QueueFactory gains `shared?: boolean`, and that test asserts, for a shared
    // queue, that close() returns [] and a second queue on the same name gets the jobs.
    test('bullmq/redis JobQueue contract, all but "close returns jobs still waiting" (shared queue: see comment)', (t) => {
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const loader = process.execArgv.filter((a) => !a.startsWith('--test'));
      const r = spawnSync(process.execPath, [...loader, '--test-reporter=tap', '--test-name-pattern=JobQueue contract: (?!close returns jobs still waiting)', fileURLToPath(import.meta.url)], {
        env: { ...env, GK_BULLMQ_CONTRACT_CHILD: '1' },
        encoding: 'utf8',
        timeout: 240_000,
      });
      const out = r.stdout + r.stderr;
      if (process.env.GK_TEST_LOG) console.error('CHILD', JSON.stringify(process.execArgv), out);
      const oks = out.split('\n').filter((l) => /^\s*(not )?ok \d+ - .*JobQueue contract/.test(l));
      for (const l of oks) t.diagnostic(l.trim());
      assert.equal(r.status, 0, out.slice(-4000));
      assert.equal(oks.filter((l) => /^\s*ok/.test(l) && !/# SKIP/.test(l)).length, 6, oks.join('\n'));
      assert.equal(oks.filter((l) => /# SKIP/.test(l)).length, 1, oks.join('\n'));
    });
  }

  if (!process.env.GK_BULLMQ_CONTRACT_CHILD) describe('BullMQ queue on Redis', () => {
    test('shared queue: close leaves waiting and backing-off jobs to the other workers of the pool', async () => {
      const name = fresh();
      const a = await open(name);
      const b = await open(name);
      try {
        a.enqueue({ job: job('s-y1') });
        a.enqueue({ job: job('s-y2') });
        a.retry({ job: job('s-y3'), jobId: 's-y3' }, 300);
        await a.settled();
        assert.deepEqual(a.close(), [], 'nothing is taken out of the shared queue');
        const got: string[] = [];
        for (let i = 0; i < 3; i++) {
          const l = await within(b.reserve(), 5000);
          assert.ok(l !== 'timeout' && l !== null);
          got.push(l.jobId);
          b.ack(l, 'completed');
        }
        assert.deepEqual(got, ['s-y1', 's-y2', 's-y3']);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });

    test('two workers never both reserve one job; priority order holds across them', async () => {
      const name = fresh();
      const producer = await open(name);
      const w1 = await open(name);
      const w2 = await open(name);
      try {
        const n = 200;
        for (let i = 0; i < n; i++) producer.enqueue({ job: job(`two-${String(i).padStart(3, '0')}`, 1 + (i % 10)) });
        await producer.settled();
        const seen = new Map<string, string>();
        const order: { w: string; p: number; t: number }[] = [];
        let t = 0;
        const run = async (w: BullmqQueue, tag: string) => {
          for (;;) {
            const l = await within(w.reserve(), 2500);
            if (l === 'timeout' || l === null) return;
            assert.equal(seen.get(l.jobId), undefined, `${l.jobId} reserved by ${seen.get(l.jobId)} and ${tag}`);
            seen.set(l.jobId, tag);
            order.push({ w: tag, p: l.job.execution.priority, t: t++ });
            await new Promise((r) => setImmediate(r));
            w.ack(l, 'completed');
          }
        };
        await Promise.all([run(w1, 'w1'), run(w1, 'w1'), run(w2, 'w2'), run(w2, 'w2')]);
        assert.equal(seen.size, n, 'every job once');
        assert.ok(new Set(seen.values()).size === 2, 'both workers took jobs');
        // each worker's takes come in non-increasing priority (a job may be taken by the other
        // worker while this one acks, never a lower one before a higher one that waited)
        for (const tag of ['w1', 'w2']) {
          const ps = order.filter((o) => o.w === tag).map((o) => o.p);
          for (let i = 1; i < ps.length; i++) assert.ok(ps[i]! <= ps[i - 1]!, `${tag}: priority ${ps[i]} after ${ps[i - 1]}`);
        }
      } finally {
        await producer.shutdown();
        await w1.shutdown();
        await w2.shutdown();
      }
    });

    test('a Redis restart (appendonly) loses no enqueued job; the worker resumes', async () => {
      const name = fresh();
      const q = await open(name);
      try {
        for (let i = 0; i < 50; i++) q.enqueue({ job: job(`rs-${i}`) });
        await q.settled();
        await redis.restart({ downMs: 300 });
        for (let i = 50; i < 60; i++) q.enqueue({ job: job(`rs-${i}`) });
        const got = new Set<string>();
        while (got.size < 60) {
          const l = await within(q.reserve(), 15_000);
          assert.ok(l !== 'timeout' && l !== null, `stuck after ${got.size} jobs`);
          got.add(l.jobId);
          q.ack(l, 'completed');
        }
        assert.equal(got.size, 60);
      } finally {
        await q.shutdown();
      }
    });

    test('an outage longer than the drain delay does not leave a waiting worker idle', async () => {
      const name = fresh();
      const q = await open(name, { drainDelaySec: 1, probeIntervalMs: 250, stuckAfterMs: 3000 });
      const producer = new Queue(name, { connection: redisOptions(redis.url) as never });
      producer.on('error', () => undefined); // refused connections while Redis is down
      try {
        const taking = q.reserve();
        await new Promise((r) => setTimeout(r, 300)); // blocked in its fetch
        await redis.restart({ downMs: 2500 });
        await producer.add('system.echo', { e: { job: job('lv-1') } }, { jobId: 'lv-1', priority: 5 });
        const l = await within(taking, 12_000);
        assert.ok(l !== 'timeout' && l !== null && l.jobId === 'lv-1', `got ${JSON.stringify(l === 'timeout' ? l : l?.jobId)}`);
        q.ack(l, 'completed');
        assert.equal(q.backendDown, false);
      } finally {
        await producer.close();
        await q.shutdown();
      }
    });

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
        await producer.add('system.echo', { e: { job: job('bh-1') } }, { jobId: 'bh-1', priority: 5 });
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

    test('a job whose holder died (lock expired) comes back to another worker, marked stalled', async () => {
      const name = fresh();
      const dead = await open(name, { lockDurationMs: 600, stalledIntervalMs: 300 });
      const alive = await open(name, { lockDurationMs: 600, stalledIntervalMs: 300 });
      try {
        dead.enqueue({ job: job('st-1') });
        const l = await dead.reserve();
        assert.equal(l?.jobId, 'st-1');
        // the holder dies: no lock renewal, no ack
        (dead as unknown as { timers: NodeJS.Timeout[] }).timers.forEach(clearInterval);
        const again = (await within(alive.reserve(), 5000)) as BullmqLease | 'timeout' | null;
        assert.ok(again !== 'timeout' && again !== null && again.jobId === 'st-1');
        assert.equal(again.stalled, 1);
        // retried with its stall still on the lease (the worker looks again later): reported again
        alive.retry(again, 50);
        const kept = (await within(alive.reserve(), 3000)) as BullmqLease | 'timeout' | null;
        assert.ok(kept !== 'timeout' && kept !== null && kept.jobId === 'st-1');
        assert.equal(kept.stalled, 1, 'a stall not dealt with is reported on the next lease');
        // dealt with (the lease's stall cleared): not reported any more
        alive.retry({ ...kept, stalled: undefined }, 50);
        const third = (await within(alive.reserve(), 3000)) as BullmqLease | 'timeout' | null;
        assert.ok(third !== 'timeout' && third !== null && third.jobId === 'st-1');
        assert.equal(third.stalled, undefined, 'a stall is reported once');
        alive.ack(third, 'completed');
      } finally {
        (dead as unknown as { held: Map<string, unknown> }).held.clear();
        await dead.shutdown();
        await alive.shutdown();
      }
    });

    test('the pool’s global concurrency holds across processes; the rate limit holds takes back to its window', async () => {
      const name = fresh();
      const a = await open(name, { globalConcurrency: 1 });
      const b = await open(name, { globalConcurrency: 1 });
      try {
        a.enqueue({ job: job('gc-job-1') });
        a.enqueue({ job: job('gc-job-2') });
        await a.settled();
        const first = await a.reserve();
        assert.ok(first);
        // one job of the pool runs at a time: b gets nothing while a holds its lease
        const second = b.reserve();
        assert.equal(await within(second, 1500), 'timeout', 'no second job while one is running');
        a.ack(first, 'completed');
        const got = await within(second, 10_000);
        assert.ok(got !== 'timeout' && got !== null && got.jobId !== first.jobId);
        b.ack(got, 'completed');
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
      const rname = fresh();
      const r = await open(rname, { rateLimit: { max: 2, durationMs: 5000 } });
      try {
        for (let i = 0; i < 4; i++) r.enqueue({ job: job(`rl-job-${i}`) });
        await r.settled();
        const leases: Lease[] = [];
        for (let i = 0; i < 4; i++) {
          const next = r.reserve();
          // two takes per window: the third waits for the next one
          if (i === 2) assert.equal(await within(next, 300), 'timeout', 'the third take waits for the next window');
          const l = await within(next, 20_000);
          assert.ok(l !== 'timeout' && l !== null, `take ${i} under the rate limit`);
          leases.push(l);
          r.ack(l, 'completed');
        }
        assert.deepEqual(leases.map((l) => l.jobId).sort(), ['rl-job-0', 'rl-job-1', 'rl-job-2', 'rl-job-3']);
      } finally {
        await r.shutdown();
      }
    });

    test('a held lease keeps its lock past the lock duration (renewal)', async () => {
      const name = fresh();
      // a lock long enough that a loaded machine's pauses don't expire it between renewals; the
      // wait is three lock durations, so only renewal keeps the lease
      const a = await open(name, { lockDurationMs: 2000, stalledIntervalMs: 500 });
      const b = await open(name, { lockDurationMs: 2000, stalledIntervalMs: 500 });
      try {
        a.enqueue({ job: job('lk-1') });
        const l = (await a.reserve()) as Lease;
        assert.equal(await within(b.reserve(), 6000), 'timeout', 'not re-delivered while held');
        a.ack(l, 'completed');
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });
  });

  if (!process.env.GK_BULLMQ_CONTRACT_CHILD) describe('BullMQ queue refuses an evicting Redis', () => {
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
