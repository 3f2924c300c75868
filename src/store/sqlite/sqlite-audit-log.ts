import type Database from 'better-sqlite3';
import { fromRow, toRow, type AuditRow } from '../audit-rows.js';
import { GuestkitError } from '../../protocol/errors.js';
import {
  chainEntry,
  DEFAULT_AUDIT_PAGE,
  GENESIS_HASH,
  linkProblem,
  MAX_AUDIT_PAGE,
  normaliseInput,
  type AuditEntry,
  type AuditInput,
  type AuditLog,
  type AuditPage,
  type AuditVerdict,
} from '../../ports/audit-log.js';
import { classify } from './connection.js';
import type { ControlDb } from './control-db.js';

export interface AuditLogOptions {
  /** The clock (tests move it). */
  now?: () => number;
}


interface Head {
  seq: number;
  hash: string;
}

const VERIFY_CHUNK = 2_000;

/**
 * The audit log in control.db. Appends of one event-loop turn share one transaction (the
 * group commit); each entry is linked onto the chain when its insert runs, so chain order
 * is commit order. `head` is the last committed entry; `pending` runs ahead of it within a
 * batch and falls back to it when the batch fails.
 */
export class SqliteAuditLog implements AuditLog {
  private readonly now: () => number;
  private readonly s: ReturnType<typeof prepare>;
  private head: Head;
  private pending: Head;
  /** Whether this batch has compared the head with the database yet. */
  private synced = false;
  private closed = false;
  private readonly pages = new Map<string, Database.Statement>();

  constructor(private readonly cdb: ControlDb, opts: AuditLogOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.s = prepare(cdb.db);
    this.head = this.storedHead() ?? { seq: 0, hash: GENESIS_HASH };
    this.pending = this.head;
    cdb.onBatch(
      () => {
        this.head = this.pending;
        this.synced = false;
      },
      () => {
        this.pending = this.head;
        this.synced = false;
      },
    );
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    const clean = normaliseInput(input);
    const at = this.now();
    return this.cdb.commits.run('audit.append', () => {
      if (!this.synced) {
        // another process (the CLI beside a server) may have appended since our last batch;
        // a stored head behind ours (rows deleted) is kept as a gap that verify reports
        const stored = this.storedHead();
        if (stored && stored.seq > this.pending.seq) this.pending = stored;
        this.synced = true;
      }
      const e = chainEntry(this.pending, clean, at);
      this.s.insert.run(toRow(e));
      this.pending = { seq: e.seq, hash: e.hash };
      return e;
    });
  }

  async list(query: { limit?: number; cursor?: string; from?: number; to?: number } = {}): Promise<AuditPage> {
    const asked = query.limit !== undefined && Number.isFinite(query.limit) ? Math.floor(query.limit) : DEFAULT_AUDIT_PAGE;
    const limit = Math.min(MAX_AUDIT_PAGE, Math.max(1, asked));
    let before = Number.MAX_SAFE_INTEGER;
    if (query.cursor !== undefined) {
      if (!/^[1-9]\d{0,15}$/.test(query.cursor)) {
        throw new GuestkitError('VALIDATION_ERROR', 'cursor must be an audit sequence number from a previous page', { details: { field: 'cursor' } });
      }
      before = Number(query.cursor);
    }
    const rows = this.read('audit.list', () => {
      const params: Record<string, number> = { before, limit: limit + 1 };
      if (query.from !== undefined) params.from = query.from;
      if (query.to !== undefined) params.to = query.to;
      return this.pageStatement(query.from !== undefined, query.to !== undefined).all(params) as AuditRow[];
    });
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => {
      const e = fromRow(r);
      if (typeof e === 'string') throw new GuestkitError('EXECUTION_ERROR', `audit entry ${r.seq} is unreadable: ${e} (run guestkit audit verify)`);
      return e;
    });
    return more ? { items, next: String(items[items.length - 1]!.seq) } : { items };
  }

  async verify(): Promise<AuditVerdict> {
    let prev: Head | undefined;
    let entries = 0;
    for (;;) {
      const rows = this.read('audit.verify', () => this.s.chunk.all(prev?.seq ?? 0, VERIFY_CHUNK) as AuditRow[]);
      for (const r of rows) {
        const e = fromRow(r);
        if (typeof e === 'string') return { ok: false, entries, brokenAt: r.seq, reason: `entry ${r.seq} is malformed: ${e}` };
        const problem = linkProblem(prev, e);
        if (problem) return { ok: false, entries, ...problem };
        prev = { seq: e.seq, hash: e.hash };
        entries++;
      }
      if (rows.length < VERIFY_CHUNK) return { ok: true, entries };
      // a long chain: let the event loop breathe between chunks
      await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cdb.release();
  }

  /** A bound on `at` only when asked for: an unbounded one would steer SQLite onto the `at` index and a sort. */
  private pageStatement(from: boolean, to: boolean): Database.Statement {
    const key = `${Number(from)}${Number(to)}`;
    let st = this.pages.get(key);
    if (!st) {
      const where = ['seq < @before', ...(from ? ['at >= @from'] : []), ...(to ? ['at <= @to'] : [])].join(' AND ');
      st = this.cdb.db.prepare(`SELECT * FROM audit_log WHERE ${where} ORDER BY seq DESC LIMIT @limit`);
      this.pages.set(key, st);
    }
    return st;
  }

  private storedHead(): Head | undefined {
    return this.s.last.get() as Head | undefined;
  }

  private read<T>(op: string, fn: () => T): T {
    if (this.closed) throw new GuestkitError('EXECUTION_ERROR', 'the audit log is closed');
    try {
      return fn();
    } catch (err) {
      throw classify(op, err);
    }
  }
}


function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO audit_log (seq, at, actor, role, namespace, action, target, source_ip, outcome, status, details, prev_hash, hash)
       VALUES (@seq, @at, @actor, @role, @namespace, @action, @target, @source_ip, @outcome, @status, @details, @prev_hash, @hash)`,
    ),
    last: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
    chunk: db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?'),
  };
}
