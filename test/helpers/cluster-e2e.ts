/**
 * Cluster mode end to end with real processes, on either shared-queue backend: one
 * `guestkit serve` (the API, running no jobs itself: --max-concurrent 0) and two
 * `guestkit worker` processes ("machines" with their own spool folders) on one BullMQ queue
 * (Redis, or PostgreSQL only) and one PostgreSQL store. Each backend's test file starts its
 * servers, then runs clusterTests; nothing reads the clock to judge (generous hang guards).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, removeDataDir, startServe, testJob, type Served } from './serve.js';
import { dropJob, job as spoolJob, makeSpool, sleep, startDaemon, waitForResult, type Daemon, type SpoolDirs } from '../worker/helpers/daemon.js';

/** Short locks and heartbeats so that a killed worker's job is noticed within seconds. */
export const CLUSTER_ENV = { GUESTKIT_QUEUE_LOCK_MS: '3000', GUESTKIT_HEARTBEAT_SECONDS: '1', GUESTKIT_LOG_LEVEL: 'info' };

export class ClusterRun {
  serve!: Served;
  readonly workers = new Map<string, { daemon: Daemon; spool: SpoolDirs }>();

  constructor(
    readonly store: string,
    readonly queue: string,
  ) {}

  get token(): string {
    return this.serve.adminToken;
  }

  /** serve (API only) and workers `worker-a`, `worker-b`. */
  async start(): Promise<void> {
    this.serve = await startServe({ args: ['--store', this.store, '--queue', this.queue, '--max-concurrent', '0', '--worker-id', 'api-node'], env: CLUSTER_ENV });
    await Promise.all([this.startWorker('worker-a'), this.startWorker('worker-b')]);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.workers.values()].map((w) => w.daemon.stop('SIGTERM', 20_000)));
    await this.serve?.stop();
    if (this.serve) removeDataDir(this.serve.dataDir);
  }

  async startWorker(id: string, args: string[] = []): Promise<Daemon> {
    const spool = this.workers.get(id)?.spool ?? makeSpool(`gk-cluster-${id}-`);
    const daemon = startDaemon(spool, ['--store', this.store, '--queue', this.queue, '--worker-id', id, '--max-concurrent', '4', '--drain-timeout', '5', ...args], CLUSTER_ENV);
    this.workers.set(id, { daemon, spool });
    await Promise.race([
      daemon.waitForLog((l) => l.msg === 'worker ready', 60_000),
      daemon.exited.then((e) => {
        throw new Error(`worker ${id} exited (${e.code ?? e.signal}) before it was ready: ${daemon.stderr.join('')}`);
      }),
    ]);
    return daemon;
  }

  async job(id: string): Promise<Record<string, unknown>> {
    const r = await call(this.serve.url, 'GET', `/jobs/${id}`, { token: this.token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  }

  /** Polls a job until `pred` holds (generous timeout; the failure message shows the last state). */
  async waitJob(id: string, pred: (j: Record<string, unknown>) => boolean, what: string, timeoutMs = 90_000): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    let last: Record<string, unknown> = {};
    while (Date.now() < end) {
      last = await this.job(id);
      if (pred(last)) return last;
      await sleep(100);
    }
    throw new Error(`job ${id}: ${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${this.tails()}`);
  }

  /** Waits for a final status (the view's worker_id is cleared at the end: ranOn tells who ran it). */
  waitEnd(id: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
    return this.waitJob(id, (j) => ['completed', 'failed', 'cancelled', 'timeout'].includes(String(j.status)), 'a final status', timeoutMs);
  }

  async submit(docs: Record<string, unknown>[]): Promise<string[]> {
    const r = await call(this.serve.url, 'POST', '/jobs', { token: this.token, body: { jobs: docs } });
    assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
    return (r.body.jobs as { job_id: string }[]).map((j) => j.job_id);
  }

  /** The last log lines of every process (for failure messages). */
  tails(): string {
    const procs: [string, Daemon][] = [['serve', this.serve.daemon], ...[...this.workers].map(([id, w]): [string, Daemon] => [id, w.daemon])];
    return procs.map(([n, d]) => `--- ${n}\n${d.logs.slice(-12).map((l) => JSON.stringify(l).slice(0, 400)).join('\n')}\n${d.stderr.join('').slice(-1000)}`).join('\n');
  }

  /** Reads a job's server-sent events from serve until the server ends the stream; the events' names and data. */
  async sseUntilEnd(id: string, timeoutMs: number): Promise<{ event: string; data: string }[]> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    const out: { event: string; data: string }[] = [];
    try {
      const res = await fetch(`${this.serve.url}/jobs/${id}/events`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${this.token}` }, signal: ctl.signal });
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
}

/** The worker of the job's last attempt. */
export function ranOn(j: Record<string, unknown>): string | undefined {
  return (j.attempts as { worker_id: string }[] | undefined)?.at(-1)?.worker_id;
}

/** The cluster scenario that holds on either backend (call inside the backend's describe, after its before()). */
export function clusterTests(c: () => ClusterRun): void {
  test('50 jobs submitted through the API all complete, spread over both workers; progress reaches serve’s event stream', async () => {
    const k = c();
    const ids = await k.submit(Array.from({ length: 50 }, (_, i) => testJob('test.sleep', { seconds: 0.2 }, { job_id: `spread-${String(i).padStart(2, '0')}` })));
    const watched = k.sseUntilEnd(ids[49]!, 180_000);
    const ran = new Map<string, number>();
    for (const id of ids) {
      const j = await k.waitEnd(id);
      assert.equal(j.status, 'completed', JSON.stringify(j));
      ran.set(String(ranOn(j)), (ran.get(String(ranOn(j))) ?? 0) + 1);
    }
    assert.deepEqual([...ran.keys()].sort(), ['worker-a', 'worker-b'], `jobs per worker: ${JSON.stringify([...ran])}`);
    const events = await watched;
    assert.equal(events.at(-1)?.event, 'status');
    assert.match(events.at(-1)!.data, /"completed"/, 'the stream ends with the final status a worker process recorded');
    // each ran exactly once
    const one = await k.job(ids[0]!);
    assert.equal((one.attempts as { status: string }[]).length, 1, JSON.stringify(one.attempts));
  });

  test('spool jobs dropped on one machine run on either; its result files are whole (the bus leaves result data out: read from the store)', async () => {
    const k = c();
    const spool = k.workers.get('worker-a')!.spool;
    const ids = Array.from({ length: 16 }, (_, i) => `far-job-${String(i).padStart(2, '0')}`);
    for (const id of ids) dropJob(spool, spoolJob(id, 'test.sleep', { seconds: 0.2 }));
    const ranOnB: string[] = [];
    for (const id of ids) {
      const r = await waitForResult(spool, id, 120_000);
      assert.equal(r.status, 'completed', JSON.stringify(r));
      assert.deepEqual(r.data, { slept_ms: 200, attempt: 1 }, `${id}: the result file has its data`);
      if (r.worker_id === 'worker-b') ranOnB.push(id);
    }
    assert.ok(ranOnB.length > 0, 'some ran on the other machine');
  });

  test('a CPU-bound handler longer than the lock is not taken as stalled (locks renew on the main thread)', async () => {
    const k = c();
    // test.spin never yields in its thread; the 6 s timeout ends it: twice the 3 s lock
    const [id] = await k.submit([testJob('test.spin', {}, { job_id: 'spin-job-1', execution: { timeout_seconds: 6, max_attempts: 1 } })]);
    const j = await k.waitJob(id!, (x) => ['completed', 'failed', 'cancelled', 'timeout'].includes(String(x.status)), 'a final status', 120_000);
    assert.equal(j.status, 'timeout', JSON.stringify(j));
    assert.equal((j.attempts as unknown[]).length, 1, `one attempt, never re-delivered: ${JSON.stringify(j.attempts)}`);
  });

  test('kill -9 of the worker running a job: the other worker takes it over and completes it', async () => {
    const k = c();
    const [id] = await k.submit([testJob('test.sleep', { seconds: 4 }, { job_id: 'killed-1', execution: { max_attempts: 3 } })]);
    const running = await k.waitJob(id!, (j) => j.status === 'running' && typeof j.worker_id === 'string', 'running');
    const victim = String(running.worker_id);
    const other = victim === 'worker-a' ? 'worker-b' : 'worker-a';
    await k.workers.get(victim)!.daemon.stop('SIGKILL');
    const done = await k.waitEnd(id!);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(ranOn(done), other);
    const attempts = done.attempts as { status: string; worker_id: string }[];
    assert.equal(attempts.length, 2, JSON.stringify(attempts));
    assert.equal(attempts[0]!.worker_id, victim);
    assert.notEqual(attempts[0]!.status, 'completed', 'the killed attempt is recorded as lost');
    assert.equal(attempts[1]!.status, 'completed');
    await k.startWorker(victim);
  });

  test('kill -9 with max_attempts 1: the job ends WORKER_LOST', async () => {
    const k = c();
    const [id] = await k.submit([testJob('test.sleep', { seconds: 60 }, { job_id: 'killed-2', execution: { max_attempts: 1 } })]);
    const running = await k.waitJob(id!, (j) => j.status === 'running' && typeof j.worker_id === 'string', 'running');
    const victim = String(running.worker_id);
    await k.workers.get(victim)!.daemon.stop('SIGKILL');
    const done = await k.waitEnd(id!);
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.equal(done.error_code, 'WORKER_LOST', JSON.stringify(done));
    await k.startWorker(victim);
  });

  test('cancel over serve’s API of a job running in a worker process: its handler is stopped', async () => {
    const k = c();
    const [id] = await k.submit([testJob('test.sleep', { seconds: 600 }, { job_id: 'cancel-running' })]);
    const running = await k.waitJob(id!, (j) => j.status === 'running' && typeof j.worker_id === 'string', 'running');
    assert.notEqual(running.worker_id, 'api-node');
    // serve's event stream of a job that runs elsewhere: it can only end live, through the pool's bus
    const watched = k.sseUntilEnd(id!, 120_000);
    await sleep(1500); // let the stream attach and a progress tick or two arrive
    const r = await call(k.serve.url, 'POST', `/jobs/${id}/cancel`, { token: k.token });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await k.waitEnd(id!);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal(ranOn(done), running.worker_id);
    const events = await watched;
    assert.ok(events.some((e) => e.event === 'progress'), `progress events in the stream: ${JSON.stringify(events.slice(0, 5))}`);
    assert.equal(events.at(-1)?.event, 'status');
    assert.match(events.at(-1)!.data, /"cancelled"/);
  });

  test('cancel of a job waiting in the shared queue (every slot busy): taken out and ended cancelled', async () => {
    const k = c();
    // 8 slots in all: 8 long jobs fill them, the 9th waits in the queue
    const busy = await k.submit(Array.from({ length: 8 }, (_, i) => testJob('test.sleep', { seconds: 600 }, { job_id: `fill-job-${i}` })));
    for (const id of busy) await k.waitJob(id, (j) => j.status === 'running', 'running');
    const [id] = await k.submit([testJob('test.sleep', { seconds: 1 }, { job_id: 'cancel-waiting' })]);
    assert.equal((await k.job(id!)).status, 'pending');
    const r = await call(k.serve.url, 'POST', `/jobs/${id}/cancel`, { token: k.token });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await k.waitEnd(id!);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal((done.attempts as unknown[] | undefined)?.length ?? 0, 0, 'it never started');
    for (const b of busy) assert.equal((await call(k.serve.url, 'POST', `/jobs/${b}/cancel`, { token: k.token })).status, 202);
    for (const b of busy) assert.equal((await k.waitEnd(b)).status, 'cancelled');
  });
}
