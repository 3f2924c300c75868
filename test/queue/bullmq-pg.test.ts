import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { JobEvents, type JobEventMap } from '../../src/events/job-events.js';
import type { JobResult } from '../../src/protocol/result.js';
import { PgClusterBus, pieces, NOTIFY_PIECE_BYTES } from '../../src/queue/bullmq/pg-bus.js';
import { BullmqQueue, type BullmqQueueOptions } from '../../src/queue/bullmq/bullmq-queue.js';
import { bullmqSuite, contractInChild, freshQueueName, queueJob, testLogger } from '../helpers/bullmq-suite.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { jobQueueContract } from './contract.js';

/** The BullMQ adapter on BullMQ's PostgreSQL backend (no Redis), against a private PostgreSQL. */
const CHILD = 'GK_BULLMQ_PG_CONTRACT_CHILD';
let pg: PgInstance;
let url: string;
const open = (name: string, o: Partial<BullmqQueueOptions> = {}) =>
  BullmqQueue.open({ backend: { kind: 'postgres', url }, name, drainDelaySec: 1, probeIntervalMs: 200, logger: testLogger, ...o });

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase('bullmq');
});
after(async () => {
  // something of BullMQ's PostgreSQL backend can stay referenced after every queue closed (no
  // handle the test can see): once the tests have reported, the file must not hang the run
  setTimeout(() => process.exit(), 30_000).unref();
  await pg?.stop();
});

if (process.env[CHILD]) {
  jobQueueContract({
    name: 'bullmq/postgres',
    open: async () => {
      // no depth probe: `size` is then this process's own count, which the contract checks
      const queue = await open(freshQueueName(), { probeIntervalMs: 0 });
      return { queue, cleanup: () => queue.shutdown() };
    },
  });
} else {
  test('bullmq/postgres JobQueue contract, all but "close returns jobs still waiting" (a shared queue leaves them to the pool)', (t) => {
    contractInChild(t, fileURLToPath(import.meta.url), CHILD);
  });

  describe('BullMQ queue on PostgreSQL', { timeout: 300_000 }, () => {
    bullmqSuite({ label: 'PostgreSQL', open, restart: (downMs) => pg.restart({ downMs }) });
  });

  describe('cluster bus on PostgreSQL LISTEN/NOTIFY', { timeout: 120_000 }, () => {
    const waitFor = async (pred: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(pred(), what);
    };

    test('pieces: every payload under the NOTIFY limit in bytes, put together again whole', () => {
      const text = JSON.stringify({ s: 'é€𝄞x'.repeat(9000) });
      const ps = pieces(text, 'm1');
      assert.ok(ps.length > 1);
      for (const p of ps) assert.ok(Buffer.byteLength(p) <= NOTIFY_PIECE_BYTES, `${Buffer.byteLength(p)} bytes`);
      assert.equal(ps.map((p) => p.replace(/^~[^:]+:\d+:\d+:/, '')).join(''), text);
      assert.deepEqual(pieces('{"a":1}', 'm2'), ['{"a":1}']);
    });

    test('job events (of a job whose document is far over 8000 bytes) and cancels reach the other process, in order, whole; a finished one without its result data; again after a PostgreSQL restart', async () => {
      const name = freshQueueName();
      const a = await PgClusterBus.open(url, name, { logger: testLogger });
      const b = await PgClusterBus.open(url, name, { logger: testLogger });
      try {
        const aLocal = new JobEvents();
        const bLocal = new JobEvents();
        const bPool = new JobEvents();
        a.share(aLocal, new JobEvents());
        b.share(bLocal, bPool);
        const seen: string[] = [];
        let finished: JobEventMap['finished'] | undefined;
        bPool.on('progress', ({ event }) => seen.push(`progress ${event.sequence}`));
        bPool.on('finished', (p) => {
          seen.push('finished');
          finished = p;
        });
        bPool.on('completed', () => seen.push('completed'));
        const cancels: string[] = [];
        a.onCancel((id, reason) => cancels.push(`${id}:${reason}`));
        // every event carries the job document: a big one goes in pieces
        const job = { ...queueJob('bus-1'), payload: { type: 'system.echo.v1', data: { blob: 'y'.repeat(200_000) } } };
        const big = { status: 'completed', job_id: 'bus-1', data: { blob: 'x'.repeat(200_000) }, metrics: { cpu_seconds: 1 } } as unknown as JobResult;
        for (let i = 1; i <= 3; i++) aLocal.emit('progress', { job, event: { job_id: 'bus-1', sequence: i } as never });
        aLocal.emit('finished', { job, status: 'completed', result: big });
        b.cancel('bus-2', 'user');
        await waitFor(() => seen.length === 5 && cancels.length === 1, `events: ${JSON.stringify(seen)}, cancels: ${JSON.stringify(cancels)}`);
        assert.deepEqual(seen, ['progress 1', 'progress 2', 'progress 3', 'finished', 'completed']);
        assert.deepEqual(finished?.job, job, 'the job document arrives whole');
        // the result's data stays in the store (a spool that needs it reads it there)
        assert.deepEqual(finished?.result, { status: 'completed', job_id: 'bus-1', metrics: { cpu_seconds: 1 } });
        assert.equal(finished?.partial, true);
        assert.deepEqual(cancels, ['bus-2:user']);

        await pg.restart({ downMs: 500 });
        await waitFor(() => a.listening && b.listening, 'both listen again after the restart');
        aLocal.emit('progress', { job, event: { job_id: 'bus-1', sequence: 4 } as never });
        await waitFor(() => seen.includes('progress 4'), `after the restart: ${JSON.stringify(seen)}`);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
