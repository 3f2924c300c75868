import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveServeConfig } from '../../src/app/serve-config.js';
import { resolveWorkerConfig } from '../../src/app/worker-config.js';
import { assertUsage, runCli } from '../helpers/cli.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';
import { call, removeDataDir, startServe, testJob, type Served } from '../helpers/serve.js';
import { makeSpool, sleep, startDaemon, type Daemon, type SpoolDirs } from '../worker/helpers/daemon.js';

/**
 * Cluster mode with real processes: one `guestkit serve` (the API, running no jobs itself:
 * --max-concurrent 0) and two `guestkit worker` processes ("machines" with their own spool
 * folders) on one BullMQ queue in a private Redis and one store in a private PostgreSQL.
 * Nothing here reads the clock to judge: states are waited for with generous timeouts.
 */

/** Short locks and heartbeats so that a killed worker's job is noticed within seconds. */
const CLUSTER_ENV = { GUESTKIT_QUEUE_LOCK_MS: '3000', GUESTKIT_HEARTBEAT_SECONDS: '1', GUESTKIT_LOG_LEVEL: 'info' };

let redis: RedisInstance;
let pg: PgInstance;
let db: string;
let serve: Served;
let token: string;
const workers = new Map<string, { daemon: Daemon; spool: SpoolDirs }>();

async function startWorkerProc(id: string): Promise<Daemon> {
  const spool = workers.get(id)?.spool ?? makeSpool(`gk-cluster-${id}-`);
  const daemon = startDaemon(spool, ['--store', db, '--queue', redis.url, '--worker-id', id, '--max-concurrent', '4', '--drain-timeout', '5'], CLUSTER_ENV);
  workers.set(id, { daemon, spool });
  await Promise.race([
    daemon.waitForLog((l) => l.msg === 'worker ready', 60_000),
    daemon.exited.then((e) => {
      throw new Error(`worker ${id} exited (${e.code ?? e.signal}) before it was ready: ${daemon.stderr.join('')}`);
    }),
  ]);
  return daemon;
}

async function job(id: string): Promise<Record<string, unknown>> {
  const r = await call(serve.url, 'GET', `/jobs/${id}`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Polls a job until `pred` holds (generous timeout; the failure message shows the last state). */
async function waitJob(id: string, pred: (j: Record<string, unknown>) => boolean, what: string, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  let last: Record<string, unknown> = {};
  while (Date.now() < end) {
    last = await job(id);
    if (pred(last)) return last;
    await sleep(100);
  }
  throw new Error(`job ${id}: ${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${tails()}`);
}

/** The last log lines of every process (for failure messages). */
function tails(): string {
  const procs: [string, Daemon][] = [['serve', serve.daemon], ...[...workers].map(([id, w]): [string, Daemon] => [id, w.daemon])];
  return procs.map(([n, d]) => `--- ${n}\n${d.logs.slice(-12).map((l) => JSON.stringify(l).slice(0, 400)).join('\n')}\n${d.stderr.join('').slice(-1000)}`).join('\n');
}

/** Waits for a final status (the view's worker_id is cleared at the end: ranOn tells who ran it). */
async function waitEnd(id: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
  return waitJob(id, (j) => ['completed', 'failed', 'cancelled', 'timeout'].includes(String(j.status)), 'a final status', timeoutMs);
}

/** The worker of the job's last attempt. */
function ranOn(j: Record<string, unknown>): string | undefined {
  return (j.attempts as { worker_id: string }[] | undefined)?.at(-1)?.worker_id;
}

async function submit(docs: Record<string, unknown>[]): Promise<string[]> {
  const r = await call(serve.url, 'POST', '/jobs', { token, body: { jobs: docs } });
  assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
  return (r.body.jobs as { job_id: string }[]).map((j) => j.job_id);
}

/** Reads a job's server-sent events from serve until the server ends the stream; the events' names and data. */
async function sseUntilEnd(id: string, timeoutMs: number): Promise<{ event: string; data: string }[]> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const out: { event: string; data: string }[] = [];
  try {
    const res = await fetch(`${serve.url}/jobs/${id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` }, signal: ctl.signal });
    assert.equal(res.status, 200);
    let buf = '';
    const dec = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = { event: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const [k, ...rest] = line.split(':');
          const v = rest.join(':').replace(/^ /, '');
          if (k === 'event') ev.event = v;
          else if (k === 'data') ev.data += v;
        }
        if (ev.event !== 'message') out.push(ev);
      }
    }
    return out;
  } catch (err) {
    throw new Error(`event stream of ${id} did not end within ${timeoutMs} ms (got ${JSON.stringify(out)}): ${String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

describe('cluster: serve + 2 workers on one Redis queue and one PostgreSQL store', { timeout: 600_000 }, () => {
  before(async () => {
    redis = await startRedis({ settings: { appendonly: 'yes', 'maxmemory-policy': 'noeviction' } });
    pg = await startPostgres();
    db = await pg.createDatabase('cluster');
    serve = await startServe({ args: ['--store', db, '--queue', redis.url, '--max-concurrent', '0', '--worker-id', 'api-node'], env: CLUSTER_ENV });
    token = serve.adminToken;
    await Promise.all([startWorkerProc('worker-a'), startWorkerProc('worker-b')]);
  });

  after(async () => {
    await Promise.allSettled([...workers.values()].map((w) => w.daemon.stop('SIGTERM', 20_000)));
    await serve?.stop();
    if (serve) removeDataDir(serve.dataDir);
    await pg?.stop();
    await redis?.stop();
  });

  test('50 jobs submitted through the API all complete, spread over both workers; progress reaches serve’s event stream', async () => {
    const ids = await submit(Array.from({ length: 50 }, (_, i) => testJob('test.sleep', { seconds: 0.2 }, { job_id: `spread-${String(i).padStart(2, '0')}` })));
    const watched = sseUntilEnd(ids[49]!, 180_000);
    const ran = new Map<string, number>();
    for (const id of ids) {
      const j = await waitEnd(id);
      assert.equal(j.status, 'completed', JSON.stringify(j));
      ran.set(String(ranOn(j)), (ran.get(String(ranOn(j))) ?? 0) + 1);
    }
    assert.deepEqual([...ran.keys()].sort(), ['worker-a', 'worker-b'], `jobs per worker: ${JSON.stringify([...ran])}`);
    const events = await watched;
    assert.equal(events.at(-1)?.event, 'status');
    assert.match(events.at(-1)!.data, /"completed"/, 'the stream ends with the final status a worker process recorded');
    // each ran exactly once
    const one = await job(ids[0]!);
    assert.equal((one.attempts as { status: string }[]).length, 1, JSON.stringify(one.attempts));
  });

  test('a CPU-bound handler longer than the lock is not taken as stalled (locks renew on the main thread)', async () => {
    // test.spin never yields in its thread; the 6 s timeout ends it: twice the 3 s lock
    const [id] = await submit([testJob('test.spin', {}, { job_id: 'spin-job-1', execution: { timeout_seconds: 6, max_attempts: 1 } })]);
    const j = await waitJob(id!, (x) => ['completed', 'failed', 'cancelled', 'timeout'].includes(String(x.status)), 'a final status', 120_000);
    assert.equal(j.status, 'timeout', JSON.stringify(j));
    assert.equal((j.attempts as unknown[]).length, 1, `one attempt, never re-delivered: ${JSON.stringify(j.attempts)}`);
  });

  test('kill -9 of the worker running a job: the other worker takes it over and completes it', async () => {
    const [id] = await submit([testJob('test.sleep', { seconds: 4 }, { job_id: 'killed-1', execution: { max_attempts: 3 } })]);
    const running = await waitJob(id!, (j) => j.status === 'running' && typeof j.worker_id === 'string', 'running');
    const victim = String(running.worker_id);
    const other = victim === 'worker-a' ? 'worker-b' : 'worker-a';
    await workers.get(victim)!.daemon.stop('SIGKILL');
    const done = await waitEnd(id!);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(ranOn(done), other);
    const attempts = done.attempts as { status: string; worker_id: string }[];
    assert.equal(attempts.length, 2, JSON.stringify(attempts));
    assert.equal(attempts[0]!.worker_id, victim);
    assert.notEqual(attempts[0]!.status, 'completed', 'the killed attempt is recorded as lost');
    assert.equal(attempts[1]!.status, 'completed');
    await startWorkerProc(victim);
  });

  test('kill -9 with max_attempts 1: the job ends WORKER_LOST', async () => {
    const [id] = await submit([testJob('test.sleep', { seconds: 60 }, { job_id: 'killed-2', execution: { max_attempts: 1 } })]);
    const running = await waitJob(id!, (j) => j.status === 'running' && typeof j.worker_id === 'string', 'running');
    const victim = String(running.worker_id);
    await workers.get(victim)!.daemon.stop('SIGKILL');
    const done = await waitEnd(id!);
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.equal(done.error_code, 'WORKER_LOST', JSON.stringify(done));
    await startWorkerProc(victim);
  });

  test('a Redis outage longer than the drain delay and the lock: nothing accepted is lost, the workers take jobs again after it', async () => {
    const [running] = await submit([testJob('test.sleep', { seconds: 3 }, { job_id: 'outage-running' })]);
    await waitJob(running!, (j) => j.status === 'running', 'running');
    await redis.stopServer();
    let back = false;
    try {
      // the store is PostgreSQL: the API still accepts; the queue adds wait for Redis
      const during = await submit(Array.from({ length: 3 }, (_, i) => testJob('test.sleep', { seconds: 0.1 }, { job_id: `outage-new-${i}` })));
      // the running job's end is recorded in the store while Redis is away
      assert.equal((await waitEnd(running!)).status, 'completed');
      await sleep(8000); // keep Redis away longer than the drain delay (5 s) and the lock (3 s)
      await redis.startServer();
      back = true;
      for (const id of during) assert.equal((await waitEnd(id)).status, 'completed', id);
    } finally {
      if (!back) await redis.startServer();
    }
    const first = await job(running!);
    assert.equal((first.attempts as unknown[]).length, 1, `ran once, its stalled lock did not make it run again: ${JSON.stringify(first.attempts)}`);
    const [later] = await submit([testJob('test.sleep', { seconds: 0.1 }, { job_id: 'outage-after' })]);
    assert.equal((await waitEnd(later!)).status, 'completed');
  });

  test('cancel over serve’s API of a job running in a worker process: its handler is stopped', async () => {
    const [id] = await submit([testJob('test.sleep', { seconds: 600 }, { job_id: 'cancel-running' })]);
    const running = await waitJob(id!, (j) => j.status === 'running' && typeof j.worker_id === 'string', 'running');
    assert.notEqual(running.worker_id, 'api-node');
    // serve's event stream of a job that runs elsewhere: it can only end live, through the pool's bus
    const watched = sseUntilEnd(id!, 120_000);
    await sleep(1500); // let the stream attach and a progress tick or two arrive
    const r = await call(serve.url, 'POST', `/jobs/${id}/cancel`, { token });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await waitEnd(id!);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal(ranOn(done), running.worker_id);
    const events = await watched;
    assert.ok(events.some((e) => e.event === 'progress'), `progress events in the stream: ${JSON.stringify(events.slice(0, 5))}`);
    assert.equal(events.at(-1)?.event, 'status');
    assert.match(events.at(-1)!.data, /"cancelled"/);
  });

  test('cancel of a job waiting in the shared queue (every slot busy): taken out and ended cancelled', async () => {
    // 8 slots in all: 8 long jobs fill them, the 9th waits in Redis
    const busy = await submit(Array.from({ length: 8 }, (_, i) => testJob('test.sleep', { seconds: 600 }, { job_id: `fill-job-${i}` })));
    for (const id of busy) await waitJob(id, (j) => j.status === 'running', 'running');
    const [id] = await submit([testJob('test.sleep', { seconds: 1 }, { job_id: 'cancel-waiting' })]);
    assert.equal((await job(id!)).status, 'pending');
    const r = await call(serve.url, 'POST', `/jobs/${id}/cancel`, { token });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await waitEnd(id!);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal((done.attempts as unknown[] | undefined)?.length ?? 0, 0, 'it never started');
    for (const b of busy) assert.equal((await call(serve.url, 'POST', `/jobs/${b}/cancel`, { token })).status, 202);
    for (const b of busy) assert.equal((await waitEnd(b)).status, 'cancelled');
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
