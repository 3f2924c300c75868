import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GuestkitError,
  JOB_STATUSES,
  JobResultSchema,
  ProgressEventSchema,
  ProgressSequence,
  cancelledResult,
  completedResult,
  failedResult,
  isRetryableStatus,
  isTerminal,
  parseJobText,
  timeoutResult,
} from '../../src/protocol/index.js';
import { minimalJob } from './helpers.js';

function jobDoc() {
  const d = minimalJob();
  d.execution = { idempotency_key: 'idem-1', attempt: 2, max_attempts: 3, timeout_seconds: 60 };
  d.observability = { trace_id: 'trace-1', span_id: 'span-1' };
  return parseJobText(JSON.stringify(d));
}

const started = '2026-01-30T10:00:00Z';
const finished = '2026-01-30T10:00:02.500Z';

test('status enum and isTerminal', () => {
  assert.deepEqual([...JOB_STATUSES], ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled', 'timeout']);
  assert.deepEqual(JOB_STATUSES.filter(isTerminal), ['completed', 'failed', 'cancelled', 'timeout']);
  assert.deepEqual(JOB_STATUSES.filter(isRetryableStatus), ['failed', 'timeout']);
});

test('completed result carries summary, outputs, metrics, data and trace', () => {
  const r = completedResult({
    job: jobDoc(),
    workerId: 'worker-1',
    startedAt: started,
    finishedAt: finished,
    outputs: { primary: '/out/a.json', artifacts: ['/out/b.log'] },
    metrics: { disk_read_bytes: 4096, peak_memory_mb: 50, cpu_seconds: 0.2 },
    data: { os: 'linux' },
  });
  assert.deepEqual(r, {
    job_id: 'job-01JAB3Y7X5K4M8F9W2T6',
    status: 'completed',
    worker_id: 'worker-1',
    execution_summary: { started_at: started, duration_seconds: 2.5, attempt: 2, idempotency_key: 'idem-1' },
    completed_at: finished,
    outputs: { primary: '/out/a.json', artifacts: ['/out/b.log'] },
    metrics: { disk_read_bytes: 4096, peak_memory_mb: 50, cpu_seconds: 0.2 },
    observability: { trace_id: 'trace-1', span_id: 'span-1' },
    data: { os: 'linux' },
  });
  assert.deepEqual(JobResultSchema.parse(JSON.parse(JSON.stringify(r))), r);
});

test('failed, timeout and cancelled results carry protocol errors', () => {
  const job = jobDoc();
  const failed = failedResult({
    job,
    workerId: 'w',
    startedAt: started,
    finishedAt: finished,
    error: new GuestkitError('CORRUPT_IMAGE', 'bad qcow2 header', { details: { offset: 0 } }),
  });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failed_at, finished);
  assert.equal(failed.completed_at, undefined);
  assert.deepEqual(failed.error, {
    code: 'CORRUPT_IMAGE',
    message: 'bad qcow2 header',
    phase: 'disk_inspection',
    details: { offset: 0 },
    recoverable: false,
    retry_recommended: false,
  });
  const unknown = failedResult({ job, workerId: 'w', startedAt: started, error: new Error('boom') });
  assert.equal(unknown.error?.code, 'EXECUTION_ERROR');

  const timeout = timeoutResult({ job, workerId: 'w', startedAt: started, finishedAt: finished });
  assert.equal(timeout.status, 'timeout');
  assert.equal(timeout.error?.code, 'TIMEOUT');
  assert.match(timeout.error!.message, /60 s/);
  assert.equal(timeout.error?.retry_recommended, true);

  const cancelled = cancelledResult({ job, workerId: 'w', startedAt: started, finishedAt: finished, phase: 'package_scan' });
  assert.equal(cancelled.status, 'cancelled');
  assert.equal(cancelled.error?.code, 'CANCELLED');
  assert.equal(cancelled.error?.phase, 'package_scan');
  for (const r of [failed, unknown, timeout, cancelled]) assert.equal(JobResultSchema.safeParse(r).success, true);
});

test('result schema refuses bad documents', () => {
  const bad = [
    { job_id: 'j', status: 'done', worker_id: 'w', execution_summary: { started_at: started, duration_seconds: 1, attempt: 1 } },
    { job_id: 'j', status: 'completed', worker_id: 'w', execution_summary: { started_at: 'now', duration_seconds: 1, attempt: 1 } },
    { job_id: 'j', status: 'completed', worker_id: 'w', execution_summary: { started_at: started, duration_seconds: -1, attempt: 1 } },
    { job_id: 'j', status: 'failed', worker_id: 'w', execution_summary: { started_at: started, duration_seconds: 1, attempt: 1 }, error: { code: 'X' } },
  ];
  for (const b of bad) assert.equal(JobResultSchema.safeParse(b).success, false, JSON.stringify(b));
});

test('progress events count from 0 and validate', () => {
  const seq = new ProgressSequence('job-01JAB3Y7X5K4M8F9W2T6', { trace_id: 'trace-1', span_id: 's' });
  const now = new Date('2026-01-30T10:00:00Z');
  const a = seq.event('validation', 'checking job', { percent: 0, now });
  const b = seq.event('disk_attach', 'opening image', { percent: 10.4, details: { format: 'qcow2' }, now });
  const c = seq.event('cleanup', 'done', { percent: 150, now });
  assert.deepEqual([a.sequence, b.sequence, c.sequence], [0, 1, 2]);
  assert.equal(seq.nextSequence, 3);
  assert.deepEqual(b, {
    job_id: 'job-01JAB3Y7X5K4M8F9W2T6',
    timestamp: '2026-01-30T10:00:00.000Z',
    sequence: 1,
    phase: 'disk_attach',
    message: 'opening image',
    progress_percent: 10,
    details: { format: 'qcow2' },
    observability: { trace_id: 'trace-1', span_id: 's' },
  });
  assert.equal(c.progress_percent, 100);
  for (const e of [a, b, c]) assert.deepEqual(ProgressEventSchema.parse(e), e);
  assert.equal(ProgressEventSchema.safeParse({ ...a, sequence: -1 }).success, false);
  assert.equal(ProgressEventSchema.safeParse({ ...a, progress_percent: 101 }).success, false);
});
