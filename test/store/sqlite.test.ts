import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isStoreUnavailable } from '../../src/ports/job-store.js';
import type { JobResult } from '../../src/protocol/index.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { jobDoc, jobStoreContract } from './contract.js';

jobStoreContract({
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
    return {
      store: SqliteJobStore.open(dir),
      reopen: async () => SqliteJobStore.open(dir),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

test('sqlite store: WAL, migrated to the current schema, reopened without migrating twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
  const s = SqliteJobStore.open(dir);
  await s.submit({ job: jobDoc('s-wal-01') });
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  const version = s.db.pragma('user_version', { simple: true });
  await s.close();
  const again = SqliteJobStore.open(dir);
  try {
    assert.equal(again.db.pragma('user_version', { simple: true }), version);
    assert.equal((await again.get('s-wal-01'))!.status, 'pending');
  } finally {
    await again.close();
  }
});

test('sqlite store: a lock held by another process is waited for without blocking the event loop, then is one typed failure for the whole batch; the next commit clears it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
  const s = SqliteJobStore.open(dir, { busyTimeoutMs: 200 });
  const other = new Database(join(dir, 'guestkit.db'));
  const heard: string[] = [];
  s.onUnavailable((e) => heard.push(e.storeCode));
  try {
    await s.submit({ job: jobDoc('s-lock-01') });
    other.exec('BEGIN IMMEDIATE');
    // the event loop keeps turning while the batch waits for the lock
    let turns = 0;
    const ticker = setInterval(() => turns++, 5);
    const writes = [s.submit({ job: jobDoc('s-lock-02') }), s.heartbeat('w1', 'ready', 0)];
    const outs = await Promise.allSettled(writes);
    clearInterval(ticker);
    assert.ok(turns >= 3, `timers ran while the store waited (${turns})`);
    for (const o of outs) assert.ok(o.status === 'rejected' && isStoreUnavailable(o.reason) && o.reason.storeCode === 'SQLITE_BUSY' && o.reason.retryRecommended);
    assert.equal(s.unavailable?.code, 'SQLITE_BUSY');
    assert.deepEqual(heard, ['SQLITE_BUSY']);
    // reads still work in WAL mode while another process writes
    assert.equal((await s.get('s-lock-01'))!.status, 'pending');
    assert.equal(await s.get('s-lock-02'), undefined, 'nothing of the failed batch was kept');
    await assert.rejects(s.probe('w1', 'ready', 0), isStoreUnavailable);
    other.exec('COMMIT');
    await s.submit({ job: jobDoc('s-lock-02') });
    assert.equal(s.unavailable, undefined);
    // a wrong request is not a store failure
    await assert.rejects(s.claim('s-missing-01', 'w1'), (e) => !isStoreUnavailable(e));
    assert.equal(s.unavailable, undefined);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await s.close();
  }
});

test('sqlite store: writes of one turn share one commit (group commit), each still atomic', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
  const s = SqliteJobStore.open(dir);
  try {
    let commits = 0;
    const exec = s.db.exec.bind(s.db);
    s.db.exec = ((sql: string) => {
      if (sql === 'COMMIT') commits++;
      return exec(sql);
    }) as typeof s.db.exec;
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.submit({ job: jobDoc(`s-gc-${String(i).padStart(2, '0')}`) })));
    assert.equal(commits, 1);
    assert.equal((await s.list({ limit: 100 })).items.length, 50);
  } finally {
    await s.close();
  }
});

test('sqlite store: a hot write refused midway (no savepoint of its own) leaves nothing behind; the rest of its batch still commits, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
  const s = SqliteJobStore.open(dir);
  try {
    await s.submit({ job: jobDoc('s-bare-ran') });
    await s.submit({ job: jobDoc('s-bare-bad') });
    let commits = 0;
    let rollbacks = 0;
    const exec = s.db.exec.bind(s.db);
    s.db.exec = ((sql: string) => {
      if (sql === 'COMMIT') commits++;
      if (sql === 'ROLLBACK') rollbacks++;
      return exec(sql);
    }) as typeof s.db.exec;
    const built: string[] = [];
    // the bad job's event has no phase: its attempt row is written before the event is refused
    const end = (id: string, phase: string | null) => ({ attempt, nextSequence }: { attempt: number; nextSequence: number }) => {
      built.push(id);
      const r = { job_id: id, status: 'completed', worker_id: 'w1', execution_summary: { started_at: '2026-01-30T16:00:00Z', duration_seconds: 0, attempt } } as JobResult;
      return { status: 'completed' as const, result: r, events: [{ job_id: id, sequence: nextSequence, timestamp: '2026-01-30T16:00:00Z', phase, message: 'done' } as never] };
    };
    const out = await Promise.allSettled([
      s.submit({ job: jobDoc('s-bare-before') }),
      s.beginAndEnd!('s-bare-ran', 'w1', {}, end('s-bare-ran', 'result_generation')),
      s.beginAndEnd!('s-bare-bad', 'w1', {}, end('s-bare-bad', null)),
      s.submit({ job: jobDoc('s-bare-after') }),
    ]);
    assert.deepEqual(out.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.ok(!isStoreUnavailable((out[2] as PromiseRejectedResult).reason), 'one refused write is not a storage failure');
    assert.equal(rollbacks, 1, 'the batch was rolled back once and run again');
    assert.equal(commits, 1);
    assert.deepEqual(built, ['s-bare-ran', 's-bare-bad', 's-bare-ran', 's-bare-bad'], 'end() was built again for the replay');
    const bad = await s.get('s-bare-bad');
    assert.equal(bad!.status, 'pending');
    assert.equal(bad!.attempt, 0);
    assert.equal((s.db.prepare('SELECT count(*) AS n FROM attempts WHERE job_id = ?').get('s-bare-bad') as { n: number }).n, 0);
    assert.equal((s.db.prepare('SELECT count(*) AS n FROM transitions WHERE job_id = ?').get('s-bare-bad') as { n: number }).n, 1);
    assert.equal((await s.get('s-bare-before'))!.status, 'pending');
    assert.equal((await s.get('s-bare-after'))!.status, 'pending');
    assert.equal((await s.get('s-bare-ran'))!.status, 'completed');
    // each edge once: the replay did not record the first run's half
    assert.deepEqual((s.db.prepare('SELECT to_status FROM transitions WHERE job_id = ? ORDER BY id').all('s-bare-ran') as { to_status: string }[]).map((r) => r.to_status), ['pending', 'assigned', 'running', 'completed']);
    assert.equal((await s.events('s-bare-ran')).length, 1);
    // the next batch runs bare again
    await Promise.all([s.submit({ job: jobDoc('s-bare-next-1') }), s.submit({ job: jobDoc('s-bare-next-2') })]);
    assert.equal(rollbacks, 1);
    assert.equal(commits, 2);
  } finally {
    await s.close();
  }
});

test('sqlite store: beginAndEnd records what begin + appendEvent + finish record, in one step; end() sees the attempt and next sequence', async () => {
  const s = SqliteJobStore.open(':memory:');
  try {
    const result = (id: string) => ({ job_id: id, status: 'completed', worker_id: 'w1', execution_summary: { started_at: '2026-01-30T16:00:00Z', duration_seconds: 0, attempt: 1 }, data: { ok: id } }) as unknown as JobResult;
    const ev = (id: string, sequence: number) => ({ job_id: id, timestamp: '2026-01-30T16:00:00.000Z', sequence, phase: 'execution', message: `line ${sequence}` });
    for (const id of ['ba-step', 'ba-once']) await s.submit({ job: jobDoc(id), source: `${id}.json`, owner: 'w1' });
    // the long way
    await s.begin('ba-step', 'w1', { source: 'ba-step.json', minAttempt: 1 });
    await s.appendEvent(ev('ba-step', 0));
    await s.appendEvent(ev('ba-step', 1));
    await s.finish('ba-step', 'completed', result('ba-step'));
    // one step
    const seen: unknown[] = [];
    const b = await s.beginAndEnd!('ba-once', 'w1', { source: 'ba-once.json', minAttempt: 1 }, (start) => {
      seen.push(start);
      return { events: [ev('ba-once', start.nextSequence), ev('ba-once', start.nextSequence + 1)], status: 'completed', result: result('ba-once') };
    });
    assert.deepEqual(seen, [{ attempt: 1, nextSequence: 0 }]);
    assert.equal(b.kind, 'claimed');
    assert.equal(b.ended, true);
    const shape = async (id: string) => {
      const rec = (await s.get(id))!;
      return {
        status: rec.status,
        attempt: rec.attempt,
        workerId: rec.workerId,
        source: rec.source?.replace(id, 'X'),
        started: rec.startedAt !== null,
        finished: rec.finishedAt !== null,
        errorCode: rec.errorCode,
        transitions: (await s.transitions(id)).map((t) => [t.from, t.to, t.attempt, t.workerId, t.reason]),
        attempts: (await s.attempts(id)).map((a) => [a.attempt, a.workerId, a.status, a.finishedAt !== null]),
        events: (await s.events(id)).map((e) => [e.sequence, e.message]),
        result: (await s.result(id))?.data,
      };
    };
    const step = await shape('ba-step');
    const once = await shape('ba-once');
    assert.deepEqual({ ...once, result: undefined }, { ...step, result: undefined });
    assert.deepEqual(once.result, { ok: 'ba-once' });
    assert.deepEqual(once.transitions.map((t) => t[1]), ['pending', 'assigned', 'running', 'completed']);
    // end() declining: only the begin is recorded; a finished job is a duplicate and end() is not asked
    await s.submit({ job: jobDoc('ba-decline') });
    const declined = await s.beginAndEnd!('ba-decline', 'w1', {}, () => undefined);
    assert.equal(declined.ended, undefined);
    assert.equal((await s.get('ba-decline'))!.status, 'running');
    let asked = false;
    const dup = await s.beginAndEnd!('ba-once', 'w1', {}, () => ((asked = true), undefined));
    assert.deepEqual([dup.kind, asked], ['duplicate', false]);
  } finally {
    await s.close();
  }
});
