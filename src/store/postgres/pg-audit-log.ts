import type pg from 'pg';
import { fromRow, toRow, type AuditRow } from '../audit-rows.js';
import { GuestkitError } from '../../protocol/errors.js';
import {
  chainEntry,
  DEFAULT_AUDIT_PAGE,
  linkProblem,
  MAX_AUDIT_PAGE,
  normaliseInput,
  type AuditEntry,
  type AuditInput,
  type AuditLog,
  type AuditPage,
  type AuditVerdict,
} from '../../ports/audit-log.js';
import { isStoreUnavailable, StoreUnavailableError } from '../../ports/job-store.js';
import { classifyPg, pgFailure } from './connection.js';
import type { PgControlDb } from './pg-control-db.js';

export interface PgAuditLogOptions {
  /** The clock (tests move it). */
  now?: () => number;
  /** ms an append batch keeps retrying while the database is away or the head is locked (default 5,000; 0: fail at once). */
  retryMs?: number;
  /** ms one try waits for the chain head held by another process (default 2,000). */
  lockTimeoutMs?: number;
}


interface Head {
  seq: number;
  hash: string;
}

interface Pending {
  input: AuditInput;
  at: number;
  resolve: (e: AuditEntry) => void;
  reject: (e: unknown) => void;
}

const VERIFY_CHUNK = 2_000;
const MAX_BATCH = 1_000;

const INSERT = `INSERT INTO audit_log (seq, at, actor, role, namespace, action, target, source_ip, outcome, status, details, prev_hash, hash)
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(seq bigint, at bigint, actor text, role text, namespace text, action text,
    target text, source_ip text, outcome text, status integer, details text, prev_hash text, hash text)`;

/**
 * The audit log in PostgreSQL. Appends of one event-loop turn share one transaction:
 * it locks the head row (audit_head, SELECT … FOR UPDATE), links the entries onto it,
 * inserts them with one statement and moves the head, so processes all over a cluster
 * append to one chain in commit order. A batch cut by a lost connection is checked against
 * the head before it is tried again: it is never written twice.
 */
export class PgAuditLog implements AuditLog {
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly lockTimeoutMs: number;
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = false;
  private idle: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly db: PgControlDb,
    opts: PgAuditLogOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.retryMs = Math.max(0, opts.retryMs ?? 5_000);
    this.lockTimeoutMs = Math.max(1, opts.lockTimeoutMs ?? 2_000);
  }

  static async create(db: PgControlDb, opts: PgAuditLogOptions = {}): Promise<PgAuditLog> {
    return new PgAuditLog(db, opts);
  }

  async append(input: AuditInput): Promise<AuditEntry> {
    const clean = normaliseInput(input);
    if (this.closed) throw new GuestkitError('EXECUTION_ERROR', 'the audit log is closed');
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ input: clean, at: this.now(), resolve, reject });
      if (!this.scheduled && !this.inFlight) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
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
    const params: unknown[] = [before, limit + 1];
    const where = ['seq < $1'];
    if (query.from !== undefined) where.push(`at >= $${params.push(query.from)}`);
    if (query.to !== undefined) where.push(`at <= $${params.push(query.to)}`);
    const rows = await this.read<AuditRow>('audit.list', `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $2`, params);
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map((r) => {
      const e = fromRow(r);
      if (typeof e === 'string') throw new GuestkitError('EXECUTION_ERROR', `audit entry ${r.seq} is unreadable: ${e} (run guestkit audit verify)`);
      return e;
    });
    return more ? { items, next: String(items[items.length - 1]!.seq) } : { items };
  }

  async verify(): Promise<AuditVerdict> {
    // the head first: every entry up to it must be there (later appends are walked too)
    const head = (await this.read<Head>('audit.verify', 'SELECT seq, hash FROM audit_head WHERE id = 1', []))[0];
    let prev: Head | undefined;
    let entries = 0;
    for (;;) {
      const rows = await this.read<AuditRow>('audit.verify', 'SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [prev?.seq ?? 0, VERIFY_CHUNK]);
      for (const r of rows) {
        const e = fromRow(r);
        if (typeof e === 'string') return { ok: false, entries, brokenAt: r.seq, reason: `entry ${r.seq} is malformed: ${e}` };
        const problem = linkProblem(prev, e);
        if (problem) return { ok: false, entries, ...problem };
        prev = { seq: e.seq, hash: e.hash };
        entries++;
      }
      if (rows.length < VERIFY_CHUNK) break;
      await new Promise((r) => setImmediate(r));
    }
    const last = prev?.seq ?? 0;
    if (head && head.seq > last) {
      const span = head.seq - last > 1 ? `entries ${last + 1} to ${head.seq} are` : `entry ${head.seq} is`;
      return { ok: false, entries, brokenAt: last + 1, reason: `${span} missing (deleted?): the chain's head is entry ${head.seq}` };
    }
    return { ok: true, entries };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.inFlight || this.queue.length) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
    await this.db.release();
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.inFlight) return;
    if (!this.queue.length) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    this.inFlight = true;
    try {
      await this.commit(this.queue.splice(0, MAX_BATCH));
    } finally {
      this.inFlight = false;
      if (this.queue.length) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      } else for (const r of this.idle.splice(0)) r();
    }
  }

  /** One batch: tried until retryMs; a wrong entry (not a storage failure) fails alone. */
  private async commit(batch: Pending[]): Promise<void> {
    const deadline = Date.now() + this.retryMs;
    let written: AuditEntry[] | undefined; // a try whose COMMIT went unanswered
    for (let attempt = 0; ; attempt++) {
      try {
        if (written) {
          const done = await this.committed(written);
          written = undefined;
          if (done) {
            batch.forEach((p, i) => p.resolve(done[i]!));
            return;
          }
        }
        const entries = await this.tryCommit(batch, (w) => (written = w));
        written = undefined;
        batch.forEach((p, i) => p.resolve(entries[i]!));
        return;
      } catch (err) {
        const f = pgFailure(err);
        if (f.kind === 'bug') {
          written = undefined;
          if (batch.length === 1) batch[0]!.reject(err);
          else for (const p of batch) await this.commit([p]);
          return;
        }
        if (f.kind === 'transient') written = undefined; // the server rolled it back
        if (Date.now() >= deadline || this.closed) {
          const e = classifyPg('audit.append', err);
          const u = isStoreUnavailable(e) ? e : new StoreUnavailableError('audit.append', f.code, err);
          for (const p of batch) p.reject(u);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt, Math.max(1, deadline - Date.now()))));
      }
    }
  }

  private async tryCommit(batch: Pending[], sent: (w: AuditEntry[]) => void): Promise<AuditEntry[]> {
    const client = await this.db.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${Math.floor(this.lockTimeoutMs)}`);
      const head = (await client.query<Head>('SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE')).rows[0]!;
      const entries: AuditEntry[] = [];
      let h = head;
      for (const p of batch) {
        const e = chainEntry(h, p.input, p.at);
        entries.push(e);
        h = { seq: e.seq, hash: e.hash };
      }
      await client.query(INSERT, [JSON.stringify(entries.map(toRow))]);
      await client.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1', [h.seq, h.hash]);
      sent(entries);
      await client.query('COMMIT');
      return entries;
    } catch (err) {
      if (pgFailure(err).kind === 'lost') broken = err as Error;
      else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /** After an unanswered COMMIT: whether those entries are in (the head is locked meanwhile, so the answer is final). */
  private async committed(entries: AuditEntry[]): Promise<AuditEntry[] | undefined> {
    const last = entries[entries.length - 1]!;
    const client = await this.db.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE');
      const { rows } = await client.query<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = $1', [last.seq]);
      await client.query('COMMIT');
      return rows[0]?.hash === last.hash ? entries : undefined;
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  private async read<R extends pg.QueryResultRow>(op: string, sql: string, params: unknown[]): Promise<R[]> {
    if (this.closed) throw new GuestkitError('EXECUTION_ERROR', 'the audit log is closed');
    const deadline = Date.now() + this.retryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.db.pool.query<R>(sql, params)).rows;
      } catch (err) {
        if (pgFailure(err).kind === 'bug' || Date.now() >= deadline) throw classifyPg(op, err);
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt)));
      }
    }
  }
}

