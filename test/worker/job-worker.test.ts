import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobEvents } from '../../src/events/job-events.js';
import { submitJob } from '../../src/intake/submit.js';
import { builtinRegistry } from '../../src/jobs/registry.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { GuestkitError, type JobDocument, type JobResult, type TerminalStatus } from '../../src/protocol/index.js';
import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { StoreUnavailableError, type JobStore } from '../../src/ports/job-store.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { JobWorker } from '../../src/worker/job-worker.js';
import { buildRegistration } from '../../src/worker/registration.js';
import { AttemptAborted, type Attempt, type AttemptOutcome, type AttemptRunner } from '../../src/worker/runner.js';
import { jobDoc } from '../store/contract.js';

// The worker in process, with a scripted runner: no threads, no files, no spawned binary.

type Script = (a: Attempt) => Promise<AttemptOutcome>;

class FakeRunner implements AttemptRunner {
  running = 0;
  maxRunning = 0;
  readonly started: string[] = [];
  constructor(private readonly script: Script) {}
  async run(a: Attempt): Promise<AttemptOutcome> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.started.push(`${a.job.job_id}#${a.attempt}`);
    try {
      return await this.script(a);
    } finally {
      this.running--;
    }
  }
}

const done: Script = async (a) => {
  a.progress({ phase: 'execution', message: 'working' });
  return { kind: 'completed', output: { data: { ok: a.job.job_id } }, bytesRead: 0 };
};

/** Waits for the abort signal (cancel, drain) and answers as the real runner does. */
const blocking: Script = (a) =>
  new Promise((resolve) => a.signal.addEventListener('abort', () => resolve({ kind: 'aborted', reason: (a.signal.reason as AttemptAborted).kind, bytesRead: 0 }), { once: true }));

function setup(script: Script, opts: { maxConcurrent?: number; store?: JobStore } = {}) {
  const store = opts.store ?? SqliteJobStore.open(':memory:');
  const queue = new EmbeddedQueue();
  const events = new JobEvents((e, err) => {
    throw err;
  });
  const registry = builtinRegistry({ testHandlers: true });
  const runner = new FakeRunner(script);
  const registration = () => buildRegistration({ workerId: 'w-test', version: '0', pool: 'default', maxConcurrent: 2, maxDiskSizeGb: 1, registry, registeredAt: new Date() }, 'ready', 0);
  const worker = new JobWorker({
    workerId: 'w-test',
    maxConcurrent: opts.maxConcurrent ?? 2,
    store,
    queue,
    events,
    runner,
    registry,
    logger: createLogger({ level: 'silent', workerId: 'w-test' }),
    metrics: new WorkerMetrics(),
    registration,
    retryBaseMs: 5,
    storeRetryBaseMs: 5,
  });
  const finished = new Map<string, { status: TerminalStatus; result: JobResult }>();
  const waiters: { ids: string[]; resolve: () => void }[] = [];
  events.on('finished', ({ job, status, result }) => {
    finished.set(job.job_id, { status, result });
    for (const w of waiters.filter((x) => x.ids.every((id) => finished.has(id)))) w.resolve();
  });
  const submit = (job: JobDocument, cancel?: string) => submitJob({ store, queue, events }, job, { owner: 'w-test', cancel });
  const until = (ids: string[]) =>
    ids.every((id) => finished.has(id)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ ids, resolve }));
  return { store, queue, events, worker, runner, finished, submit, until };
}

const echo = (id: string, over: Partial<JobDocument['execution']> = {}) => jobDoc(id, { execution: { ...jobDoc(id).execution, ...over } });

test('worker: jobs run by priority, never more than maxConcurrent at once, each recorded once', async () => {
  const t = setup(async (a) => {
    await new Promise((r) => setTimeout(r, 2));
    return done(a);
  });
  const ids = Array.from({ length: 20 }, (_, i) => `p-${String(i).padStart(2, '0')}`);
  for (const [i, id] of ids.entries()) await t.submit(echo(id, { priority: i % 10 }));
  t.worker.start();
  await t.until(ids);
  assert.ok(t.runner.maxRunning <= 2, `at most 2 ran at once (${t.runner.maxRunning})`);
  const priorities = t.runner.started.map((s) => Number(s.slice(2, 4)) % 10);
  assert.deepEqual(priorities, [...priorities].sort((a, b) => b - a), 'highest priority first');
  for (const id of ids) {
    assert.equal(t.finished.get(id)!.status, 'completed');
    assert.deepEqual((await t.store.transitions(id)).map((x) => x.to), ['pending', 'assigned', 'running', 'completed']);
  }
  await t.worker.drain(0);
  await t.store.close();
});

test('worker: retryable failures are retried with back-off and counted; the last attempt completes', async () => {
  const t = setup(async (a) =>
    a.attempt < 3
      ? { kind: 'failed', error: new GuestkitError('EXECUTION_ERROR', `flaky ${a.attempt}`, { recoverable: true, retryRecommended: true }), bytesRead: 0 }
      : done(a),
  );
  const retries: number[] = [];
  const heard: string[] = [];
  t.events.on('retrying', ({ attempt }) => retries.push(attempt));
  t.events.on('started', ({ attempt }) => heard.push(`started ${attempt}`));
  t.events.on('completed', ({ job }) => heard.push(`completed ${job.job_id}`));
  await t.submit(echo('r-flaky-01', { max_attempts: 3 }));
  t.worker.start();
  await t.until(['r-flaky-01']);
  assert.deepEqual(retries, [1, 2]);
  assert.deepEqual(heard, ['started 1', 'started 2', 'started 3', 'completed r-flaky-01']);
  const r = t.finished.get('r-flaky-01')!;
  assert.equal(r.status, 'completed');
  assert.equal(r.result.execution_summary.attempt, 3);
  assert.deepEqual((await t.store.attempts('r-flaky-01')).map((a) => a.status), ['failed', 'failed', 'completed']);
  await t.worker.drain(0);
});

test('worker: a non-retryable failure ends the job at once; an unknown operation and a bad payload are typed', async () => {
  const t = setup(async () => ({ kind: 'failed', error: new GuestkitError('CORRUPT_IMAGE', 'bad qcow2 header'), bytesRead: 512 }));
  await t.submit(echo('f-corrupt-01', { max_attempts: 3 }));
  await t.submit(jobDoc('f-unknown-01', { operation: 'guestkit.nope', payload: { type: 'guestkit.nope.v1', data: {} } }));
  await t.submit(jobDoc('f-payload-01', { operation: 'test.sleep', payload: { type: 'test.sleep.v1', data: { seconds: 'soon' } } }));
  t.worker.start();
  await t.until(['f-corrupt-01', 'f-unknown-01', 'f-payload-01']);
  const corrupt = t.finished.get('f-corrupt-01')!.result;
  assert.equal(corrupt.error?.code, 'CORRUPT_IMAGE');
  assert.equal(corrupt.metrics?.disk_read_bytes, 512);
  assert.equal(t.finished.get('f-unknown-01')!.result.error?.code, 'UNSUPPORTED_OPERATION');
  const bad = t.finished.get('f-payload-01')!.result.error!;
  assert.equal(bad.code, 'VALIDATION_ERROR');
  assert.match(bad.message, /payload\.data\.seconds/);
  assert.deepEqual(t.runner.started, ['f-corrupt-01#1'], 'only the valid job reached the runner');
  await t.worker.drain(0);
});

test('worker: cancel ends a waiting job without running it and stops a running one; non-cancellable jobs refuse', async () => {
  const t = setup(blocking, { maxConcurrent: 1 });
  await t.submit(echo('c-run-01'));
  await t.submit(echo('c-wait-01'));
  await t.submit(echo('c-keep-01', { cancellable: false }));
  t.worker.start();
  while (t.runner.running === 0) await new Promise((r) => setImmediate(r));
  assert.equal(t.worker.cancel('c-keep-01', 'no'), 'refused');
  assert.equal(t.worker.cancel('c-wait-01', 'not needed'), 'cancelled');
  await t.until(['c-wait-01']);
  assert.equal(t.finished.get('c-wait-01')!.result.error?.code, 'CANCELLED');
  assert.equal(t.worker.cancel('c-run-01', 'stop'), 'cancelling');
  await t.until(['c-run-01']);
  assert.equal(t.finished.get('c-run-01')!.status, 'cancelled');
  while (t.runner.running === 0) await new Promise((r) => setImmediate(r));
  assert.deepEqual(t.runner.started, ['c-run-01#1', 'c-keep-01#1'], 'the refused cancel left the job to run');
  assert.equal(t.worker.cancel('c-none-01', 'x'), 'unknown');
  await t.worker.drain(0);
});

test('worker: drain gives waiting jobs back and interrupts running ones without counting their attempt', async () => {
  const t = setup(blocking, { maxConcurrent: 1 });
  const released: string[] = [];
  t.events.on('released', ({ job }) => released.push(job.job_id));
  await t.submit(echo('d-run-01'));
  await t.submit(echo('d-wait-01'));
  t.worker.start();
  while (t.runner.running === 0) await new Promise((r) => setImmediate(r));
  await t.worker.drain(10);
  assert.deepEqual(released.sort(), ['d-run-01', 'd-wait-01']);
  const run = (await t.store.get('d-run-01'))!;
  assert.equal(run.status, 'pending');
  assert.equal(run.attempt, 0, 'the interrupted attempt is refunded');
  assert.equal(run.workerId, null);
  assert.equal((await t.store.get('d-wait-01'))!.workerId, null, 'free for any worker');
  assert.equal(t.finished.size, 0);
});

test('worker: a store outage while starting keeps the job; it runs once the store answers, as attempt 1', async () => {
  // a thread handler: it runs only once its start is durable (inline ones run ahead: next test)
  const real = SqliteJobStore.open(':memory:');
  let failBegins = 2;
  let failProbes = 1;
  // the real store, with its begin and probe failing the way an unreachable store does
  const flaky = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'begin' && failBegins > 0) return () => (failBegins--, Promise.reject(new StoreUnavailableError('begin', 'SQLITE_BUSY', new Error('database is locked'))));
      if (prop === 'probe' && failProbes > 0) return () => (failProbes--, Promise.reject(new StoreUnavailableError('probe', 'SQLITE_BUSY', new Error('database is locked'))));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as JobStore;
  const t = setup(done, { store: flaky });
  await t.submit(jobDoc('s-out-01', { operation: 'test.sleep', payload: { type: 'test.sleep.v1', data: { seconds: 0 } } }));
  t.worker.start();
  await t.until(['s-out-01']);
  assert.equal(failBegins, 0);
  assert.equal(failProbes, 0, 'the worker probed the store before resuming');
  assert.equal(t.finished.get('s-out-01')!.result.execution_summary.attempt, 1);
  assert.deepEqual(t.runner.started, ['s-out-01#1'], 'run once');
  assert.equal(t.worker.storeAvailable, true);
  await t.worker.drain(0);
});

test('worker: inline jobs run ahead of their recorded start; a start the store did not take drops the run, nothing of it is published', async () => {
  const real = SqliteJobStore.open(':memory:');
  let failBegins = 2;
  const flaky = new Proxy(real, {
    get(target, prop, receiver) {
      // the start and end of an inline run are recorded in one step (beginAndEnd)
      if ((prop === 'begin' || prop === 'beginAndEnd') && failBegins > 0) return () => (failBegins--, Promise.reject(new StoreUnavailableError(String(prop), 'SQLITE_BUSY', new Error('database is locked'))));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as JobStore;
  const t = setup(done, { store: flaky });
  const progress: string[] = [];
  t.events.on('progress', ({ event }) => progress.push(`${event.job_id}:${event.sequence}:${event.message}`));
  await t.submit(echo('s-in-01'));
  t.worker.start();
  await t.until(['s-in-01']);
  assert.equal(failBegins, 0);
  const fin = t.finished.get('s-in-01')!;
  assert.equal(fin.status, 'completed');
  assert.equal(fin.result.execution_summary.attempt, 1);
  assert.deepEqual((await real.transitions('s-in-01')).map((x) => x.to), ['pending', 'assigned', 'running', 'completed'], 'one recorded attempt');
  // the dropped runs' progress never reached listeners or the store: one run's lines, numbered from 0
  const stored = (await real.events('s-in-01')).map((e) => `${e.job_id}:${e.sequence}:${e.message}`);
  assert.deepEqual(progress, stored);
  assert.deepEqual(stored.map((l) => l.split(':')[1]), stored.map((_, i) => String(i)));
  assert.equal(stored.filter((l) => l.endsWith(':working')).length, 1);
  assert.equal((await real.attempts('s-in-01')).length, 1);
  await t.worker.drain(0);
});

test('worker: a burst of inline jobs: each recorded once with its start, events and end, never more than maxConcurrent handlers at once', async () => {
  const t = setup(async (a) => {
    a.progress({ phase: 'execution', message: 'working' });
    await Promise.resolve();
    return { kind: 'completed', output: { data: { ok: a.job.job_id } }, bytesRead: 0 };
  });
  const ids = Array.from({ length: 300 }, (_, i) => `b-${String(i).padStart(3, '0')}`);
  await Promise.all(ids.map((id) => t.submit(echo(id))));
  t.worker.start();
  await t.until(ids);
  assert.ok(t.runner.maxRunning <= 2, `at most 2 handlers at once (${t.runner.maxRunning})`);
  assert.equal(t.runner.started.length, 300, 'each ran once');
  for (const id of ids) {
    assert.equal(t.finished.get(id)!.status, 'completed');
    assert.deepEqual((await t.store.transitions(id)).map((x) => x.to), ['pending', 'assigned', 'running', 'completed']);
    assert.deepEqual((await t.store.events(id)).map((e) => e.sequence), [0, 1], id);
    assert.deepEqual((await t.store.result(id))?.data, { ok: id });
  }
  await t.worker.drain(0);
});

test('worker: an idempotency key returns the first result to the second job without running it', async () => {
  const t = setup(done);
  const idem = (id: string) => echo(id, { idempotency_key: 'same-key' });
  await t.submit(idem('i-first-01'));
  t.worker.start();
  await t.until(['i-first-01']);
  await t.submit(idem('i-second-01'));
  await t.until(['i-second-01']);
  const second = t.finished.get('i-second-01')!.result as JobResult & { idempotent_replay?: { original_job_id: string } };
  assert.equal(second.status, 'completed');
  assert.equal(second.idempotent_replay?.original_job_id, 'i-first-01');
  assert.deepEqual(second.data, { ok: 'i-first-01' });
  assert.deepEqual(t.runner.started, ['i-first-01#1']);
  await t.worker.drain(0);
});

test('worker: a cancel submitted with its job ends it cancelled without running, even with a slot free; a non-cancellable job ignores it', async () => {
  const t = setup(done);
  t.worker.start();
  await t.submit(echo('e-cancel-01'), 'arrived with its cancel');
  await t.submit(echo('e-keep-01', { cancellable: false }), 'ignored');
  await t.until(['e-cancel-01', 'e-keep-01']);
  const r = t.finished.get('e-cancel-01')!.result;
  assert.equal(r.status, 'cancelled');
  assert.equal(r.error?.message, 'arrived with its cancel');
  assert.equal(t.finished.get('e-keep-01')!.status, 'completed');
  assert.deepEqual(t.runner.started, ['e-keep-01#1']);
  await t.worker.drain(0);
});
