import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGuestkitError } from '../../src/protocol/errors.js';
import Database from 'better-sqlite3';
import { isStoreUnavailable, Store, type AdmitInput } from '../../src/store/store.js';

const input = (jobId: string, over: Partial<AdmitInput> = {}): AdmitInput => ({
  jobId,
  operation: 'system.echo',
  priority: 5,
  maxAttempts: 2,
  doc: { job_id: jobId },
  createdAt: '2026-01-30T16:00:00Z',
  workerId: 'w1',
  ...over,
});

const fresh = () => Store.open(mkdtempSync(join(tmpdir(), 'gk-store-')));

test('store: the state machine walks pending → assigned → running → completed and refuses illegal edges', () => {
  const s = fresh();
  try {
    assert.equal(s.admit(input('job-aaaa-01')).kind, 'admitted');
    assert.equal(s.startAttempt('job-aaaa-01', 'w1'), 1);
    assert.throws(() => s.startAttempt('job-aaaa-01', 'w1'), (e) => isGuestkitError(e) && /illegal state change running → running/.test(e.message));
    s.finish('job-aaaa-01', 'completed', { ok: true });
    assert.throws(() => s.transition('job-aaaa-01', 'running'), /illegal state change completed → running/);
    assert.deepEqual(s.result('job-aaaa-01'), { ok: true });
    assert.deepEqual(s.transitions('job-aaaa-01').map((t) => t.to_status), ['assigned', 'running', 'completed']);
    // a finished job id submitted again is a duplicate
    assert.equal(s.admit(input('job-aaaa-01')).kind, 'duplicate');
  } finally {
    s.close();
  }
});

test('store: a retried or recovered job resumes with its attempt count; drained attempts are refunded', () => {
  const s = fresh();
  try {
    s.admit(input('job-bbbb-01'));
    s.startAttempt('job-bbbb-01', 'w1');
    s.transition('job-bbbb-01', 'pending', { workerId: null, attemptOutcome: 'lost', errorCode: 'WORKER_LOST' });
    const again = s.admit(input('job-bbbb-01', { workerId: 'w2' }));
    assert.ok(again.kind === 'admitted' && again.resumed);
    assert.equal(s.startAttempt('job-bbbb-01', 'w2'), 2);
    s.transition('job-bbbb-01', 'pending', { workerId: null, refundAttempt: true, attemptOutcome: 'interrupted' });
    assert.equal(s.getJob('job-bbbb-01')!.attempt, 1);
    assert.deepEqual(s.attempts('job-bbbb-01').map((a) => [a.attempt, a.worker_id, a.status]), [[1, 'w1', 'lost'], [2, 'w2', 'interrupted']]);
    // a job held by another live worker is not taken over
    s.admit(input('job-bbbb-01', { workerId: 'w3' }));
    s.startAttempt('job-bbbb-01', 'w3');
    assert.equal(s.admit(input('job-bbbb-01', { workerId: 'w4' })).kind, 'duplicate');
  } finally {
    s.close();
  }
});

test('store: idempotency keys — acquired, completed (first result), running (refused), released on failure, scoped', () => {
  const s = fresh();
  try {
    s.admit(input('idem-job-01', { idempotencyKey: 'k' }));
    assert.deepEqual(s.acquireIdempotency('ns', 'k', 'idem-job-01'), { kind: 'acquired' });
    assert.deepEqual(s.acquireIdempotency('ns', 'k', 'idem-job-01'), { kind: 'acquired' }, 'the holder may re-take it');
    s.admit(input('idem-job-02', { idempotencyKey: 'k' }));
    assert.deepEqual(s.acquireIdempotency('ns', 'k', 'idem-job-02'), { kind: 'running', jobId: 'idem-job-01' });
    assert.deepEqual(s.acquireIdempotency('other-ns', 'k', 'idem-job-02'), { kind: 'acquired' });
    s.startAttempt('idem-job-01', 'w1');
    s.finish('idem-job-01', 'completed', { answer: 42 }, { idempotencyScope: 'ns' });
    assert.deepEqual(s.acquireIdempotency('ns', 'k', 'idem-job-03'), { kind: 'completed', jobId: 'idem-job-01', result: { answer: 42 } });
    // a failed holder releases its key
    s.admit(input('idem-job-04', { idempotencyKey: 'f' }));
    s.acquireIdempotency('ns', 'f', 'idem-job-04');
    s.startAttempt('idem-job-04', 'w1');
    s.finish('idem-job-04', 'failed', { error: 'x' }, { idempotencyScope: 'ns' });
    assert.deepEqual(s.acquireIdempotency('ns', 'f', 'idem-job-05'), { kind: 'acquired' });
  } finally {
    s.close();
  }
});

test('store: survives reopening (durable) and migrations are idempotent; group commit publishes after commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
  let s = Store.open(dir);
  s.beginBatch();
  s.admit(input('batch-job-01'));
  const seen: string[] = [];
  s.afterCommit(() => seen.push('published'));
  assert.deepEqual(seen, [], 'not before the commit');
  s.commitBatch();
  assert.deepEqual(seen, ['published']);
  s.appendEvent({ job_id: 'batch-job-01', sequence: 0, timestamp: '2026-01-30T16:00:00Z', phase: 'validation', message: 'm' });
  s.registerWorker('w1', { worker_id: 'w1' }, 'ready', 0);
  s.close();
  s = Store.open(dir);
  try {
    assert.equal(s.getJob('batch-job-01')!.status, 'assigned');
    assert.equal(s.nextEventSequence('batch-job-01'), 1);
    assert.equal(s.nextEventSequence('other-job-01'), 0);
    assert.equal(s.worker('w1')!.state, 'ready');
    assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    s.close();
  }
});

test('store: a lock held by another process past the busy timeout is StoreUnavailableError; tryBeginBatch does not wait; the next committed write clears the failure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-store-'));
  const s = Store.open(dir, { busyTimeoutMs: 50 });
  const other = new Database(join(dir, 'guestkit.db'));
  const heard: string[] = [];
  s.onUnavailable((e) => heard.push(e.sqliteCode));
  try {
    s.registerWorker('w1', {}, 'ready', 0);
    s.admit(input('lock-job-01'));
    other.exec('BEGIN IMMEDIATE');
    assert.throws(() => s.admit(input('lock-job-02')), (e) => isStoreUnavailable(e) && e.sqliteCode === 'SQLITE_BUSY' && e.code === 'EXECUTION_ERROR' && e.retryRecommended);
    assert.equal(s.unavailable?.code, 'SQLITE_BUSY');
    assert.deepEqual(heard, ['SQLITE_BUSY']);
    const t0 = performance.now();
    assert.equal(s.tryBeginBatch(), false);
    assert.ok(performance.now() - t0 < 40, 'no busy wait');
    assert.throws(() => s.beginBatch(), isStoreUnavailable);
    assert.throws(() => s.probe('w1', 'ready', 0, 10), isStoreUnavailable);
    // reads still work in WAL mode while another process writes
    assert.equal(s.getJob('lock-job-01')!.status, 'assigned');
    other.exec('COMMIT');
    s.probe('w1', 'ready', 0);
    assert.equal(s.unavailable, undefined);
    // a non-store error is not a store failure
    assert.throws(() => s.startAttempt('missing-job-01', 'w1'), (e) => isGuestkitError(e, 'NOT_FOUND') && !isStoreUnavailable(e));
    assert.equal(s.unavailable, undefined);
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    s.close();
  }
});

test('store: a batch rolled back by a store failure runs the lost callbacks, not the commit ones; releaseInterrupted refunds the open attempt', () => {
  const s = fresh();
  try {
    s.admit(input('roll-job-01'));
    s.startAttempt('roll-job-01', 'w1');
    s.beginBatch();
    const id = s.batchId;
    assert.ok(id > 0);
    s.finish('roll-job-01', 'completed', { ok: true });
    const seen: string[] = [];
    s.afterCommit(() => seen.push('published'), () => seen.push('lost'));
    // what a failed COMMIT does: the batch is rolled back
    (s as unknown as { fail(op: string, cause: unknown): unknown }).fail('commit', Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }));
    assert.deepEqual(seen, ['lost']);
    assert.equal(s.batchId, 0);
    assert.equal(s.getJob('roll-job-01')!.status, 'running', 'the finish was rolled back');
    assert.equal(s.unavailable?.code, 'SQLITE_IOERR_WRITE');
    s.releaseInterrupted('roll-job-01', 'w1');
    const row = s.getJob('roll-job-01')!;
    assert.equal(row.status, 'pending');
    assert.equal(row.attempt, 0, 'the interrupted attempt is refunded');
    assert.deepEqual(s.attempts('roll-job-01').map((a) => a.status), ['interrupted']);
    assert.equal(s.unavailable, undefined, 'a committed write clears the failure');
    // the re-run is admitted again and counts as attempt 1
    assert.equal(s.admit(input('roll-job-01')).kind, 'admitted');
    assert.equal(s.startAttempt('roll-job-01', 'w1'), 1);
  } finally {
    s.close();
  }
});
