import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { StoreReader } from '../helpers/store-reader.js';
import { dropJob, echoJob, job, listDir, makeSpool, readEvents, resultPath, startDaemon, waitFor, waitForResult } from './helpers/daemon.js';

test('kill -9 mid-job, restart: the job re-runs as attempt 2; with no attempts left it ends WORKER_LOST', async () => {
  const spool = makeSpool();
  const d1 = startDaemon(spool, ['--worker-id', 'w-crash', '--max-concurrent', '2']);
  await d1.ready();
  dropJob(spool, job('crash-retry-01', 'test.sleep', { seconds: 30 }, { execution: { max_attempts: 2 } }));
  dropJob(spool, job('crash-lost-01', 'test.sleep', { seconds: 30 }, { execution: { max_attempts: 1 } }));
  // both running (their first progress event is written) before the kill
  await waitFor(() => readEvents(spool, 'crash-retry-01').length >= 2 && readEvents(spool, 'crash-lost-01').length >= 2, 20_000, 'both running');
  d1.proc.kill('SIGKILL');
  await d1.exited;
  assert.equal(listDir(join(spool.jobs, 'claimed', 'w-crash')).length, 2, 'both held by the dead worker');

  const d2 = startDaemon(spool, ['--worker-id', 'w-crash', '--max-concurrent', '2']);
  try {
    await d2.ready();
    const lost = await waitForResult(spool, 'crash-lost-01');
    assert.equal(lost.status, 'failed');
    assert.equal(lost.error?.code, 'WORKER_LOST');
    assert.equal(lost.execution_summary.attempt, 1);
    assert.ok(listDir(join(spool.jobs, 'failed')).includes('crash-lost-01.json'));
    // the other one was given back and is running again as attempt 2
    const store = StoreReader.open(spool.data);
    try {
      await waitFor(() => store.getJob('crash-retry-01')?.status === 'running', 20_000, 'crash-retry-01 running again');
      assert.equal(store.getJob('crash-retry-01')!.attempt, 2);
      const att = store.attempts('crash-retry-01');
      assert.deepEqual(att.map((a) => [a.attempt, a.status]), [[1, 'lost'], [2, 'running']]);
      // event sequence numbers continue after the restart
      const seqs = readEvents(spool, 'crash-retry-01').map((e) => e.sequence);
      assert.deepEqual(seqs, seqs.map((_, i) => i));
    } finally {
      store.close();
    }
    // nothing in limbo: cancel the re-run and everything is accounted for
    writeFileSync(join(spool.jobs, 'crash-retry-01.cancel'), '');
    const r = await waitForResult(spool, 'crash-retry-01');
    assert.equal(r.status, 'cancelled');
    assert.equal(r.error?.code, 'CANCELLED');
    assert.equal(r.execution_summary.attempt, 2);
    await waitFor(() => !existsSync(join(spool.jobs, 'crash-retry-01.cancel')), 5000, 'cancel consumed');
    assert.deepEqual(listDir(join(spool.jobs, 'claimed', 'w-crash')), []);
  } finally {
    await d2.stop();
  }
});

test('a handler that loops forever is stopped at its timeout; the worker keeps serving', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-spin', '--max-concurrent', '1']);
  try {
    await d.ready();
    dropJob(spool, job('spin-forever-01', 'test.spin', {}, { execution: { timeout_seconds: 1 } }));
    dropJob(spool, echoJob('after-spin-01'));
    const r = await waitForResult(spool, 'spin-forever-01');
    assert.equal(r.status, 'timeout');
    assert.equal(r.error?.code, 'TIMEOUT');
    // a spin never ends by itself: a result at all means it was stopped (no wall-clock bound: CI is loaded)
    assert.ok(r.execution_summary.duration_seconds >= 1, String(r.execution_summary.duration_seconds));
    assert.equal((await waitForResult(spool, 'after-spin-01')).status, 'completed');
    // a second stuck job on the same (respawned) pool is stopped as well
    dropJob(spool, job('spin-forever-02', 'test.spin', {}, { execution: { timeout_seconds: 1 } }));
    assert.equal((await waitForResult(spool, 'spin-forever-02')).status, 'timeout');
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('a job past its deadline is not started: status timeout', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-deadline']);
  try {
    await d.ready();
    dropJob(spool, echoJob('deadline-gone-01', { execution: { deadline: '2020-01-01T00:00:00Z' } }));
    const r = await waitForResult(spool, 'deadline-gone-01');
    assert.equal(r.status, 'timeout');
    assert.match(r.error!.message, /deadline/);
  } finally {
    await d.stop();
  }
});

test('retryable failures are retried with back-off up to max_attempts, each attempt recorded', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-retry']);
  try {
    await d.ready();
    dropJob(spool, job('flaky-ok-01', 'test.flaky', { succeed_on_attempt: 3 }, { execution: { max_attempts: 3 } }));
    dropJob(spool, job('flaky-bad-01', 'test.flaky', { succeed_on_attempt: 5 }, { execution: { max_attempts: 2 } }));
    const ok = await waitForResult(spool, 'flaky-ok-01');
    assert.equal(ok.status, 'completed');
    assert.equal(ok.execution_summary.attempt, 3);
    const bad = await waitForResult(spool, 'flaky-bad-01');
    assert.equal(bad.status, 'failed');
    assert.equal(bad.execution_summary.attempt, 2);
    assert.equal(bad.error?.code, 'EXECUTION_ERROR');
    const store = StoreReader.open(spool.data);
    try {
      assert.deepEqual(store.attempts('flaky-ok-01').map((a) => a.status), ['failed', 'failed', 'completed']);
      const a = store.attempts('flaky-ok-01');
      // back-off: the third attempt waits about twice as long as the second (base 50 ms)
      assert.ok(a[2]!.started_at - a[1]!.finished_at! >= 90, `gap ${a[2]!.started_at - a[1]!.finished_at!}`);
    } finally {
      store.close();
    }
  } finally {
    await d.stop();
  }
});

test('idempotency: same key → one execution, the second job returns the first result; survives a restart', async () => {
  const spool = makeSpool();
  const key = { execution: { idempotency_key: 'nightly-scan-42' } };
  let d = startDaemon(spool, ['--worker-id', 'w-idem']);
  let first;
  try {
    await d.ready();
    dropJob(spool, echoJob('idem-first-01', key, { n: 1 }));
    first = await waitForResult(spool, 'idem-first-01');
    dropJob(spool, echoJob('idem-second-01', key, { n: 2 }));
    const second = await waitForResult(spool, 'idem-second-01');
    assert.equal(second.status, 'completed');
    assert.deepEqual(second.data, first.data, 'the first result, not a new run');
    assert.deepEqual(second.idempotent_replay, { idempotency_key: 'nightly-scan-42', original_job_id: 'idem-first-01' });
    // a different namespace is a different tenant: its key is its own
    dropJob(spool, echoJob('idem-other-ns-01', { ...key, metadata: { namespace: 'tenant-b' } }, { n: 3 }));
    assert.deepEqual((await waitForResult(spool, 'idem-other-ns-01')).data, { echo: { n: 3 } });
    // still running → refused as a duplicate
    dropJob(spool, job('idem-slow-01', 'test.sleep', { seconds: 2 }, { execution: { idempotency_key: 'slow-key' } }));
    await waitFor(() => readEvents(spool, 'idem-slow-01').length >= 1, 10_000, 'slow job running');
    dropJob(spool, job('idem-slow-02', 'test.sleep', { seconds: 2 }, { execution: { idempotency_key: 'slow-key' } }));
    const dup = await waitForResult(spool, 'idem-slow-02');
    assert.equal(dup.status, 'failed');
    assert.equal(dup.error?.code, 'DUPLICATE_JOB');
    assert.equal((await waitForResult(spool, 'idem-slow-01')).status, 'completed');
  } finally {
    await d.stop();
  }
  d = startDaemon(spool, ['--worker-id', 'w-idem']);
  try {
    await d.ready();
    dropJob(spool, echoJob('idem-third-01', key, { n: 4 }));
    const third = await waitForResult(spool, 'idem-third-01');
    assert.deepEqual(third.data, first.data);
  } finally {
    await d.stop();
  }
  const store = StoreReader.open(spool.data);
  try {
    for (const id of ['idem-second-01', 'idem-third-01', 'idem-slow-02']) assert.deepEqual(store.attempts(id), [], `${id} never ran`);
    assert.equal(store.attempts('idem-first-01').length, 1);
  } finally {
    store.close();
  }
});

test('cancel: a waiting job and a running job end cancelled; a non-cancellable one is refused', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-cancel', '--max-concurrent', '1']);
  try {
    await d.ready();
    dropJob(spool, job('cancel-running-01', 'test.sleep', { seconds: 30 }));
    await waitFor(() => readEvents(spool, 'cancel-running-01').length >= 1, 10_000, 'running');
    dropJob(spool, echoJob('cancel-waiting-01'));
      writeFileSync(join(spool.jobs, 'cancel-waiting-01.cancel'), '');
    const w = await waitForResult(spool, 'cancel-waiting-01');
    assert.equal(w.status, 'cancelled');
    writeFileSync(join(spool.jobs, 'cancel-running-01.cancel'), '');
    const r = await waitForResult(spool, 'cancel-running-01');
    assert.equal(r.status, 'cancelled');
    // stopped before its 30 s sleep could end by itself
    assert.ok(r.execution_summary.duration_seconds < 30, String(r.execution_summary.duration_seconds));
    dropJob(spool, job('no-cancel-01', 'test.sleep', { seconds: 1 }, { execution: { cancellable: false } }));
    await waitFor(() => readEvents(spool, 'no-cancel-01').length >= 1, 10_000, 'running');
    writeFileSync(join(spool.jobs, 'no-cancel-01.cancel'), '');
    await d.waitForLog((l) => l.job_id === 'no-cancel-01' && /not cancellable/.test(l.msg));
    assert.equal((await waitForResult(spool, 'no-cancel-01')).status, 'completed');
  } finally {
    await d.stop();
  }
});

test('SIGTERM drains: running jobs get the drain timeout, the rest go back to the spool', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-drain', '--max-concurrent', '2', '--drain-timeout', '2']);
  await d.ready();
  dropJob(spool, job('drain-short-01', 'test.sleep', { seconds: 1 }));
  dropJob(spool, job('drain-long-01', 'test.sleep', { seconds: 60 }));
  // ≥ 2 events: the handler itself reported (its thread is up), not only the executor
  await waitFor(() => readEvents(spool, 'drain-short-01').length >= 2 && readEvents(spool, 'drain-long-01').length >= 2, 10_000, 'both running');
  // SIGKILL follows after 30 s: a drain that waited for the 60 s job would not exit 0
  const exit = await d.stop('SIGTERM', 30_000);
  assert.equal(exit.code, 0);
  assert.equal((await waitForResult(spool, 'drain-short-01', 1000)).status, 'completed');
  assert.ok(!existsSync(resultPath(spool, 'drain-long-01')));
  assert.ok(listDir(spool.jobs).includes('drain-long-01.json'), 'given back to the spool');
  assert.deepEqual(listDir(join(spool.jobs, 'claimed', 'w-drain')), []);
  const store = StoreReader.open(spool.data);
  try {
    const row = store.getJob('drain-long-01')!;
    assert.equal(row.status, 'pending');
    assert.equal(row.attempt, 0, 'an interrupted attempt is not counted');
  } finally {
    store.close();
  }
  // the next worker picks it up
  const d2 = startDaemon(spool, ['--worker-id', 'w-drain-2', '--drain-timeout', '0']);
  try {
    await d2.ready();
    const st = StoreReader.open(spool.data);
    try {
      await waitFor(() => st.getJob('drain-long-01')?.status === 'running', 10_000, 're-run');
      assert.equal(st.getJob('drain-long-01')!.worker_id, 'w-drain-2');
    } finally {
      st.close();
    }
  } finally {
    await d2.stop('SIGTERM');
  }
});

test('claims of a worker that died and never came back are adopted by a live worker sharing the store', async () => {
  const spool = makeSpool();
  const fast = { GUESTKIT_HEARTBEAT_SECONDS: '0.3' };
  const a = startDaemon(spool, ['--worker-id', 'w-gone'], fast);
  await a.ready();
  dropJob(spool, job('orphan-job-01', 'test.sleep', { seconds: 30 }, { execution: { max_attempts: 2 } }));
  await waitFor(() => readEvents(spool, 'orphan-job-01').length >= 2, 20_000, 'running on w-gone');
  a.proc.kill('SIGKILL');
  await a.exited;
  const b = startDaemon(spool, ['--worker-id', 'w-heir'], fast);
  try {
    await b.ready();
    await b.waitForLog((l) => l.dead_worker === 'w-gone', 20_000);
    const store = StoreReader.open(spool.data);
    try {
      await waitFor(() => store.getJob('orphan-job-01')?.status === 'running' && store.getJob('orphan-job-01')?.worker_id === 'w-heir', 20_000, 'adopted and re-run');
      assert.equal(store.getJob('orphan-job-01')!.attempt, 2);
    } finally {
      store.close();
    }
    assert.deepEqual(listDir(join(spool.jobs, 'claimed', 'w-gone')), []);
    writeFileSync(join(spool.jobs, 'orphan-job-01.cancel'), '');
    assert.equal((await waitForResult(spool, 'orphan-job-01')).status, 'cancelled');
  } finally {
    await b.stop();
  }
});
