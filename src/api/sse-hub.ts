import type { ServerResponse } from 'node:http';
import type { JobEvents } from '../events/job-events.js';
import type { JobStore } from '../ports/job-store.js';
import { isTerminal } from '../protocol/status.js';
import { toHttpError } from './errors.js';

interface Watcher {
  jobId: string;
  res: ServerResponse;
  lastSeq: number;
  /** Live events that arrived while the stored ones were being sent. */
  pending: { seq?: number; chunk: string }[] | undefined;
  pendingEnd: string | undefined;
  done: boolean;
}

/** A slow reader holding more than this unsent is dropped (it can resume with Last-Event-ID). */
const MAX_UNSENT_BYTES = 1 << 20;

/**
 * Server-sent events of jobs: the stored progress events, then live ones, then the final
 * status. One listener per event kind for all watchers (a map by job id), one ping timer
 * for all streams, so ten thousand watchers cost a map entry and a socket each.
 */
export class SseHub {
  private readonly byJob = new Map<string, Set<Watcher>>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly ping: NodeJS.Timeout;
  private count = 0;

  constructor(
    events: JobEvents,
    private readonly store: JobStore,
    pingMs = 15_000,
  ) {
    // each event is serialised once, however many watch it (not once per watcher)
    this.unsubscribe.push(
      events.on('progress', ({ job, event }) => {
        const set = this.byJob.get(job.job_id);
        if (!set) return;
        const chunk = progressChunk(event.sequence, event);
        for (const w of set) this.progress(w, event.sequence, chunk);
      }),
      events.on('started', ({ job, attempt, workerId }) => {
        const set = this.byJob.get(job.job_id);
        if (!set) return;
        const chunk = status('running', { attempt, worker_id: workerId });
        for (const w of set) this.send(w, chunk);
      }),
      events.on('retrying', ({ job, attempt, delayMs, code }) => {
        const set = this.byJob.get(job.job_id);
        if (!set) return;
        const chunk = status('pending', { attempt, retry_in_ms: delayMs, error_code: code });
        for (const w of set) this.send(w, chunk);
      }),
      events.on('finished', ({ job, status: st, result }) => {
        const set = this.byJob.get(job.job_id);
        if (!set) return;
        const chunk = status(st, { error_code: result.error?.code ?? null, finished_at: new Date().toISOString() });
        // end() drops the watcher from the set: deleting the current entry while iterating a Set is safe
        for (const w of set) this.end(w, chunk);
      }),
    );
    this.ping = setInterval(() => {
      for (const set of this.byJob.values()) for (const w of set) if (!w.pending) this.write(w, ': ping\n\n');
    }, pingMs);
    this.ping.unref();
  }

  get watchers(): number {
    return this.count;
  }

  /** Streams one job to `res` (headers already chosen by the caller) from after `after`. */
  async watch(jobId: string, res: ServerResponse, after: number): Promise<void> {
    const w: Watcher = { jobId, res, lastSeq: after, pending: [], pendingEnd: undefined, done: false };
    let set = this.byJob.get(jobId);
    if (!set) this.byJob.set(jobId, (set = new Set()));
    set.add(w);
    this.count++;
    res.on('close', () => this.drop(w));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.write(w, 'retry: 2000\n\n');
    try {
      // subscribed first, then read: nothing that happens in between is missed
      for (const ev of await this.store.events(jobId, after)) this.progress(w, ev.sequence, progressChunk(ev.sequence, ev), true);
      const rec = await this.store.get(jobId);
      const queued = w.pending ?? [];
      w.pending = undefined;
      for (const q of queued) {
        if (q.seq === undefined) this.write(w, q.chunk);
        else if (q.seq > w.lastSeq) {
          w.lastSeq = q.seq;
          this.write(w, q.chunk);
        }
      }
      if (w.pendingEnd !== undefined) return this.end(w, w.pendingEnd);
      if (rec && isTerminal(rec.status)) {
        this.end(w, status(rec.status, { error_code: rec.errorCode, finished_at: rec.finishedAt === null ? null : new Date(rec.finishedAt).toISOString() }));
      } else if (rec) this.send(w, status(rec.status, { attempt: rec.attempt, worker_id: rec.workerId }));
    } catch (err) {
      // the protocol error object, as every error of the API (a failing store: UNAVAILABLE)
      const { error } = toHttpError(err);
      w.pending = undefined; // nothing queued meanwhile is sent: the stream ends here
      this.end(w, `event: error\ndata: ${JSON.stringify({ error, message: error.message })}\n\n`);
    }
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    clearInterval(this.ping);
    for (const u of this.unsubscribe) u();
    for (const set of [...this.byJob.values()]) for (const w of [...set]) this.end(w, 'event: shutdown\ndata: {}\n\n');
  }

  private progress(w: Watcher, seq: number, chunk: string, stored = false): void {
    if (w.pending && !stored) {
      w.pending.push({ seq, chunk });
      return;
    }
    if (seq <= w.lastSeq) return;
    w.lastSeq = seq;
    this.write(w, chunk);
  }

  private send(w: Watcher, chunk: string): void {
    if (w.pending) w.pending.push({ chunk });
    else this.write(w, chunk);
  }

  private end(w: Watcher, chunk: string): void {
    if (w.done) return;
    if (w.pending) {
      w.pendingEnd = chunk;
      return;
    }
    this.write(w, chunk);
    w.res.end();
    this.drop(w);
  }

  private write(w: Watcher, chunk: string): void {
    if (w.done || w.res.destroyed) return;
    w.res.write(chunk);
    if (w.res.writableLength > MAX_UNSENT_BYTES) w.res.destroy();
  }

  private drop(w: Watcher): void {
    if (w.done) return;
    w.done = true;
    this.count--;
    const set = this.byJob.get(w.jobId);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.byJob.delete(w.jobId);
  }
}

function progressChunk(seq: number, event: unknown): string {
  return `id: ${seq}\nevent: progress\ndata: ${JSON.stringify(event)}\n\n`;
}

function status(s: string, extra: Record<string, unknown>): string {
  return `event: status\ndata: ${JSON.stringify({ status: s, at: new Date().toISOString(), ...extra })}\n\n`;
}
