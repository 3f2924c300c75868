import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { context } from '@opentelemetry/api';
import { JobEvents } from '../../src/events/job-events.js';
import { submitJob } from '../../src/intake/submit.js';
import { builtinRegistry } from '../../src/jobs/registry.js';
import type { ProgressUpdate } from '../../src/jobs/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { startSpan } from '../../src/observability/tracing.js';
import type { JobDocument, JobResult } from '../../src/protocol/index.js';
import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { JobWorker } from '../../src/worker/job-worker.js';
import { PathPolicy } from '../../src/worker/path-policy.js';
import { buildRegistration } from '../../src/worker/registration.js';
import { AttemptAborted, JobRunner, type AttemptOutcome } from '../../src/worker/runner.js';
import { ThreadPool } from '../../src/worker/thread-pool.js';
import { jobDoc } from '../store/contract.js';

// The real runner and pool threads, in process: what every result's metrics hold.

process.env.GUESTKIT_TEST_HANDLERS = '1'; // pool threads read it when they start
const registry = builtinRegistry({ testHandlers: true });
const threads = new ThreadPool({ maxThreads: 2 });
const runner = new JobRunner({ workerId: 'w-usage', threads, pathPolicy: new PathPolicy([]) });
after(() => threads.destroy());

const USAGE_KEYS = ['cpu_seconds', 'disk_read_bytes', 'image_bytes', 'peak_memory_mb', 'wall_seconds'];
const TICK = 0.01; // the thread clock may lag a scheduler tick at each reading

const doc = (id: string, operation: string, data: JobDocument['payload']['data'], execution: Partial<JobDocument['execution']> = {}) =>
  jobDoc(id, { operation, payload: { type: `${operation}.v1`, data }, execution: { ...jobDoc(id).execution, ...execution } });

/** One job through a worker with the real runner; its recorded result. */
async function throughWorker(job: JobDocument): Promise<JobResult> {
  const store = SqliteJobStore.open(':memory:');
  const queue = new EmbeddedQueue();
  const events = new JobEvents((_e, err) => {
    throw err;
  });
  const worker = new JobWorker({
    workerId: 'w-usage',
    maxConcurrent: 1,
    store,
    queue,
    events,
    runner,
    registry,
    logger: createLogger({ level: 'silent', workerId: 'w-usage' }),
    metrics: new WorkerMetrics(),
    registration: () => buildRegistration({ workerId: 'w-usage', version: '0', pool: 'default', maxConcurrent: 1, maxDiskSizeGb: 1, registry, registeredAt: new Date() }, 'ready', 0),
  });
  const done = new Promise<void>((resolve) => events.on('finished', () => resolve()));
  await submitJob({ store, queue, events }, job, { owner: 'w-usage' });
  worker.start();
  await done;
  await worker.drain(0);
  const result = (await store.result(job.job_id))!;
  await store.close();
  return result;
}

/** One attempt straight through the runner, aborted when `abortWhen` says so. */
async function attempt(job: JobDocument, abortWhen?: (u: ProgressUpdate, abort: () => void) => void): Promise<AttemptOutcome> {
  const handler = registry.get(job.operation)!;
  const prepared = handler.prepare(job.payload.data);
  assert.ok(prepared.ok);
  const ctl = new AbortController();
  return runner.run({
    job,
    attempt: 1,
    handler,
    prepared: prepared.job,
    signal: ctl.signal,
    timeoutMs: 60_000,
    span: startSpan('test', context.active()),
    progress: (u) => abortWhen?.(u, () => ctl.abort(new AttemptAborted('cancel', 'test cancel'))),
  });
}

const metricsOf = (r: JobResult) => r.metrics as Record<string, number>;

test('usage: an echo job (inline) carries every figure; no image, no memory of its own', async () => {
  const m = metricsOf(await throughWorker(doc('u-echo-01', 'system.echo', { hello: 'world' })));
  assert.deepEqual(Object.keys(m).sort(), USAGE_KEYS);
  assert.equal(m.disk_read_bytes, 0);
  assert.equal(m.image_bytes, 0);
  assert.equal(m.peak_memory_mb, 0);
  assert.ok(m.wall_seconds! > 0, `wall ${m.wall_seconds}`);
  assert.ok(m.cpu_seconds! >= 0 && m.cpu_seconds! <= m.wall_seconds!, `cpu ${m.cpu_seconds} within wall ${m.wall_seconds}`);
});

test('usage: a thread job reports the image size, the bytes read (checksum and handler), its CPU and memory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-usage-'));
  const img = join(dir, 'disk.img');
  const bytes = Buffer.alloc(256 * 1024, 7);
  writeFileSync(img, bytes);
  const sum = createHash('sha256').update(bytes).digest('hex');
  const m = metricsOf(await throughWorker(doc('u-image-01', 'test.image', { image: { path: img, checksum: `sha256:${sum}` } })));
  assert.deepEqual(Object.keys(m).sort(), USAGE_KEYS);
  assert.equal(m.image_bytes, 256 * 1024);
  assert.equal(m.disk_read_bytes, 256 * 1024 + 512, 'the checksum read the image, the handler one sector');
  assert.ok(m.peak_memory_mb! > 0);
  assert.ok(m.cpu_seconds! >= 0 && m.cpu_seconds! <= m.wall_seconds! + TICK);
});

test('usage: CPU and peak memory of a thread that allocates 96 MiB', async () => {
  const out = await attempt(doc('u-alloc-01', 'test.alloc', { mb: 96 }));
  assert.equal(out.kind, 'completed');
  const u = out.usage!;
  assert.ok(u.peak_memory_mb >= 96, `peak ${u.peak_memory_mb} MiB`);
  assert.ok(u.cpu_seconds > 0, 'filling 96 MiB takes CPU time');
  assert.ok(u.cpu_seconds <= u.wall_seconds + TICK, `cpu ${u.cpu_seconds} within wall ${u.wall_seconds}`);
  assert.deepEqual(out.kind === 'completed' && Object.keys(out.output.metrics!).sort(), ['cpu_seconds', 'image_bytes', 'peak_memory_mb', 'wall_seconds']);
});

test('usage: a thread stuck in a loop is stopped, and the CPU it burnt is still counted', async () => {
  let spinning = 0;
  const out = await attempt(doc('u-spin-01', 'test.spin', {}), (u, abort) => {
    // the handler reports once, then never yields: stop it after ~100 ms of spinning
    if (u.message === 'spinning forever') spinning = setTimeout(abort, 100) as unknown as number;
  });
  assert.ok(spinning, 'the handler started spinning');
  assert.equal(out.kind, 'aborted');
  const u = out.usage!;
  assert.ok(u.cpu_seconds > 0, 'read from the thread clock before the thread was terminated');
  assert.ok(u.cpu_seconds <= u.wall_seconds + TICK, `cpu ${u.cpu_seconds} within wall ${u.wall_seconds}`);
});

test('usage: a failed attempt reports its figures too', async () => {
  const out = await attempt(doc('u-crash-01', 'test.crash', { mode: 'throw' }));
  assert.equal(out.kind, 'failed');
  assert.deepEqual(Object.keys(out.usage!).sort(), ['cpu_seconds', 'image_bytes', 'peak_memory_mb', 'wall_seconds']);
  assert.ok(out.usage!.peak_memory_mb > 0);
});
