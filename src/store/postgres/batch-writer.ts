import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { isStoreUnavailable, StoreUnavailableError } from '../../ports/job-store.js';
import { pgFailure } from './connection.js';

/** One write as gk_apply takes it: `op`, the job `id` when there is one, `now`, and its arguments. */
export type WireOp = { op: string; id?: string; now: number } & Record<string, unknown>;

interface Pending {
  name: string;
  wire: WireOp;
  /** Turns the op's outcome into its answer (throws for a refusal: that op alone fails). */
  decode: (out: unknown) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Longest this write may keep retrying while the database is away. */
  maxWaitMs: number;
}

export interface BatchHooks {
  failed(err: StoreUnavailableError): void;
  committed(): void;
}

const MAX_BATCH = 500;

/**
 * Group commit for PostgreSQL: the writes asked for while the previous batch is in flight
 * (or during one event-loop turn) go to the server as one `SELECT gk_apply(batch, ops)`:
 * one round trip, one transaction, one commit. Writes are spread over `lanes` (each with
 * one batch in flight on its own connection) by job id, or worker id for worker writes:
 * the writes of one job keep their order, and the server works on several batches at once.
 *
 * Failures:
 * - the server refused the statement for a passing reason (deadlock, serialization, disk
 *   full, lock timeout): rolled back, so the same batch is sent again until `maxWaitMs`;
 * - the connection broke (refused, reset, server shut down): when nothing was sent, the
 *   batch is sent again; when it was sent, it may have committed, so it is not resent
 *   blindly: gk_fence(batch) on a new connection either finds it committed (its outcomes
 *   are answered) or makes sure it never will, and only then it is sent again, under a new id;
 * - past `maxWaitMs`, every write of the batch fails with StoreUnavailableError;
 * - any other error is a bug of one of the writes: each is run again alone, so only the
 *   wrong one fails.
 */
interface Lane {
  queue: Pending[];
  scheduled: boolean;
  inFlight: boolean;
  idle: (() => void)[];
}

export class BatchWriter {
  private readonly lanes: Lane[];
  private closed = false;
  /** Batches whose fate was unknown when their writes were failed (the database was away). */
  readonly doubtful = new Set<string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly maxWaitMs: number,
    private readonly hooks: BatchHooks,
    lanes = 2,
  ) {
    this.lanes = Array.from({ length: Math.max(1, Math.floor(lanes)) }, () => ({ queue: [], scheduled: false, inFlight: false, idle: [] }));
  }

  run<T>(name: string, wire: WireOp, decode: (out: unknown) => T, maxWaitMs = this.maxWaitMs): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(name, 'CLOSED', new Error('the store is closed')));
    const lane = this.lanes[this.lanes.length === 1 ? 0 : hash(String(wire.id ?? wire.worker ?? '')) % this.lanes.length]!;
    return new Promise<T>((resolve, reject) => {
      lane.queue.push({ name, wire, decode, resolve: resolve as (v: unknown) => void, reject, maxWaitMs });
      this.schedule(lane);
    });
  }

  /** Waits for every queued write, then refuses new ones. */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  async drain(): Promise<void> {
    await Promise.all(
      this.lanes.map((l) => (!l.inFlight && !l.queue.length && !l.scheduled ? undefined : new Promise<void>((r) => l.idle.push(r)))),
    );
  }

  private schedule(lane: Lane): void {
    if (lane.scheduled || lane.inFlight) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      void this.flush(lane);
    });
  }

  private async flush(lane: Lane): Promise<void> {
    if (lane.inFlight) return;
    if (!lane.queue.length) {
      for (const r of lane.idle.splice(0)) r();
      return;
    }
    lane.inFlight = true;
    try {
      await this.runBatch(lane.queue.splice(0, MAX_BATCH));
    } finally {
      lane.inFlight = false;
      if (lane.queue.length) this.schedule(lane);
      else for (const r of lane.idle.splice(0)) r();
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    let outs: unknown[];
    try {
      outs = await this.apply(batch.map((p) => p.wire), Math.min(...batch.map((p) => p.maxWaitMs)), batch[0]!.name);
    } catch (err) {
      if (isStoreUnavailable(err)) {
        for (const p of batch) p.reject(err);
        this.hooks.failed(err);
        return;
      }
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // one of them is wrong: each alone, so that only that one fails
      for (const p of batch) await this.runBatch([p]);
      return;
    }
    this.hooks.committed();
    batch.forEach((p, i) => {
      try {
        p.resolve(p.decode(outs[i] ?? null));
      } catch (err) {
        p.reject(err);
      }
    });
  }

  /** gk_fence on a connection of its own: the batch's outcomes, 'fenced' (it never commits), or 'unknown' (no answer). */
  private async fenceOnce(id: string): Promise<unknown[] | 'fenced' | 'unknown'> {
    try {
      const { rows } = await this.pool.query<{ f: { outcomes: unknown[] } | null }>('SELECT gk_fence($1) AS f', [id]);
      return rows[0]!.f?.outcomes ?? 'fenced';
    } catch {
      return 'unknown';
    }
  }

  /** gk_apply with the retries described above; the outcomes, in order. */
  private async apply(ops: WireOp[], maxWaitMs: number, name: string): Promise<unknown[]> {
    const deadline = Date.now() + maxWaitMs;
    const payload = JSON.stringify(ops);
    let id = randomUUID();
    let inDoubt = false;
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | undefined;
      let sent = false;
      try {
        client = await this.pool.connect();
        if (inDoubt) {
          const { rows } = await client.query<{ f: { outcomes: unknown[] } | null }>('SELECT gk_fence($1) AS f', [id]);
          inDoubt = false;
          const f = rows[0]!.f;
          if (f) {
            client.release();
            return f.outcomes;
          }
          id = randomUUID(); // fenced: that batch never commits; this one is new
        }
        sent = true;
        const { rows } = await client.query<{ o: unknown[] }>('SELECT gk_apply($1, $2::jsonb) AS o', [id, payload]);
        client.release();
        return rows[0]!.o;
      } catch (err) {
        const f = pgFailure(err);
        client?.release(f.kind === 'lost' ? (err as Error) : undefined);
        if (f.kind === 'bug') throw err;
        if (f.kind === 'lost' && sent) inDoubt = true;
        if (Date.now() >= deadline || this.closed) {
          if (inDoubt) {
            // one last look, so that the answer is exact whenever the server is reachable
            const f = await this.fenceOnce(id);
            if (f === 'unknown') {
              this.doubtful.add(id);
              if (this.doubtful.size > 1000) this.doubtful.delete(this.doubtful.values().next().value!);
            }
            else if (f !== 'fenced') return f;
            else inDoubt = false;
          }
          const cause = inDoubt ? Object.assign(new Error(`${(err as Error).message} (the write may have committed: batch ${id})`), { cause: err }) : err;
          throw new StoreUnavailableError(name, f.code, cause);
        }
        await sleep(Math.min(500, 10 * 2 ** attempt, Math.max(1, deadline - Date.now())));
      }
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** FNV-1a: which lane a job's writes take. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
