/**
 * Tests of the BullMQ adapter that hold on either backend (Redis, PostgreSQL): each backend's
 * test file starts its own server and runs these against it. Nothing reads the clock to
 * judge: waits are bounded hang guards.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import type { Lease } from '../../src/ports/job-queue.js';
import { BullmqQueue, type BullmqLease, type BullmqQueueOptions } from '../../src/queue/bullmq/bullmq-queue.js';
import { jobDoc } from '../store/contract.js';

export const queueJob = (id: string, priority = 5) => jobDoc(id, { execution: { ...jobDoc(id).execution, priority } });

export async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** GK_TEST_LOG=1: the adapter's warnings on stderr. */
export const testLogger = process.env.GK_TEST_LOG
  ? { warn: (o: object, m: string) => console.error('WARN', m, JSON.stringify(o)), info: (o: object, m: string) => console.error('INFO', m, JSON.stringify(o)) }
  : undefined;

/**
 * Runs the JobQueue contract of this test file in a child process, leaving out "close returns
 * jobs still waiting" (a shared queue leaves them to the other workers: tested apart). The
 * child is this file again with `childEnv` set; node 20 cannot skip one test from here.
 */
export function contractInChild(t: TestContext, file: string, childEnv: string): void {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const loader = process.execArgv.filter((a) => !a.startsWith('--test'));
  const r = spawnSync(process.execPath, [...loader, '--test-reporter=tap', '--test-name-pattern=JobQueue contract: (?!close returns jobs still waiting)', file], {
    env: { ...env, [childEnv]: '1' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  const out = r.stdout + r.stderr;
  const oks = out.split('\n').filter((l) => /^\s*(not )?ok \d+ - .*JobQueue contract/.test(l));
  for (const l of oks) t.diagnostic(l.trim());
  assert.equal(r.status, 0, out.slice(-4000));
  assert.equal(oks.filter((l) => /^\s*ok/.test(l) && !/# SKIP/.test(l)).length, 6, oks.join('\n'));
  assert.equal(oks.filter((l) => /# SKIP/.test(l)).length, 1, oks.join('\n'));
}

export interface SuiteBackend {
  /** Shown in test names: `Redis`, `PostgreSQL`. */
  label: string;
  open(name: string, o?: Partial<BullmqQueueOptions>): Promise<BullmqQueue>;
  /** Stops the server, keeps it down `downMs`, starts it again (nothing written is lost). */
  restart(downMs: number): Promise<void>;
}

let names = 0;
export const freshQueueName = () => `gk-test-${process.pid}-${++names}`;

/** The backend-independent tests of the adapter (call inside a describe of the backend's file). */
export function bullmqSuite(b: SuiteBackend): void {
  const fresh = freshQueueName;

  test('shared queue: close leaves waiting and backing-off jobs to the other workers of the pool', async () => {
    const name = fresh();
    const a = await b.open(name);
    const c = await b.open(name);
    try {
      a.enqueue({ job: queueJob('s-y1') });
      a.enqueue({ job: queueJob('s-y2') });
      a.retry({ job: queueJob('s-y3'), jobId: 's-y3' }, 300);
      await a.settled();
      assert.deepEqual(a.close(), [], 'nothing is taken out of the shared queue');
      const got: string[] = [];
      for (let i = 0; i < 3; i++) {
        const l = await within(c.reserve(), 5000);
        assert.ok(l !== 'timeout' && l !== null);
        got.push(l.jobId);
        c.ack(l, 'completed');
      }
      assert.deepEqual(got, ['s-y1', 's-y2', 's-y3']);
    } finally {
      await a.shutdown();
      await c.shutdown();
    }
  });

  test('two workers never both reserve one job; priority order holds across them', async () => {
    const name = fresh();
    const producer = await b.open(name);
    const w1 = await b.open(name);
    const w2 = await b.open(name);
    try {
      const n = 200;
      for (let i = 0; i < n; i++) producer.enqueue({ job: queueJob(`two-${String(i).padStart(3, '0')}`, 1 + (i % 10)) });
      await producer.settled();
      const seen = new Map<string, string>();
      const order: { w: string; p: number }[] = [];
      const run = async (w: BullmqQueue, tag: string) => {
        for (;;) {
          const l = await within(w.reserve(), 2500);
          if (l === 'timeout' || l === null) return;
          assert.equal(seen.get(l.jobId), undefined, `${l.jobId} reserved by ${seen.get(l.jobId)} and ${tag}`);
          seen.set(l.jobId, tag);
          order.push({ w: tag, p: l.job.execution.priority });
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

  test(`a ${b.label} restart loses no enqueued job; the worker resumes`, async () => {
    const name = fresh();
    const q = await b.open(name);
    try {
      for (let i = 0; i < 50; i++) q.enqueue({ job: queueJob(`rs-${i}`) });
      await q.settled();
      await b.restart(300);
      for (let i = 50; i < 60; i++) q.enqueue({ job: queueJob(`rs-${i}`) });
      const got = new Set<string>();
      while (got.size < 60) {
        const l = await within(q.reserve(), 20_000);
        assert.ok(l !== 'timeout' && l !== null, `stuck after ${got.size} jobs`);
        got.add(l.jobId);
        q.ack(l, 'completed');
      }
      assert.equal(got.size, 60);
    } finally {
      await q.shutdown();
    }
  });

  test(`a ${b.label} outage longer than the drain delay does not leave a waiting worker idle; a job it holds is settled after it`, async () => {
    const name = fresh();
    const q = await b.open(name, { drainDelaySec: 1, probeIntervalMs: 250, stuckAfterMs: 3000 });
    const producer = await b.open(name, { probeIntervalMs: 0, trackOthers: false });
    try {
      producer.enqueue({ job: queueJob('lv-held') });
      const held = await within(q.reserve(), 10_000);
      assert.ok(held !== 'timeout' && held !== null && held.jobId === 'lv-held');
      const taking = q.reserve();
      await new Promise((r) => setTimeout(r, 300)); // blocked in its fetch
      const down = b.restart(2500);
      await new Promise((r) => setTimeout(r, 200));
      q.ack(held, 'completed'); // issued while the server is away
      await down;
      producer.enqueue({ job: queueJob('lv-1') });
      const l = await within(taking, 20_000);
      assert.ok(l !== 'timeout' && l !== null && l.jobId === 'lv-1', `got ${JSON.stringify(l === 'timeout' ? l : l?.jobId)}`);
      q.ack(l, 'completed');
      await within(q.settled(), 20_000);
      for (let i = 0; i < 100 && q.backendDown; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(q.backendDown, false);
      // the ack issued during the outage reached the backend: nothing comes back
      assert.equal(await within(q.reserve(), 2000), 'timeout', 'the held job was settled, not re-delivered');
    } finally {
      await producer.shutdown();
      await q.shutdown();
    }
  });

  test('a job whose holder died (lock expired) comes back to another worker, marked stalled', async () => {
    const name = fresh();
    const dead = await b.open(name, { lockDurationMs: 600, stalledIntervalMs: 300 });
    const alive = await b.open(name, { lockDurationMs: 600, stalledIntervalMs: 300 });
    try {
      dead.enqueue({ job: queueJob('st-1') });
      const l = await dead.reserve();
      assert.equal(l?.jobId, 'st-1');
      // the holder dies: no lock renewal, no ack
      (dead as unknown as { timers: NodeJS.Timeout[] }).timers.forEach(clearInterval);
      const again = (await within(alive.reserve(), 8000)) as BullmqLease | 'timeout' | null;
      assert.ok(again !== 'timeout' && again !== null && again.jobId === 'st-1');
      assert.equal(again.stalled, 1);
      // retried with its stall still on the lease (the worker looks again later): reported again
      alive.retry(again, 50);
      const kept = (await within(alive.reserve(), 5000)) as BullmqLease | 'timeout' | null;
      assert.ok(kept !== 'timeout' && kept !== null && kept.jobId === 'st-1');
      assert.equal(kept.stalled, 1, 'a stall not dealt with is reported on the next lease');
      // dealt with (the lease's stall cleared): not reported any more
      alive.retry({ ...kept, stalled: undefined }, 50);
      const third = (await within(alive.reserve(), 5000)) as BullmqLease | 'timeout' | null;
      assert.ok(third !== 'timeout' && third !== null && third.jobId === 'st-1');
      assert.equal(third.stalled, undefined, 'a stall is reported once');
      alive.ack(third, 'completed');
    } finally {
      (dead as unknown as { held: Map<string, unknown> }).held.clear();
      await dead.shutdown();
      await alive.shutdown();
    }
  });

  test('a held lease keeps its lock past the lock duration (renewal)', async () => {
    const name = fresh();
    // a lock long enough that a loaded machine's pauses don't expire it between renewals; the
    // wait is three lock durations, so only renewal keeps the lease
    const a = await b.open(name, { lockDurationMs: 2000, stalledIntervalMs: 500 });
    const c = await b.open(name, { lockDurationMs: 2000, stalledIntervalMs: 500 });
    try {
      a.enqueue({ job: queueJob('lk-1') });
      const l = (await a.reserve()) as Lease;
      assert.equal(await within(c.reserve(), 6000), 'timeout', 'not re-delivered while held');
      a.ack(l, 'completed');
    } finally {
      await a.shutdown();
      await c.shutdown();
    }
  });

  test('take: another process takes a waiting job out (cancel), never a held one', async () => {
    const name = fresh();
    const a = await b.open(name);
    const c = await b.open(name);
    try {
      a.enqueue({ job: queueJob('tk-wait', 1) });
      a.enqueue({ job: queueJob('tk-held', 9) });
      await a.settled();
      const held = (await a.reserve()) as Lease;
      assert.equal(held.jobId, 'tk-held');
      assert.equal(await c.take('tk-held'), undefined, 'a held job is not taken');
      assert.equal((await c.take('tk-wait'))?.job.job_id, 'tk-wait');
      assert.equal(await within(a.reserve(), 1500), 'timeout', 'the taken job is gone from the queue');
      a.ack(held, 'completed');
    } finally {
      await a.shutdown();
      await c.shutdown();
    }
  });

  test('the pool’s global concurrency holds across processes; the rate limit holds takes back to its window', async () => {
    const name = fresh();
    const a = await b.open(name, { globalConcurrency: 1 });
    const c = await b.open(name, { globalConcurrency: 1 });
    try {
      a.enqueue({ job: queueJob('gc-job-1') });
      a.enqueue({ job: queueJob('gc-job-2') });
      await a.settled();
      const first = await a.reserve();
      assert.ok(first);
      // one job of the pool runs at a time: c gets nothing while a holds its lease
      const second = c.reserve();
      assert.equal(await within(second, 1500), 'timeout', 'no second job while one is running');
      a.ack(first, 'completed');
      const got = await within(second, 10_000);
      assert.ok(got !== 'timeout' && got !== null && got.jobId !== first.jobId);
      c.ack(got, 'completed');
    } finally {
      await a.shutdown();
      await c.shutdown();
    }
    const r = await b.open(fresh(), { rateLimit: { max: 2, durationMs: 5000 } });
    try {
      for (let i = 0; i < 4; i++) r.enqueue({ job: queueJob(`rl-job-${i}`) });
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
}
