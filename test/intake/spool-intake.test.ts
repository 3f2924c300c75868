import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobEvents, partialFinished } from '../../src/events/job-events.js';
import type { IntakeSink, SubmitOptions } from '../../src/ports/intake.js';
import { SpoolIntake } from '../../src/intake/spool/spool-intake.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { completedResult, type JobDocument, type JobResult } from '../../src/protocol/index.js';
import { StoreUnavailableError, type SubmitOutcome } from '../../src/ports/job-store.js';
import { jobDoc } from '../store/contract.js';

// The spool intake in process, with a fake pipeline behind it: what it claims, submits,
// refuses, gives back and writes, with no worker and no store.

interface Submitted {
  job: JobDocument;
  opts: SubmitOptions;
}

function setup(answer: (job: JobDocument) => Promise<SubmitOutcome>) {
  const root = mkdtempSync(join(tmpdir(), 'gk-intake-'));
  const jobs = join(root, 'jobs');
  const results = join(root, 'results');
  mkdirSync(jobs, { recursive: true });
  const events = new JobEvents();
  const submitted: Submitted[] = [];
  /** Results as the shared store keeps them (what a partial `finished` from another process is completed from). */
  const stored = new Map<string, JobResult>();
  const sink: IntakeSink = {
    workerId: 'w-in',
    events,
    submit: async (job, opts = {}) => {
      submitted.push({ job, opts });
      return answer(job);
    },
    cancel: () => 'unknown',
    cancelHeld: async () => false,
    knows: () => false,
    routedHere: () => ({ ok: true }),
    accepting: true,
    queued: 0,
    recentRate: 0,
    recover: async () => ({ action: 'release' }),
    failOrphans: async () => [],
    isWorkerDead: async () => false,
    livePeers: async () => 0,
    result: async (id) => stored.get(id),
  };
  const spool = new SpoolIntake({ jobsDir: jobs, resultsDir: results, sink, logger: createLogger({ level: 'silent', workerId: 'w-in' }), metrics: new WorkerMetrics(), pollIntervalMs: 20, settleMs: 50 });
  const drop = (name: string, text: string) => writeFileSync(join(jobs, name), text);
  return { root, jobs, results, events, submitted, spool, drop, stored };
}

const accepted = async (job: JobDocument): Promise<SubmitOutcome> => ({ kind: 'accepted', state: { jobId: job.job_id, status: 'pending', attempt: 0, workerId: 'w-in', source: null }, resumed: false });

async function until(pred: () => boolean, what: string, steps = 500): Promise<void> {
  for (let i = 0; i < steps; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${what} not reached`);
}

test('spool intake: a job that ended in another process (a partial result on the bus) gets its whole result file from the store', async () => {
  const t = setup(accepted);
  await t.spool.start();
  try {
    t.drop('far.json', JSON.stringify(jobDoc('in-far-01')));
    await until(() => t.submitted.length === 1, 'submitted');
    const job = t.submitted[0]!.job;
    const whole = completedResult({ job, workerId: 'w-other', startedAt: new Date(), data: { packages: ['a', 'b'] } });
    t.stored.set(job.job_id, whole);
    const heard = partialFinished({ job, status: 'completed', result: whole });
    assert.equal(heard.partial, true);
    assert.equal(heard.result.data, undefined, 'the bus leaves the data out');
    t.events.emit('finished', heard);
    const file = join(t.results, 'in-far-01-result.json');
    await until(() => existsSync(file), 'result written');
    const written = JSON.parse(readFileSync(file, 'utf8')) as JobResult;
    assert.deepEqual(written.data, { packages: ['a', 'b'] });
    assert.equal(written.worker_id, 'w-other');
    assert.deepEqual(readdirSync(join(t.jobs, 'done')), ['far.json']);
  } finally {
    t.spool.stop();
    await t.spool.close();
  }
});

test('spool intake: a job file is claimed, submitted once with its source and owner; its events and result are written when the pipeline says so', async () => {
  const t = setup(accepted);
  await t.spool.start();
  try {
    t.drop('a.json', JSON.stringify(jobDoc('in-ok-01')));
    await until(() => t.submitted.length === 1, 'submitted');
    assert.deepEqual(t.submitted[0]!.opts, { source: 'a.json', owner: 'w-in' });
    assert.deepEqual(readdirSync(join(t.jobs, 'claimed', 'w-in')), ['a.json']);
    const job = t.submitted[0]!.job;
    t.events.emit('progress', { job, event: { job_id: job.job_id, sequence: 0, timestamp: '2026-01-30T16:00:00Z', phase: 'validation', message: 'm' } });
    const result = completedResult({ job, workerId: 'w-in', startedAt: new Date(), data: { echo: 1 } });
    t.events.emit('finished', { job, status: 'completed', result });
    const file = join(t.results, 'in-ok-01-result.json');
    await until(() => existsSync(file), 'result written');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).data, { echo: 1 });
    assert.equal(readFileSync(join(t.results, 'in-ok-01-events.jsonl'), 'utf8').trim().split('\n').length, 1);
    assert.deepEqual(readdirSync(join(t.jobs, 'done')), ['a.json']);
    assert.equal(t.submitted.length, 1, 'never submitted twice');
  } finally {
    t.spool.stop();
    await t.spool.close();
  }
});

test('spool intake: a file that is not a job is refused with a typed result and never submitted', async () => {
  const t = setup(accepted);
  await t.spool.start();
  try {
    t.drop('broken.json', '{"job_id": ');
    t.drop('invalid.json', JSON.stringify({ job_id: 'in-bad-01', version: '1.0' }));
    await until(() => existsSync(join(t.results, 'broken-result.json')) && existsSync(join(t.results, 'in-bad-01-result.json')), 'refusals written');
    assert.equal(JSON.parse(readFileSync(join(t.results, 'broken-result.json'), 'utf8')).error.code, 'VALIDATION_ERROR');
    const invalid = JSON.parse(readFileSync(join(t.results, 'in-bad-01-result.json'), 'utf8'));
    assert.equal(invalid.error.code, 'VALIDATION_ERROR');
    assert.ok(invalid.error.details.errors.length > 0, 'every problem listed');
    assert.deepEqual(readdirSync(join(t.jobs, 'failed')).sort(), ['broken.json', 'invalid.json']);
    assert.equal(t.submitted.length, 0);
  } finally {
    t.spool.stop();
    await t.spool.close();
  }
});

test('spool intake: a submit the store cannot take puts the file back; a duplicate is archived; a released job goes back', async () => {
  let storeDown = true;
  const t = setup(async (job) => {
    if (job.job_id === 'in-dup-01') return { kind: 'duplicate', state: { jobId: job.job_id, status: 'completed', attempt: 1, workerId: null, source: null } };
    if (storeDown) throw new StoreUnavailableError('submit', 'SQLITE_BUSY', new Error('database is locked'));
    return accepted(job);
  });
  await t.spool.start();
  try {
    t.drop('down.json', JSON.stringify(jobDoc('in-down-01')));
    t.drop('dup.json', JSON.stringify(jobDoc('in-dup-01')));
    await until(() => t.submitted.some((s) => s.job.job_id === 'in-down-01') && existsSync(join(t.jobs, 'down.json')), 'given back');
    await until(() => existsSync(join(t.jobs, 'failed', 'dup.json.duplicate')), 'duplicate archived');
    assert.ok(!existsSync(join(t.results, 'in-dup-01-result.json')), 'a duplicate never writes a result');
    storeDown = false;
    await until(() => readdirSync(join(t.jobs, 'claimed', 'w-in')).includes('down.json'), 'accepted on a later scan');
    const job = t.submitted.at(-1)!.job;
    t.events.emit('released', { job, reason: 'drain' });
    await until(() => existsSync(join(t.jobs, 'down.json')), 'released back to jobs/');
  } finally {
    t.spool.stop();
    await t.spool.close();
  }
});
