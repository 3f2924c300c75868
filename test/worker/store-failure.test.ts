import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { StoreReader } from '../helpers/store-reader.js';
import { dropJob, echoJob, job, listDir, makeSpool, readEvents, resultPath, sleep, startDaemon, waitFor, waitForResult, type Daemon, type SpoolDirs } from './helpers/daemon.js';

// The store fails for real: another process holds SQLite's write lock past the busy
// timeout, or the worker's file-size limit (prlimit, like a full disk) makes every write
// to the WAL fail, so the group COMMIT itself fails and rolls back.

async function http(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, text: await res.text() };
}

/** Every job file is somewhere in the spool: waiting in jobs/ or held in claimed/<worker>/. */
function jobFilesKept(spool: SpoolDirs, worker: string, names: string[]): void {
  const present = new Set([...listDir(spool.jobs), ...listDir(join(spool.jobs, 'claimed', worker))]);
  for (const n of names) assert.ok(present.has(n), `${n} is still in jobs/ or claimed/${worker}/`);
}

function completedOnce(spool: SpoolDirs, ids: string[]): void {
  const store = StoreReader.open(spool.data);
  try {
    for (const id of ids) {
      const ends = store.transitions(id).filter((t) => t.to_status === 'completed');
      assert.equal(ends.length, 1, `${id} completed exactly once in the store`);
      assert.equal(store.getJob(id)!.status, 'completed');
    }
  } finally {
    store.close();
  }
}

/** Sets the worker's file-size limit (soft; hard stays unlimited so it can be lifted again). */
function fsize(d: Daemon, soft: string): void {
  execFileSync('prlimit', ['--pid', String(d.proc.pid), `--fsize=${soft}:unlimited`]);
}

test('store locked past the busy timeout: the worker stays up, reports not-ready, keeps every job and completes them after the lock is released', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-lock', '--max-concurrent', '2', '--metrics-port', '0'], { GUESTKIT_STORE_BUSY_TIMEOUT_MS: '100' });
  let db: Database.Database | undefined;
  try {
    const port = (await d.ready()).metrics_port as number;
    dropJob(spool, echoJob('lock-warm-01'));
    assert.equal((await waitForResult(spool, 'lock-warm-01')).status, 'completed');
    // a thread job that is running when the lock is taken and ends while it is held
    dropJob(spool, job('lock-slow-01', 'test.sleep', { seconds: 1.2 }));
    await waitFor(() => readEvents(spool, 'lock-slow-01').length >= 2, 10_000, 'lock-slow-01 running');

    db = new Database(join(spool.data, 'guestkit.db'));
    db.exec('BEGIN IMMEDIATE'); // holds the write lock: every writer gets SQLITE_BUSY
    const ids = Array.from({ length: 30 }, (_, i) => `lock-echo-${String(i).padStart(2, '0')}`);
    const names = ids.map((id) => dropJob(spool, echoJob(id)));
    await d.waitForLog((l) => /job store unavailable: no new job starts/.test(l.msg));
    await d.waitForLog((l) => l.job_id === 'lock-slow-01' && /result is published only once the store records it/.test(l.msg), 10_000);

    assert.equal(d.proc.exitCode, null, 'the worker is alive');
    assert.equal((await http(port, '/healthz')).status, 200);
    const ready = await http(port, '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /job store unavailable since .*SQLITE_BUSY/);
    assert.match((await http(port, '/metrics')).text, /guestkit_store_available\{[^}]*\} 0/);
    for (const id of [...ids, 'lock-slow-01']) assert.ok(!existsSync(resultPath(spool, id)), `${id}: nothing published while the store cannot record it`);
    jobFilesKept(spool, 'w-lock', [...names, 'lock-slow-01.json']);

    db.exec('COMMIT');
    db.close();
    db = undefined;
    for (const id of [...ids, 'lock-slow-01']) assert.equal((await waitForResult(spool, id, 20_000)).status, 'completed', id);
    await d.waitForLog((l) => l.msg === 'job store available again; resuming');
    await waitFor(() => listDir(join(spool.jobs, 'claimed', 'w-lock')).length === 0, 5000, 'claims archived');
    assert.equal((await http(port, '/readyz')).status, 200);
    assert.match((await http(port, '/metrics')).text, /guestkit_store_available\{[^}]*\} 1/);
    assert.match((await http(port, '/metrics')).text, /guestkit_store_failures_total\{[^}]*\} [1-9]/);
  } finally {
    if (db?.inTransaction) db.exec('ROLLBACK');
    db?.close();
    assert.equal((await d.stop()).code, 0);
  }
  completedOnce(spool, ['lock-slow-01', 'lock-echo-00', 'lock-echo-29']);
  // the thread job's attempt 1 was recorded before the outage and ended after it
  const store = StoreReader.open(spool.data);
  try {
    assert.deepEqual(store.attempts('lock-slow-01').map((a) => [a.attempt, a.status]), [[1, 'completed']]);
  } finally {
    store.close();
  }
});

test('disk full (file-size limit): the group COMMIT fails and rolls back, the worker survives and re-runs those jobs once writes work again', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-full', '--max-concurrent', '4', '--metrics-port', '0']);
  try {
    const port = (await d.ready()).metrics_port as number;
    dropJob(spool, echoJob('full-warm-01'));
    await waitForResult(spool, 'full-warm-01');
    fsize(d, '1'); // any write past byte 1 of any file fails with EFBIG
    const ids = Array.from({ length: 20 }, (_, i) => `full-echo-${String(i).padStart(2, '0')}`);
    const names = ids.map((id) => dropJob(spool, echoJob(id)));
    const down = await d.waitForLog((l) => /job store unavailable: no new job starts/.test(l.msg));
    assert.match(String(down.store_error), /SQLITE_(IOERR|FULL)/);
    await sleep(500); // several recovery probes fail meanwhile
    assert.equal(d.proc.exitCode, null);
    assert.equal((await http(port, '/readyz')).status, 503);
    for (const id of ids) assert.ok(!existsSync(resultPath(spool, id)), `${id}: no result for a rolled-back job`);
    jobFilesKept(spool, 'w-full', names);

    fsize(d, 'unlimited');
    for (const id of ids) {
      const r = await waitForResult(spool, id, 20_000);
      assert.equal(r.status, 'completed', id);
      assert.equal(r.execution_summary.attempt, 1, `${id}: the rolled-back run does not count as an attempt`);
    }
    await waitFor(() => listDir(join(spool.jobs, 'claimed', 'w-full')).length === 0, 5000, 'claims archived');
    assert.equal((await http(port, '/readyz')).status, 200);
  } finally {
    fsize(d, 'unlimited');
    assert.equal((await d.stop()).code, 0);
  }
  completedOnce(spool, ['full-echo-00', 'full-echo-07', 'full-echo-19']);
});

test('killed while the store is failing: the accepted jobs are found by restart recovery and every job completes once', async () => {
  const spool = makeSpool();
  const release = join(spool.root, 'release-slow');
  const d1 = startDaemon(spool, ['--worker-id', 'w-full-kill', '--max-concurrent', '1']);
  const ids = Array.from({ length: 12 }, (_, i) => `kill-echo-${String(i).padStart(2, '0')}`);
  try {
    await d1.ready();
    dropJob(spool, echoJob('kill-warm-01'));
    await waitForResult(spool, 'kill-warm-01');
    // one slow job holds the only slot until the test releases it (however loaded the machine),
    // so the echo jobs are accepted (pending in the store) and wait
    dropJob(spool, job('kill-slow-01', 'test.sleep', { seconds: 600, until_file: release }, { execution: { max_attempts: 2, timeout_seconds: 900 } }));
    await waitFor(() => readEvents(spool, 'kill-slow-01').length >= 1, 30_000, 'kill-slow-01 running');
    ids.forEach((id) => dropJob(spool, echoJob(id)));
    await waitFor(() => listDir(join(spool.jobs, 'claimed', 'w-full-kill')).length === 13, 30_000, 'all accepted');
    fsize(d1, '1');
    await d1.waitForLog((l) => /job store unavailable: no new job starts/.test(l.msg));
    await sleep(200);
    assert.equal(listDir(join(spool.jobs, 'claimed', 'w-full-kill')).length, 13, 'the accepted jobs stay claimed while the store fails');
  } finally {
    d1.proc.kill('SIGKILL');
    await d1.exited;
  }
  writeFileSync(release, '');

  const d2 = startDaemon(spool, ['--worker-id', 'w-full-kill', '--max-concurrent', '4']);
  try {
    await d2.ready();
    for (const id of [...ids, 'kill-slow-01']) assert.equal((await waitForResult(spool, id, 60_000)).status, 'completed', id);
  } finally {
    assert.equal((await d2.stop()).code, 0);
  }
  completedOnce(spool, [...ids, 'kill-slow-01']);
  assert.deepEqual(listDir(join(spool.jobs, 'claimed', 'w-full-kill')), []);
});

test('SIGTERM while the store is locked: the worker drains promptly and exits 0; after the lock is gone a restart completes every job', async () => {
  const spool = makeSpool();
  const args = ['--worker-id', 'w-lock-drain', '--max-concurrent', '2', '--drain-timeout', '1'];
  const env = { GUESTKIT_STORE_BUSY_TIMEOUT_MS: '100' };
  const d1 = startDaemon(spool, args, env);
  await d1.ready();
  dropJob(spool, job('drain-slow-01', 'test.sleep', { seconds: 12 }, { execution: { max_attempts: 2 } }));
  await waitFor(() => readEvents(spool, 'drain-slow-01').length >= 2, 10_000, 'drain-slow-01 running');
  const db = new Database(join(spool.data, 'guestkit.db'));
  db.exec('BEGIN IMMEDIATE');
  const ids = Array.from({ length: 10 }, (_, i) => `drain-echo-${String(i).padStart(2, '0')}`);
  ids.forEach((id) => dropJob(spool, echoJob(id)));
  await d1.waitForLog((l) => /job store unavailable: no new job starts/.test(l.msg));
  // SIGKILL follows after 10 s: a drain that waited for the 12 s job or on the locked store
  // would end by that signal (code null), never with exit code 0
  const exit = await d1.stop('SIGTERM', 10_000);
  assert.equal(exit.code, 0);
  db.exec('COMMIT');
  db.close();

  const d2 = startDaemon(spool, args, env);
  try {
    await d2.ready();
    for (const id of [...ids, 'drain-slow-01']) assert.equal((await waitForResult(spool, id, 30_000)).status, 'completed', id);
  } finally {
    assert.equal((await d2.stop()).code, 0);
  }
  completedOnce(spool, [...ids, 'drain-slow-01']);
});
