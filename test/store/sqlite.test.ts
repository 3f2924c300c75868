import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isStoreUnavailable } from '../../src/ports/job-store.js';
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
