import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobQueue } from '../../src/ports/job-queue.js';
import { jobDoc } from '../store/contract.js';

/** The JobQueue contract: the embedded queue now, BullMQ (Redis, PostgreSQL) next. */
export interface QueueFactory {
  name: string;
  open(): Promise<{ queue: JobQueue; cleanup?: () => Promise<void> }>;
}

const job = (id: string, priority = 5) => jobDoc(id, { execution: { ...jobDoc(id).execution, priority } });
async function within<T>(p: Promise<T>, ms = 2000): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function jobQueueContract(f: QueueFactory): void {
  const withQueue = (title: string, fn: (q: JobQueue) => Promise<void>) =>
    test(`${f.name} JobQueue contract: ${title}`, async () => {
      const { queue, cleanup } = await f.open();
      try {
        await fn(queue);
      } finally {
        queue.close();
        await cleanup?.();
      }
    });

  withQueue('hands jobs out by priority, then arrival; each once', async (q) => {
    q.enqueue({ job: job('q-a', 1) });
    q.enqueue({ job: job('q-b', 9) });
    q.enqueue({ job: job('q-c', 5) });
    q.enqueue({ job: job('q-d', 9) });
    assert.equal(q.enqueue({ job: job('q-a', 1) }), false, 'a queued job is not queued twice');
    assert.equal(q.size, 4);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await q.reserve())!.jobId);
    assert.deepEqual(order, ['q-b', 'q-d', 'q-c', 'q-a']);
    assert.equal(q.size, 0);
  });

  withQueue('a waiting taker gets the next job; remove and peek see waiting jobs only', async (q) => {
    const taking = q.reserve();
    q.enqueue({ job: job('q-w1'), source: 'q-w1.json' });
    const l = await within(taking);
    assert.ok(l !== 'timeout' && l !== null && l.jobId === 'q-w1' && l.source === 'q-w1.json');
    q.enqueue({ job: job('q-w2') });
    q.enqueue({ job: job('q-w3') });
    assert.equal(q.peek('q-w2')?.job.job_id, 'q-w2');
    assert.equal(q.remove('q-w2')?.job.job_id, 'q-w2');
    assert.equal(q.remove('q-w2'), undefined);
    assert.equal((await q.reserve())!.jobId, 'q-w3');
  });

  withQueue('drop forgets a reserved job: it is not handed out again', async (q) => {
    q.enqueue({ job: job('q-drop-1') });
    const l = (await q.reserve())!;
    q.drop(l);
    assert.equal(q.size, 0);
    q.enqueue({ job: job('q-drop-2') });
    assert.equal((await q.reserve())!.jobId, 'q-drop-2', 'the next job, not the dropped one');
  });

  withQueue('a job removed in the same turn it was queued is never handed out', async (q) => {
    const taking = q.reserve();
    q.enqueue({ job: job('q-r1') });
    q.remove('q-r1');
    q.enqueue({ job: job('q-r2') });
    const l = await within(taking);
    assert.ok(l !== 'timeout' && l?.jobId === 'q-r2');
  });

  withQueue('retry holds a job back for its delay, counted as waiting; removable meanwhile', async (q) => {
    q.enqueue({ job: job('q-retry') });
    const l = (await q.reserve())!;
    q.retry(l, 80);
    assert.equal(q.size, 1);
    const taking = q.reserve();
    assert.equal(await within(taking, 20), 'timeout', 'not before the delay');
    const again = await within(taking, 3000);
    assert.ok(again !== 'timeout' && again?.jobId === 'q-retry');
    q.enqueue({ job: job('q-retry2') });
    q.retry((await q.reserve())!, 50);
    assert.ok(q.remove('q-retry2'));
    const next = q.reserve();
    assert.equal(await within(next, 200), 'timeout', 'a removed retry never comes back');
    q.close();
    assert.equal(await next, null);
  });

  withQueue('close: takers get null, waiting jobs are returned, nothing more is taken', async (q) => {
    const taking = q.reserve();
    q.enqueue({ job: job('q-x1') });
    await taking;
    const pendingTaker = q.reserve();
    const left = q.close();
    assert.equal(await pendingTaker, null);
    assert.deepEqual(left.map((e) => e.job.job_id), []);
    assert.equal(await q.reserve(), null);
    assert.equal(q.enqueue({ job: job('q-x3') }), false);
  });

  withQueue('close returns jobs still waiting and in back-off', async (q) => {
    q.enqueue({ job: job('q-y1') });
    q.enqueue({ job: job('q-y2') });
    q.retry({ job: job('q-y3'), jobId: 'q-y3' }, 60_000);
    assert.deepEqual(q.close().map((e) => e.job.job_id).sort(), ['q-y1', 'q-y2', 'q-y3']);
  });
}
