import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { StoreReader, type TransitionRow } from '../helpers/store-reader.js';
import { dropJob, echoJob, job, listDir, makeSpool, sleep, startDaemon, waitFor } from './helpers/daemon.js';

/** Replays the stored transitions in commit order: the most jobs ever `running` at once. */
function maxRunning(rows: TransitionRow[]): number {
  let now = 0;
  let max = 0;
  for (const t of rows) {
    if (t.to_status === 'running') now++;
    else if (t.from_status === 'running') now--;
    max = Math.max(max, now);
  }
  return max;
}

test('1,000 echo jobs dropped at once with --max-concurrent 4: each completes exactly once, ≤ 4 running, priority order', async () => {
  const spool = makeSpool();
  const N = 1000;
  const prio = (i: number) => 1 + ((i * 7919) % 10);
  // all dropped before the worker starts: one backlog, so the start order must follow priority
  for (let i = 0; i < N; i++) dropJob(spool, echoJob(`bulk-${String(i).padStart(5, '0')}`, { execution: { priority: prio(i) } }, { i }));
  const d = startDaemon(spool, ['--worker-id', 'w-bulk', '--max-concurrent', '4', '--log-level', 'warn']);
  try {
    await waitFor(() => listDir(join(spool.jobs, 'done')).length === N, 60_000, 'all jobs done');
    assert.equal(listDir(spool.results).filter((n) => n.endsWith('-result.json')).length, N);
    assert.deepEqual(listDir(join(spool.jobs, 'claimed', 'w-bulk')), []);
    assert.deepEqual(listDir(spool.jobs).filter((n) => n.endsWith('.json')), []);
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
  const store = StoreReader.open(spool.data);
  try {
    const rows = store.transitions();
    const starts = rows.filter((t) => t.to_status === 'running');
    assert.equal(starts.length, N, 'one start per job');
    assert.equal(new Set(starts.map((t) => t.job_id)).size, N, 'no job started twice');
    assert.equal(rows.filter((t) => t.to_status === 'completed').length, N);
    assert.ok(maxRunning(rows) <= 4, `max running ${maxRunning(rows)}`);
    const order = starts.map((t) => prio(Number(t.job_id.slice(5))));
    for (let i = 1; i < order.length; i++) assert.ok(order[i]! <= order[i - 1]!, `start #${i} has priority ${order[i]} after ${order[i - 1]}`);
  } finally {
    store.close();
  }
});

test('slow jobs in threads: exactly --max-concurrent run at once, never more', async () => {
  const spool = makeSpool();
  const N = 16;
  for (let i = 0; i < N; i++) dropJob(spool, job(`slow-${String(i).padStart(3, '0')}`, 'test.sleep', { seconds: 0.15 }));
  const d = startDaemon(spool, ['--worker-id', 'w-slow', '--max-concurrent', '4', '--log-level', 'warn']);
  try {
    await waitFor(() => listDir(join(spool.jobs, 'done')).length === N, 60_000, 'all slow jobs done');
  } finally {
    await d.stop();
  }
  const store = StoreReader.open(spool.data);
  try {
    assert.equal(maxRunning(store.transitions()), 4);
  } finally {
    store.close();
  }
});

test('two workers on one spool never run a job twice', async () => {
  const spool = makeSpool();
  const a = startDaemon(spool, ['--worker-id', 'w-a', '--max-concurrent', '2']);
  const b = startDaemon(spool, ['--worker-id', 'w-b', '--max-concurrent', '2']);
  const N = 600;
  try {
    await Promise.all([a.ready(), b.ready()]);
    for (let i = 0; i < N; i++) dropJob(spool, echoJob(`pair-${String(i).padStart(4, '0')}`));
    await waitFor(() => listDir(join(spool.jobs, 'done')).length === N, 60_000, 'all jobs done');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  const store = StoreReader.open(spool.data);
  try {
    const starts = store.transitions().filter((t) => t.to_status === 'running');
    assert.equal(starts.length, N);
    assert.equal(new Set(starts.map((t) => t.job_id)).size, N);
    const byWorker = new Map<string, number>();
    for (const s of starts) byWorker.set(s.worker_id!, (byWorker.get(s.worker_id!) ?? 0) + 1);
    assert.equal(byWorker.size, 2, `both workers took jobs: ${JSON.stringify([...byWorker])}`);
  } finally {
    store.close();
  }
  assert.deepEqual(listDir(join(spool.jobs, 'failed')), []);
});

test('with a live peer on the spool a worker claims only a few slots ahead; the rest stays for the peer', async () => {
  const spool = makeSpool();
  const a = startDaemon(spool, ['--worker-id', 'w-ahead-a', '--max-concurrent', '1', '--drain-timeout', '0']);
  const b = startDaemon(spool, ['--worker-id', 'w-ahead-b', '--max-concurrent', '1', '--drain-timeout', '0']);
  const N = 100;
  try {
    await Promise.all([a.ready(), b.ready()]);
    await sleep(1200); // each has seen the other's registration
    for (let i = 0; i < N; i++) dropJob(spool, job(`ahead-${String(i).padStart(3, '0')}`, 'test.sleep', { seconds: 30 }));
    await waitFor(() => listDir(join(spool.jobs, 'claimed', 'w-ahead-a')).length > 0 && listDir(join(spool.jobs, 'claimed', 'w-ahead-b')).length > 0, 10_000, 'both claimed');
    // claiming may take a few scans (each lists a slice of the folder): read once it has settled
    const snapshot = () => {
      const a = listDir(join(spool.jobs, 'claimed', 'w-ahead-a')).length;
      const b = listDir(join(spool.jobs, 'claimed', 'w-ahead-b')).length;
      const left = listDir(spool.jobs).filter((n) => n.endsWith('.json')).length;
      return { a, b, left };
    };
    let prev = snapshot();
    for (let i = 0; i < 100; i++) {
      await sleep(300);
      const now = snapshot();
      if (JSON.stringify(now) === JSON.stringify(prev) && now.a + now.b + now.left === N) break;
      prev = now;
    }
    const { a: heldA, b: heldB, left } = snapshot();
    // 1 running + at most max(16, 8 × max-concurrent) waiting each; the rest stays for others
    assert.ok(heldA <= 17 && heldB <= 17, `held ${heldA} and ${heldB}`);
    assert.equal(left, N - heldA - heldB);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  // drained: every job given back, none lost
  assert.equal(listDir(spool.jobs).filter((n) => n.endsWith('.json')).length, N);
});
