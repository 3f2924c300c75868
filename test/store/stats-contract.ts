import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { JobStats } from '../../src/ports/job-stats.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { JobResult } from '../../src/protocol/result.js';
import type { TerminalStatus } from '../../src/protocol/status.js';
import { jobDoc } from './contract.js';

/** A store and its JobStats, and a way to set a job's three times (the history under test). */
export interface StatsFixture {
  store: JobStore;
  stats: JobStats;
  setTimes(jobId: string, queued: number, started: number | null, finished: number | null): Promise<void>;
  close(): Promise<void>;
}

export const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;

/** The JobStats contract: every adapter gives these answers over the same jobs at known times. */
export function statsContract(label: string, open: () => Promise<StatsFixture>): void {
  let f: StatsFixture;
  let store: JobStore;
  let stats: JobStats;

  interface Put {
    ns?: string;
    op?: string;
    status: TerminalStatus | 'pending' | 'running';
    queued: number;
    started?: number;
    finished?: number;
    cpu?: number;
    name?: string;
  }

  async function put(id: string, p: Put): Promise<void> {
    const job = jobDoc(id, { operation: p.op ?? 'system.echo', metadata: { ...(p.ns ? { namespace: p.ns } : {}), ...(p.name ? { name: p.name } : {}) } });
    await store.submit({ job, source: 'test' });
    if (p.status !== 'pending') await store.begin(id, 'w1');
    if (p.status !== 'pending' && p.status !== 'running') {
      const result = { job_id: id, status: p.status, worker_id: 'w1', execution_summary: { started_at: '2026-03-01T10:00:00Z', duration_seconds: 1, attempt: 1 }, metrics: { cpu_seconds: p.cpu ?? 0, wall_seconds: 1 } } as unknown as JobResult;
      await store.finish(id, p.status, result);
    }
    await f.setTimes(id, p.queued, p.started ?? null, p.finished ?? null);
  }

  before(async () => {
    f = await open();
    store = f.store;
    stats = f.stats;
    // team-a: 10 completed in minute 0 (wait i s, run 10·i s), 2 failed in minute 2, one timeout at minute 59
    for (let i = 1; i <= 10; i++) await put(`a-ok-${i}`, { ns: 'team-a', status: 'completed', queued: T0, started: T0 + i * 1000, finished: T0 + i * 1000 + i * 10_000 - i * 1000, cpu: 2 });
    await put('a-fail-1', { ns: 'team-a', status: 'failed', queued: T0, started: T0 + 1000, finished: T0 + 2 * MIN + 5000, cpu: 1 });
    await put('a-fail-2', { ns: 'team-a', status: 'failed', queued: T0, started: T0 + 1000, finished: T0 + 2 * MIN + 6000, cpu: 1 });
    await put('a-to', { ns: 'team-a', op: 'guestkit.inspect', status: 'timeout', queued: T0, started: T0, finished: T0 + 59 * MIN });
    // default namespace (no namespace named): one cancelled before it started, one waiting, one running
    await put('d-cx', { status: 'cancelled', queued: T0, finished: T0 + 30_000 });
    await put('d-wait', { status: 'pending', queued: T0 + 5 * MIN });
    await put('d-run', { status: 'running', queued: T0 + 5 * MIN, started: T0 + 6 * MIN, name: 'the runner' });
    // team-b, outside the hour
    await put('b-old', { ns: 'team-b', status: 'completed', queued: T0 - 3 * 60 * MIN, started: T0 - 3 * 60 * MIN, finished: T0 - 2 * 60 * MIN, cpu: 7 });
  });

  after(async () => {
    await f.close();
  });

  test(`${label}: counts: per status, with the listing’s own filters (namespace, operation, search, labels, times)`, async () => {
    const all = await stats.counts({});
    assert.deepEqual(all, { pending: 1, assigned: 0, running: 1, completed: 11, failed: 2, cancelled: 1, timeout: 1 });
    assert.deepEqual(await stats.counts({ namespace: 'team-a' }), { pending: 0, assigned: 0, running: 0, completed: 10, failed: 2, cancelled: 0, timeout: 1 });
    const dflt = await stats.counts({ namespace: 'default' });
    assert.equal(dflt.pending + dflt.running + dflt.cancelled, 3);
    assert.equal((await stats.counts({ operation: 'guestkit.inspect' })).timeout, 1);
    assert.equal((await stats.counts({ search: 'RUNNER' })).running, 1);
    assert.equal(Object.values(await stats.counts({ status: ['failed', 'timeout'] })).reduce((a, b) => a + b, 0), 3);
    assert.equal(Object.values(await stats.counts({ queuedFrom: T0 + MIN })).reduce((a, b) => a + b, 0), 2);
    // a cursor and a limit change nothing: counts cover every match
    assert.deepEqual(await stats.counts({ limit: 1 }), all);
  });

  test(`${label}: throughput: finished jobs per minute by status, buckets aligned and filled with zeros`, async () => {
    const pts = await stats.throughput({ from: T0, to: T0 + 60 * MIN, bucketMs: MIN });
    assert.equal(pts.length, 60);
    assert.equal(pts[0]!.at, T0);
    assert.equal(pts[59]!.at, T0 + 59 * MIN);
    // a-ok-i ends at 10·i s: five in minute 0 (with the cancel), five in minute 1
    assert.deepEqual({ ...pts[0]! }, { at: T0, completed: 5, failed: 0, cancelled: 1, timeout: 0 });
    assert.equal(pts[1]!.completed, 5);
    assert.equal(pts[2]!.failed, 2);
    assert.equal(pts[59]!.timeout, 1);
    assert.equal(pts.reduce((a, p) => a + p.completed + p.failed + p.cancelled + p.timeout, 0), 14);
    // by namespace; an unaligned range starts at the bucket holding `from`
    const a = await stats.throughput({ namespace: 'team-a', from: T0 + 30_000, to: T0 + 3 * MIN, bucketMs: MIN });
    assert.deepEqual(a.map((p) => p.at), [T0, T0 + MIN, T0 + 2 * MIN]);
    assert.equal(a[0]!.cancelled, 0, 'the cancel is in default');
    const hourly = await stats.throughput({ from: T0 - 4 * 60 * MIN, to: T0 + 60 * MIN, bucketMs: 60 * MIN });
    assert.equal(hourly.length, 5);
    assert.equal(hourly[2]!.completed, 1, 'team-b’s job, two hours before');
    assert.equal(hourly[4]!.completed, 10);
    await assert.rejects(stats.throughput({ from: T0, to: T0 + 30 * 24 * 60 * MIN, bucketMs: MIN }), /at most/);
    await assert.rejects(stats.throughput({ from: T0, to: T0, bucketMs: MIN }), /empty/);
  });

  test(`${label}: latency: wait and run percentiles over finished jobs that started, overall and per bucket`, async () => {
    const l = await stats.latency({ namespace: 'team-a', operation: 'system.echo', from: T0, to: T0 + 60 * MIN, bucketMs: MIN });
    // 12 jobs: waits 1..10 s and 1, 1 s; runs 9·i s (i = 1..10), 124 and 125 s
    assert.equal(l.wait.n, 12);
    assert.equal(l.run.n, 12);
    assert.deepEqual([l.wait.p50, l.wait.p90, l.wait.p99], [4, 9, 10]);
    assert.deepEqual([l.run.p50, l.run.p90, l.run.p99], [54, 124, 125]);
    assert.equal(l.points.length, 60);
    assert.equal(l.points[0]!.wait.n, 5);
    assert.equal(l.points[2]!.run.n, 2);
    assert.equal(l.points[3]!.run.p50, null);
    const all = await stats.latency({ from: T0, to: T0 + 60 * MIN, bucketMs: MIN });
    assert.equal(all.wait.n, 13, 'the cancel never started: no wait, no run');
  });

  test(`${label}: usage by namespace: the usage query’s sums, per namespace, in the range`, async () => {
    const rows = await stats.usageByNamespace({ from: T0 - 24 * 60 * MIN, to: T0 + 24 * 60 * MIN });
    assert.deepEqual(rows.map((r) => [r.key, r.jobs, r.cpuSeconds]), [['default', 1, 0], ['team-a', 13, 22], ['team-b', 1, 7]]);
    const a = await stats.usageByNamespace({ namespace: 'team-a', from: T0, to: T0 + 60 * MIN });
    assert.deepEqual(a.map((r) => [r.key, r.jobs]), [['team-a', 13]]);
    assert.deepEqual(await stats.usageByNamespace({ from: T0 + 2 * 60 * MIN, to: T0 + 3 * 60 * MIN }), []);
  });
}
