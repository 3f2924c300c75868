import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobEvents } from '../../src/events/job-events.js';
import { attachCostMetric, attachJobMetrics } from '../../src/observability/job-metrics.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { completedResult, failedResult, GuestkitError, type JobDocument, type ResultMetrics, type TerminalStatus } from '../../src/protocol/index.js';
import { jobDoc } from '../store/contract.js';

function finish(events: JobEvents, job: JobDocument, status: TerminalStatus, metrics?: ResultMetrics, ranMs = 0) {
  const base = { job, workerId: 'w1', startedAt: new Date(Date.UTC(2026, 0, 30)), finishedAt: new Date(Date.UTC(2026, 0, 30) + ranMs), metrics };
  const result = status === 'completed' ? completedResult(base) : failedResult({ ...base, error: new GuestkitError('CORRUPT_IMAGE', 'bad') });
  events.emit('finished', { job, status, result });
}

/** The value of one series of a counter. */
async function value(m: WorkerMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await m.registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

test('usage counters: CPU, wall time, bytes read and jobs, by namespace, operation and status', async () => {
  const m = new WorkerMetrics();
  const events = new JobEvents();
  const off = attachJobMetrics(events, m);
  const inspect = (id: string, ns?: string) => jobDoc(id, { operation: 'guestkit.inspect', ...(ns ? { metadata: { namespace: ns } } : {}) });
  const usage = (cpu: number, wall: number, read: number): ResultMetrics => ({ cpu_seconds: cpu, wall_seconds: wall, disk_read_bytes: read, image_bytes: 1 << 30, peak_memory_mb: 50 });
  finish(events, inspect('m-1', 'team-a'), 'completed', usage(1.5, 2, 1000));
  finish(events, inspect('m-2', 'team-a'), 'completed', usage(0.5, 1, 500));
  finish(events, inspect('m-3', 'team-a'), 'failed', usage(0.25, 0.5, 24));
  finish(events, inspect('m-4'), 'completed', usage(2, 3, 4096));
  // a job that never ran has no usage figures: it is counted, its wall time is its duration
  finish(events, jobDoc('m-5'), 'cancelled', undefined, 2000);
  const a = { namespace: 'team-a', operation: 'guestkit.inspect', status: 'completed' };
  assert.equal(await value(m, 'guestkit_jobs_finished_total', a), 2);
  assert.equal(await value(m, 'guestkit_job_cpu_seconds_total', a), 2);
  assert.equal(await value(m, 'guestkit_job_wall_seconds_total', a), 3);
  assert.equal(await value(m, 'guestkit_job_read_bytes_total', a), 1500);
  const failed = { ...a, status: 'failed' };
  assert.equal(await value(m, 'guestkit_jobs_finished_total', failed), 1);
  assert.equal(await value(m, 'guestkit_job_cpu_seconds_total', failed), 0.25);
  assert.equal(await value(m, 'guestkit_job_image_bytes_total', a), 2 * 2 ** 30);
  const peak = await m.registry.getSingleMetric('guestkit_job_peak_memory_bytes')!.get();
  const inA = (v: { labels: Record<string, unknown> }) => v.labels.namespace === 'team-a';
  const series = (v: object) => (v as { metricName?: string }).metricName;
  assert.equal(peak.values.find((v) => inA(v) && series(v) === 'guestkit_job_peak_memory_bytes_count')?.value, 3, 'every finished attempt with a peak');
  assert.equal(peak.values.find((v) => inA(v) && series(v) === 'guestkit_job_peak_memory_bytes_sum')?.value, 3 * 50 * 2 ** 20);
  assert.equal(peak.values.find((v) => inA(v) && v.labels.le === 64 * 2 ** 20)?.value, 3);
  assert.equal(peak.values.find((v) => inA(v) && v.labels.le === 32 * 2 ** 20)?.value, 0);
  const dflt = { namespace: 'default', operation: 'guestkit.inspect', status: 'completed' };
  assert.equal(await value(m, 'guestkit_job_read_bytes_total', dflt), 4096);
  const never = { namespace: 'default', operation: 'system.echo', status: 'cancelled' };
  assert.equal(await value(m, 'guestkit_jobs_finished_total', never), 1);
  assert.equal(await value(m, 'guestkit_job_cpu_seconds_total', never), 0);
  assert.equal(await value(m, 'guestkit_job_wall_seconds_total', never), 2);
  // the exposition names the labels
  assert.match(await m.registry.metrics(), /guestkit_job_cpu_seconds_total\{namespace="team-a",operation="guestkit.inspect",status="completed"\} 2/);
  off();
  finish(events, inspect('m-6', 'team-a'), 'completed', usage(1, 1, 1));
  assert.equal(await value(m, 'guestkit_jobs_finished_total', a), 2, 'detached: no longer counted');
});

test('cost counter: CPU seconds and GiB read at serve\'s prices, as GET /usage prices them', async () => {
  const m = new WorkerMetrics();
  const events = new JobEvents();
  const off = attachCostMetric(events, m.registry, { cpuSecond: 0.5, gibRead: 2, currency: 'EUR' });
  const job = jobDoc('c-1', { operation: 'guestkit.inspect', metadata: { namespace: 'team-c' } });
  finish(events, job, 'completed', { cpu_seconds: 3, wall_seconds: 4, disk_read_bytes: 2 ** 29, image_bytes: 0, peak_memory_mb: 1 });
  finish(events, jobDoc('c-2', { metadata: { namespace: 'team-c' } }), 'cancelled', undefined);
  const labels = { namespace: 'team-c', operation: 'guestkit.inspect', currency: 'EUR' };
  assert.equal(await value(m, 'guestkit_job_cost_total', labels), 3 * 0.5 + 0.5 * 2);
  const all = await m.registry.getSingleMetric('guestkit_job_cost_total')!.get();
  assert.equal(all.values.length, 1, 'a job that cost nothing adds no series');
  off();
});
