import type { ServerResponse } from 'node:http';
import type { JobEvents } from '../events/job-events.js';
import { namespaceOf } from '../ports/job-store.js';
import type { JobDocument } from '../protocol/envelope.js';

interface Client {
  res: ServerResponse;
  /** The namespace it follows; undefined: every namespace (admins). */
  namespace: string | undefined;
  done: boolean;
}

/** A slow reader holding more than this unsent is dropped (it reconnects and reloads its list). */
const MAX_UNSENT_BYTES = 1 << 20;

/** What a status change says about its job (enough to patch a row of a list in place). */
export interface StatusChange {
  change: 'submitted' | 'started' | 'retrying' | 'finished';
  job_id: string;
  status: string;
  namespace: string;
  operation: string;
  name: string | null;
  at: string;
  attempt?: number;
  worker_id?: string | null;
  error_code?: string | null;
  retry_in_ms?: number;
}

/**
 * `GET /events`: one server-sent event stream of the status changes of every job (submitted,
 * started, retrying, finished) in a namespace, or in all of them for admins. One listener per
 * event kind serves every client; each change is serialised once. There is no replay: a client
 * that (re)connects reads the list it shows, then applies the changes that follow.
 */
export class StatusStream {
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: (() => void)[];
  private readonly ping: NodeJS.Timeout;

  constructor(events: JobEvents, pingMs = 15_000) {
    this.unsubscribe = [
      events.on('submitted', ({ job, resumed }) => {
        // a pending job taken up again after a restart is no new job for a list
        if (!resumed) this.publish(job, { change: 'submitted', status: 'pending' });
      }),
      events.on('started', ({ job, attempt, workerId }) => this.publish(job, { change: 'started', status: 'running', attempt, worker_id: workerId })),
      events.on('retrying', ({ job, attempt, delayMs, code }) => this.publish(job, { change: 'retrying', status: 'pending', attempt, retry_in_ms: delayMs, error_code: code })),
      events.on('finished', ({ job, status, result }) => this.publish(job, { change: 'finished', status, error_code: result.error?.code ?? null })),
    ];
    this.ping = setInterval(() => {
      for (const c of this.clients) this.write(c, ': ping\n\n');
    }, pingMs);
    this.ping.unref();
  }

  get streams(): number {
    return this.clients.size;
  }

  /** Streams the changes of `namespace` (undefined: all) to `res` until either side closes. */
  watch(res: ServerResponse, namespace: string | undefined): void {
    const c: Client = { res, namespace, done: false };
    this.clients.add(c);
    res.on('close', () => this.drop(c));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    this.write(c, `retry: 2000\n\nevent: hello\ndata: ${JSON.stringify({ namespace: namespace ?? null, at: new Date().toISOString() })}\n\n`);
  }

  /** Ends every stream (server shutdown). */
  close(): void {
    clearInterval(this.ping);
    for (const u of this.unsubscribe) u();
    for (const c of [...this.clients]) {
      this.write(c, 'event: shutdown\ndata: {}\n\n');
      c.res.end();
      this.drop(c);
    }
  }

  private publish(job: JobDocument, change: Pick<StatusChange, 'change' | 'status'> & Partial<StatusChange>): void {
    if (this.clients.size === 0) return;
    const ns = namespaceOf(job);
    let chunk: string | undefined;
    for (const c of this.clients) {
      if (c.namespace !== undefined && c.namespace !== ns) continue;
      chunk ??= `event: status\ndata: ${JSON.stringify({
        job_id: job.job_id,
        namespace: ns,
        operation: job.operation,
        name: job.metadata?.name ?? null,
        at: new Date().toISOString(),
        ...change,
      } satisfies StatusChange)}\n\n`;
      this.write(c, chunk);
    }
  }

  private write(c: Client, chunk: string): void {
    if (c.done || c.res.destroyed) return;
    c.res.write(chunk);
    if (c.res.writableLength > MAX_UNSENT_BYTES) c.res.destroy();
  }

  private drop(c: Client): void {
    if (c.done) return;
    c.done = true;
    this.clients.delete(c);
  }
}
