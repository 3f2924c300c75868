import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dependencyVerdict, checkParents } from '../../src/placement/dependencies.js';
import { placeJob } from '../../src/placement/placement.js';
import type { JobRecord, WorkerRecord } from '../../src/ports/job-store.js';
import type { JobDocument, WorkerRegistration } from '../../src/protocol/index.js';
import { jobDoc } from '../store/contract.js';

const NOW = 1_800_000_000_000;

function worker(id: string, o: { pool?: string; features?: string[]; ops?: string[]; load?: number; state?: string; beatAgoS?: number; runsJobs?: boolean } = {}): WorkerRecord {
  const registration = {
    worker_id: id,
    version: '0.1.0',
    hostname: 'h',
    registered_at: '2026-01-30T16:00:00Z',
    capabilities: { operations: o.ops ?? ['system.echo', 'guestkit.inspect'], features: o.features ?? [], disk_formats: [], filesystems: [], tags: [] },
    resources: { max_concurrent_jobs: 4, max_disk_size_gb: 100 },
    configuration: { privileged: false, worker_pool: o.pool ?? 'default', heartbeat_seconds: 2, ...(o.runsJobs === false ? { runs_jobs: false } : {}) },
    status: { state: 'ready', current_jobs: 0, last_heartbeat: '2026-01-30T16:00:00Z' },
  } as unknown as WorkerRegistration;
  return { workerId: id, registration, state: o.state ?? 'ready', currentJobs: o.load ?? 0, registeredAt: NOW - 60_000, lastHeartbeat: NOW - (o.beatAgoS ?? 1) * 1000 };
}

const job = (id: string, over: Record<string, unknown> = {}) => jobDoc(id, over as Partial<JobDocument>);

test('placement: a pool where every live worker can run the job gets it on the pool queue', () => {
  const p = placeJob(job('job-00001'), [worker('w1'), worker('w2')], NOW, 'default');
  assert.deepEqual(p, { kind: 'queue', target: { pool: 'default' } });
});

test('placement: only some of the pool can run it: the least loaded of those, on its own queue', () => {
  const ws = [worker('w1', { features: ['gpu'], load: 3 }), worker('w2'), worker('w3', { features: ['gpu'], load: 1 })];
  const p = placeJob(job('job-00002', { constraints: { required_features: ['gpu'] } }), ws, NOW, 'default');
  assert.deepEqual(p, { kind: 'queue', target: { pool: 'default', workerId: 'w3' } });
});

test('placement: dead, offline, draining and API-only nodes do not count', () => {
  const ws = [worker('dead', { beatAgoS: 11 }), worker('off', { state: 'offline' }), worker('drain', { state: 'draining' }), worker('api', { runsJobs: false })];
  const p = placeJob(job('job-00003'), ws, NOW, 'default');
  assert.equal(p.kind, 'refuse');
  assert.equal(p.kind === 'refuse' && p.error.code, 'CAPABILITY_MISMATCH');
  assert.match(p.kind === 'refuse' ? p.error.message : '', /no live worker is registered/);
  // within five heartbeats (2 s each) a worker is live
  assert.equal(placeJob(job('job-00004'), [worker('w', { beatAgoS: 9 })], NOW, 'default').kind, 'queue');
});

test('placement: routing names a pool, a worker, or allowed pools; each unmet rule is listed once with its count', () => {
  const ws = [worker('a1', { pool: 'a' }), worker('b1', { pool: 'b' }), worker('b2', { pool: 'b' })];
  assert.deepEqual(placeJob(job('job-00005', { routing: { worker_pool: 'b' } }), ws, NOW, 'a'), { kind: 'queue', target: { pool: 'b' } });
  assert.deepEqual(placeJob(job('job-00006', { routing: { worker_id: 'b2' } }), ws, NOW, 'a'), { kind: 'queue', target: { pool: 'b', workerId: 'b2' } });
  assert.deepEqual(placeJob(job('job-00007', { constraints: { allowed_worker_pools: ['b'] } }), ws, NOW, 'a'), { kind: 'queue', target: { pool: 'b' } });
  assert.deepEqual(placeJob(job('job-00008'), ws, NOW, 'a'), { kind: 'queue', target: { pool: 'a' } }, 'our own pool first');
  const p = placeJob(job('job-00009', { operation: 'guestkit.fix', payload: { type: 'guestkit.fix.v1', data: {} } }), ws, NOW, 'a');
  assert.equal(p.kind, 'refuse');
  assert.match(p.kind === 'refuse' ? p.error.message : '', /none of the 3 live worker\(s\) can run it: worker does not support operation "guestkit.fix" \(3 workers\)/);
  const pinned = placeJob(job('job-00010', { routing: { worker_id: 'gone' } }), ws, NOW, 'a');
  assert.match(pinned.kind === 'refuse' ? pinned.error.message : '', /pinned to worker "gone"/);
});

test('placement: a job that asks to wait for capacity is held, with the reason', () => {
  const p = placeJob(job('job-00011', { constraints: { required_features: ['gpu'] }, routing: { wait_for_capacity: true } }), [worker('w1')], NOW, 'default');
  assert.equal(p.kind, 'hold');
  assert.match(p.kind === 'hold' ? p.reason : '', /^waiting for capacity: none of the 1 live worker\(s\) can run it: worker lacks features "gpu"/);
});

function rec(id: string, status: JobRecord['status'], ns?: string): JobRecord {
  return { job: job(id, ns ? { metadata: { namespace: ns } } : {}), status, attempt: 1, maxAttempts: 1, workerId: null, source: null, queuedAt: NOW, startedAt: null, finishedAt: null, nextAttemptAt: null, errorCode: status === 'failed' ? 'EXECUTION_ERROR' : null, updatedAt: NOW, hold: null };
}

const child = (deps: string[], extra: Record<string, unknown> = {}) => job('child-001', { execution: { priority: 5, timeout_seconds: 60, max_attempts: 1, attempt: 1, cancellable: true, depends_on: deps, ...extra } });

test('dependencies: wait while a parent is not final; ready once all completed', () => {
  const parents = new Map([['p-000001', rec('p-000001', 'completed')], ['p-000002', rec('p-000002', 'running')]]);
  const v = dependencyVerdict(child(['p-000001', 'p-000002']), parents);
  assert.deepEqual(v, { kind: 'wait', waitingOn: ['p-000002'], reason: 'waiting for 1 parent job(s): p-000002' });
  parents.set('p-000002', rec('p-000002', 'completed'));
  assert.deepEqual(dependencyVerdict(child(['p-000001', 'p-000002']), parents), { kind: 'ready' });
});

test('dependencies: a failed, cancelled or removed parent fails the child (DEPENDENCY_FAILED) unless it continues', () => {
  for (const status of ['failed', 'cancelled', 'timeout'] as const) {
    const v = dependencyVerdict(child(['p-000001']), new Map([['p-000001', rec('p-000001', status)]]));
    assert.equal(v.kind, 'failed');
    assert.equal(v.kind === 'failed' && v.error.code, 'DEPENDENCY_FAILED');
    assert.deepEqual(v.kind === 'failed' && v.error.details, { parent_job_id: 'p-000001', parent_status: status });
    assert.deepEqual(dependencyVerdict(child(['p-000001'], { on_dependency_failure: 'continue' }), new Map([['p-000001', rec('p-000001', status)]])), { kind: 'ready' });
  }
  const gone = dependencyVerdict(child(['p-000009']), new Map([['p-000009', undefined]]));
  assert.match(gone.kind === 'failed' ? gone.error.message : '', /parent job p-000009 is no longer in the store/);
});

test('dependencies: parents must exist in the child’s namespace', () => {
  const parents = new Map([['p-000001', rec('p-000001', 'completed', 'team-b')], ['p-000002', undefined]]);
  const err = checkParents(child(['p-000001', 'p-000002']), parents);
  assert.equal(err?.code, 'VALIDATION_ERROR');
  assert.deepEqual(err?.details?.unknown_parents, ['p-000001', 'p-000002']);
  assert.equal(checkParents(child(['p-000001']), new Map([['p-000001', rec('p-000001', 'running')]])), undefined);
});

test('hold scheduler: the jobs waiting in a dead worker’s own queue are placed again, once per death; a job pinned to it goes back to its queue', async () => {
  const { HoldScheduler } = await import('../../src/placement/hold-scheduler.js');
  const { createLogger } = await import('../../src/observability/logger.js');
  const workers = [worker('w-dead', { beatAgoS: 60 }), worker('w-live', { load: 1 }), worker('w-live2', { features: ['gpu'] })];
  const enqueued: { id: string; target: unknown }[] = [];
  const taken: string[] = [];
  const store = { workers: async () => workers, heldJobs: async () => [] } as unknown as ConstructorParameters<typeof HoldScheduler>[0]['store'];
  const queue = { enqueue: (e: { job: JobDocument; target?: unknown }) => (enqueued.push({ id: e.job.job_id, target: e.target }), true) } as unknown as ConstructorParameters<typeof HoldScheduler>[0]['queue'];
  const h = new HoldScheduler({
    store,
    queue,
    logger: createLogger({ level: 'silent', workerId: 'me' }),
    pool: 'default',
    workerId: 'me',
    shared: true,
    now: () => NOW,
    endUnstarted: () => assert.fail('nothing ends here'),
    reclaim: async (id) => {
      taken.push(id);
      return id === 'w-dead' ? [{ job: job('job-r0001') }, { job: job('job-r0002', { constraints: { required_features: ['gpu'] } }) }, { job: job('job-r0003', { routing: { worker_id: 'w-dead' } }) }] : [];
    },
  });
  await h.sweep();
  await h.sweep();
  assert.deepEqual(taken, ['w-dead'], 'once per death: live workers are never emptied');
  assert.deepEqual(enqueued, [
    { id: 'job-r0001', target: { pool: 'default' } },
    { id: 'job-r0002', target: { pool: 'default', workerId: 'w-live2' } },
    { id: 'job-r0003', target: { workerId: 'w-dead' } },
  ]);
});

test('hold scheduler: each sweep goes on where the last stopped, so jobs that wait long never keep a newer one from its worker', async () => {
  const { HoldScheduler } = await import('../../src/placement/hold-scheduler.js');
  const { createLogger } = await import('../../src/observability/logger.js');
  // five jobs held for capacity, oldest first: four need a feature no worker has, the newest can run now
  const held: JobRecord[] = Array.from({ length: 5 }, (_, i) => {
    const needs = i < 4 ? { constraints: { required_features: ['fpga'] } } : {};
    return { ...rec(`job-h000${i}`, 'pending'), job: job(`job-h000${i}`, { ...needs, routing: { wait_for_capacity: true } }), queuedAt: NOW - 1000 + i, hold: { kind: 'capacity', reason: 'no worker' } };
  });
  const pages: string[][] = [];
  const store = {
    workers: async () => [worker('w1')],
    heldJobs: async (limit: number, after?: { queuedAt: number; jobId: string }) => {
      const page = held.filter((r) => !after || r.queuedAt > after.queuedAt || (r.queuedAt === after.queuedAt && r.job.job_id > after.jobId)).slice(0, limit);
      pages.push(page.map((r) => r.job.job_id.slice(-1)));
      return page;
    },
    swapHold: async () => true,
  } as unknown as ConstructorParameters<typeof HoldScheduler>[0]['store'];
  const enqueued: string[] = [];
  const queue = { enqueue: (e: { job: JobDocument }) => (enqueued.push(e.job.job_id), true) } as unknown as ConstructorParameters<typeof HoldScheduler>[0]['queue'];
  const h = new HoldScheduler({ store, queue, logger: createLogger({ level: 'silent', workerId: 'w1' }), pool: 'default', workerId: 'w1', shared: false, now: () => NOW, sweepLimit: 2, endUnstarted: () => assert.fail('nothing ends here') });
  await h.sweep();
  assert.deepEqual(enqueued, [], 'the first page holds only jobs nobody can run');
  await h.sweep();
  await h.sweep();
  assert.deepEqual(enqueued, ['job-h0004'], 'the third sweep reached the newest job');
  await h.sweep();
  assert.deepEqual(pages, [['0', '1'], ['2', '3'], ['4'], ['0', '1']], 'then from the oldest again');
});
