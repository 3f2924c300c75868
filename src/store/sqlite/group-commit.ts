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
  /** Several statements with no savepoint of their own: see GroupCommit.runBare. */
  bare: boolean;
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
 *
 * Hot writes (runBare) skip their savepoint: a savepoint and its release cost about as much
 * as one of their statements. When one of them is refused midway, the whole batch is rolled
 * back and run again with a savepoint around each, so the others still commit without its
 * half. Every write of a batch must therefore be safe to run twice (no effect outside the
 * database before its promise settles).
 */
export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private lockWaitSince = 0;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;
  /** The next batch runs each bare write in a savepoint (a bare write of the last one was refused midway). */
  private guarded = false;
  private savepoint?: { begin: Database.Statement; release: Database.Statement; undo: Database.Statement };

  constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number,
    private readonly hooks: GroupCommitHooks,
  ) {}

  run<T>(op: string, fn: () => T, maxWaitMs = this.busyTimeoutMs): Promise<T> {
    return this.enqueue(op, fn, maxWaitMs, false);
  }

  /**
   * A write of several statements that is not atomic by itself: run without a savepoint,
   * and when it throws midway, its batch is rolled back and run again with a savepoint
   * around each bare write (it may run twice: it must do nothing outside the database).
   */
  runBare<T>(op: string, fn: () => T): Promise<T> {
    return this.enqueue(op, fn, this.busyTimeoutMs, true);
  }

  private enqueue<T>(op: string, fn: () => T, maxWaitMs: number, bare: boolean): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(op, 'CLOSED', new Error('the store is closed')));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, fn, resolve: resolve as (v: unknown) => void, reject, maxWaitMs, bare });
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
    const guarded = this.guarded;
    this.guarded = false;
    const done: { op: Op; value: unknown }[] = [];
    let refused: Set<Op> | undefined;
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i]!;
      let value: unknown;
      try {
        value = op.bare && guarded ? this.inSavepoint(op.fn) : op.fn();
      } catch (err) {
        const e = classify(op.op, err);
        if (isStoreUnavailable(e)) {
          this.failAll(batch.slice(i), done, op.op, e);
          return;
        }
        if (op.bare && !guarded) {
          // the writes refused already keep their answer: never run (and committed) again
          this.replay(refused ? batch.filter((o) => !refused!.has(o)) : batch, op.op);
          return;
        }
        op.reject(e); // this write alone is refused (its savepoint rolled back)
        (refused ??= new Set()).add(op);
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

  /** A bare write stopped midway: nothing of the batch stays; it runs again, each bare write in a savepoint. */
  private replay(batch: Op[], op: string): void {
    try {
      this.db.exec('ROLLBACK');
    } catch (err) {
      // an error SQLite answers with a rollback of its own leaves no transaction: nothing to undo
      if (this.db.inTransaction) {
        this.failAll(batch, [], op, err);
        return;
      }
    }
    this.queue.unshift(...batch);
    this.guarded = true;
    this.flush();
  }

  private inSavepoint<T>(fn: () => T): T {
    const sp = (this.savepoint ??= {
      begin: this.db.prepare('SAVEPOINT gc_write'),
      release: this.db.prepare('RELEASE gc_write'),
      undo: this.db.prepare('ROLLBACK TO gc_write'),
    });
    sp.begin.run();
    try {
      const v = fn();
      sp.release.run();
      return v;
    } catch (err) {
      if (this.db.inTransaction) {
        sp.undo.run();
        sp.release.run();
      }
      throw err;
    }
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
