import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { priced, type UsageRow } from '../../src/ports/usage.js';
import { completedResult, failedResult, GuestkitError, type ResultMetrics, type TerminalStatus } from '../../src/protocol/index.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { usageQuery } from '../../src/store/sqlite/usage-query.js';
import { jobDoc } from './contract.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 30, 12); // noon UTC, 2026-01-30

/** Runs one job through the store (submit, begin, finish) with these metrics, finishing at `at`. */
async function run(s: SqliteJobStore, id: string, o: { op?: string; ns?: string; at: number; ranMs?: number; status?: TerminalStatus; metrics?: ResultMetrics }) {
  mock.timers.setTime(o.at);
  const job = jobDoc(id, { operation: o.op ?? 'system.echo', ...(o.ns !== undefined ? { metadata: { namespace: o.ns } } : {}) });
  await s.submit({ job });
  await s.begin(id, 'w1');
  const base = { job, workerId: 'w1', startedAt: new Date(o.at - (o.ranMs ?? 0)), metrics: o.metrics };
  const status = o.status ?? 'completed';
  const result = status === 'completed' ? completedResult(base) : failedResult({ ...base, error: new GuestkitError('CORRUPT_IMAGE', 'bad') });
  await s.finish(id, status, result);
}

const m = (cpu: number, wall: number, read: number, image: number, peak: number): ResultMetrics => ({
  cpu_seconds: cpu,
  wall_seconds: wall,
  disk_read_bytes: read,
  image_bytes: image,
  peak_memory_mb: peak,
});

async function withJobs(fn: (s: SqliteJobStore) => void): Promise<void> {
  mock.timers.enable({ apis: ['Date'], now: T0 });
  const s = SqliteJobStore.open(':memory:');
  try {
    await run(s, 'u-1', { op: 'guestkit.inspect', ns: 'team-a', at: T0, metrics: m(1.5, 2, 1000, 10_000, 40) });
    await run(s, 'u-2', { op: 'guestkit.inspect', ns: 'team-a', at: T0 + 1000, status: 'failed', metrics: m(0.5, 1, 24, 10_000, 60) });
    await run(s, 'u-3', { op: 'system.echo', ns: 'team-a', at: T0 + DAY, metrics: m(0.25, 0.5, 0, 0, 0) });
    await run(s, 'u-4', { op: 'system.echo', at: T0 + DAY + 5, metrics: m(0.125, 0.25, 0, 0, 0) }); // default namespace
    await run(s, 'u-5', { op: 'guestkit.inspect', ns: 'team-b', at: T0 + 2 * DAY, metrics: m(4, 8, 5000, 20_000, 100) });
    // a result from before wall_seconds existed: its duration counts instead
    await run(s, 'u-6', { op: 'system.echo', ns: 'default', at: T0 + 2 * DAY, ranMs: 3000 });
    // not finished: never counted
    await s.submit({ job: jobDoc('u-7', { metadata: { namespace: 'team-a' } }) });
    await s.submit({ job: jobDoc('u-8', { metadata: { namespace: 'team-a' } }) });
    await s.begin('u-8', 'w1');
    fn(s);
  } finally {
    await s.close();
    mock.timers.reset();
  }
}

const row = (key: string, jobs: number, cpu: number, wall: number, read: number, image: number, peak: number): UsageRow => ({
  key,
  jobs,
  cpuSeconds: cpu,
  wallSeconds: wall,
  bytesRead: read,
  imageBytes: image,
  peakMemoryMb: peak,
});

test('usage by operation: sums of finished jobs (any final status), peak is the maximum', async () => {
  await withJobs((s) => {
    assert.deepEqual(usageQuery(s.db, { groupBy: 'operation' }), [
      row('guestkit.inspect', 3, 6, 11, 6024, 40_000, 100),
      row('system.echo', 3, 0.375, 3.75, 0, 0, 0),
    ]);
  });
});

test('usage by UTC day, within [from, to)', async () => {
  await withJobs((s) => {
    assert.deepEqual(usageQuery(s.db, { groupBy: 'day' }), [
      row('2026-01-30', 2, 2, 3, 1024, 20_000, 60),
      row('2026-01-31', 2, 0.375, 0.75, 0, 0, 0),
      row('2026-02-01', 2, 4, 11, 5000, 20_000, 100),
    ]);
    // from is inclusive, to exclusive: u-2 (T0 + 1 s) and u-4 (T0 + 1 day + 5 ms) are cut off
    assert.deepEqual(usageQuery(s.db, { groupBy: 'day', from: T0 + 1000, to: T0 + DAY + 5 }), [
      row('2026-01-30', 1, 0.5, 1, 24, 10_000, 60),
      row('2026-01-31', 1, 0.25, 0.5, 0, 0, 0),
    ]);
    assert.deepEqual(usageQuery(s.db, { groupBy: 'day', from: T0 + 3 * DAY }), []);
  });
});

test('usage of one namespace; default covers jobs that name none', async () => {
  await withJobs((s) => {
    assert.deepEqual(usageQuery(s.db, { groupBy: 'operation', namespace: 'team-a' }), [
      row('guestkit.inspect', 2, 2, 3, 1024, 20_000, 60),
      row('system.echo', 1, 0.25, 0.5, 0, 0, 0),
    ]);
    assert.deepEqual(usageQuery(s.db, { groupBy: 'operation', namespace: 'default' }), [row('system.echo', 2, 0.125, 3.25, 0, 0, 0)]);
    assert.deepEqual(usageQuery(s.db, { groupBy: 'day', namespace: 'nobody' }), []);
  });
});

test('priced: cost per CPU-second and GiB read, per group and in total', () => {
  const rows = [row('a', 2, 10, 20, 2 * 1024 ** 3, 5, 40), row('b', 1, 0.1, 1, 1024 ** 3 / 2, 7, 90)];
  const out = priced(rows, { cpuSecond: 0.001, gibRead: 0.02, currency: 'EUR' });
  assert.deepEqual(out.groups.map((g) => [g.key, g.cost]), [
    ['a', 0.05],
    ['b', 0.0101],
  ]);
  assert.deepEqual(out.totals, { ...row('total', 3, 10.1, 21, 2.5 * 1024 ** 3, 12, 90), cost: 0.0601 });
  assert.deepEqual(out.prices, { cpuSecond: 0.001, gibRead: 0.02, currency: 'EUR' });
  assert.deepEqual(priced([], { cpuSecond: 1, gibRead: 1, currency: 'USD' }).totals, { ...row('total', 0, 0, 0, 0, 0, 0), cost: 0 });
});
