import type Database from 'better-sqlite3';
import { isStoreUnavailable, StoreUnavailableError } from '../../ports/job-store.js';
import { classify, sqliteCode } from './connection.js';

interface Op {
  op: string;
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Longest this write may wait for another process's lock (probes wait less). */
  maxWaitMs: number;
}

export interface GroupCommitHooks {
  /** A storage failure: every write of the batch was rolled back and rejected with it. */
  failed(err: StoreUnavailableError): void;
  committed(): void;
}

/**
 * Group commit: the writes asked for during one event-loop turn run in one transaction,
 * each atomically (a savepoint when it has several statements), committed together on
 * setImmediate. Their promises resolve once COMMIT returns (durable) and all reject when
 * it fails. The write lock is taken without blocking the event loop: while another
 * process holds it the batch is retried with a short back-off, and only a lock held past
 * the busy timeout counts as a storage failure.
 */
export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private lockWaitSince = 0;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number,
    private readonly hooks: GroupCommitHooks,
  ) {}

  run<T>(op: string, fn: () => T, maxWaitMs = this.busyTimeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(op, 'CLOSED', new Error('the store is closed')));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, fn, resolve: resolve as (v: unknown) => void, reject, maxWaitMs });
      if (!this.scheduled && !this.retryTimer) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (close, probes); a held lock fails it at once. */
  flushNow(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.lockWaitSince = Number.MIN_SAFE_INTEGER; // no more waiting
    this.flush();
  }

  close(): void {
    if (this.queue.length) this.flushNow();
    this.closed = true;
  }

  private flush(): void {
    this.scheduled = false;
    this.retryTimer = undefined;
    if (this.queue.length === 0) return;
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_BUSY' && this.waitForLock()) return;
      this.lockWaitSince = 0;
      this.failAll(this.queue.splice(0), [], 'begin', err);
      return;
    }
    this.lockWaitSince = 0;
    const batch = this.queue.splice(0);
    const done: { op: Op; value: unknown }[] = [];
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i]!;
      let value: unknown;
      try {
        value = op.fn();
      } catch (err) {
        const e = classify(op.op, err);
        if (isStoreUnavailable(e)) {
          this.failAll(batch.slice(i), done, op.op, e);
          return;
        }
        op.reject(e); // this write alone is refused (its savepoint rolled back)
        continue;
      }
      done.push({ op, value });
    }
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      this.failAll([], done, 'commit', err);
      return;
    }
    for (const d of done) d.op.resolve(d.value);
    this.hooks.committed();
  }

  /** true = retried later; false = waited long enough, the batch fails. */
  private waitForLock(): boolean {
    const now = Date.now();
    if (this.lockWaitSince === 0) this.lockWaitSince = now;
    const waited = now - this.lockWaitSince;
    const budget = Math.min(...this.queue.map((o) => o.maxWaitMs));
    if (waited >= budget) return false;
    // 1 ms at first (another worker's batch is short), longer while the lock stays taken
    this.retryTimer = setTimeout(() => this.flush(), Math.min(50, 1 + waited / 10));
    return true;
  }

  private failAll(pending: Op[], done: { op: Op }[], op: string, cause: unknown): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      /* already rolled back by SQLite, or the connection is broken */
    }
    const c = classify(op, cause);
    const err = isStoreUnavailable(c) ? c : new StoreUnavailableError(op, sqliteCode(cause) ?? 'UNKNOWN', cause);
    for (const d of done) d.op.reject(err);
    for (const p of pending) p.reject(err);
    this.hooks.failed(err);
  }
}
