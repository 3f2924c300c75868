import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { QueueLogger } from './bullmq-queue.js';
import { BusBase, type BusMessage } from './cluster-bus.js';

/** NOTIFY refuses payloads of 8000 bytes and more; a message larger than this goes in pieces. */
export const NOTIFY_PIECE_BYTES = 7900;
/** Messages held while PostgreSQL is away (oldest dropped beyond: the bus is at most once anyway). */
const MAX_BACKLOG = 10_000;
/** A message whose pieces did not all arrive within this is dropped (its sender lost the connection mid-way). */
const PARTIAL_TTL_MS = 60_000;

interface Partial {
  parts: string[];
  got: number;
  at: number;
}

/**
 * The pool's bus on PostgreSQL (a shared queue without Redis): LISTEN/NOTIFY on one channel
 * per BullMQ queue. Messages are the Redis bus's (whole job events: a `finished` event holds
 * the result); one over NOTIFY's 8000-byte limit is sent in pieces, all in one transaction
 * (`~<id>:<i>:<n>:<text>`), and put together again by each listener. One publishing
 * connection sends in order, so a job's events arrive in the order they happened. The
 * listening connection is made anew (and LISTENs again) after PostgreSQL restarts or the
 * connection drops; what was sent meanwhile is missed, as on Redis.
 */
export class PgClusterBus extends BusBase {
  private listener?: pg.Client;
  private readonly backlog: string[][] = [];
  private sending = false;
  private closed = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly partials = new Map<string, Partial>();
  private lastErrorLog = 0;
  private seq = 0;
  private readonly idBase = randomBytes(4).toString('hex');

  private constructor(
    private readonly url: string,
    readonly channel: string,
    private readonly pub: pg.Pool,
    private readonly logger?: QueueLogger,
  ) {
    super();
    pub.on('error', (err) => this.logError(err));
  }

  /** LISTENs on the pool's channel (see channelOf) in the PostgreSQL at `url`. */
  static async open(url: string, queueName: string, opts: { logger?: QueueLogger } = {}): Promise<PgClusterBus> {
    const pub = new pg.Pool({ connectionString: url, max: 1, keepAlive: true, connectionTimeoutMillis: 10_000, query_timeout: 30_000, application_name: 'guestkit bus' });
    const bus = new PgClusterBus(url, channelOf(queueName), pub, opts.logger);
    try {
      await bus.listen();
    } catch (err) {
      await pub.end().catch(() => undefined);
      throw err;
    }
    return bus;
  }

  /** Whether the listening connection is up now (tests, readiness). */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    // what was published before close is sent first (bounded: PostgreSQL may be away)
    for (let i = 0; i < 50 && (this.sending || this.backlog.length); i++) await new Promise((r) => setTimeout(r, 100));
    const l = this.listener;
    this.listener = undefined;
    await Promise.allSettled([l?.end(), this.pub.end()]);
  }

  protected publish(m: BusMessage): void {
    if (this.closed) return;
    this.backlog.push(pieces(JSON.stringify(m), `${this.idBase}${(++this.seq).toString(36)}`));
    if (this.backlog.length > MAX_BACKLOG) {
      this.backlog.shift();
      this.logError(new Error(`more than ${MAX_BACKLOG} messages waiting for PostgreSQL: the oldest is dropped`));
    }
    void this.drain();
  }

  /** Sends the backlog in order, one message (all its pieces) per statement; waits through outages. */
  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (let i = 0; this.backlog.length; ) {
        try {
          await this.pub.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n', [this.channel, this.backlog[0]]);
          this.backlog.shift();
          i = 0;
        } catch (err) {
          this.logError(err);
          if (this.closed) return;
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** Math.min(i++, 5))));
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private async listen(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: 10_000, application_name: 'guestkit bus' });
    const lost = (err?: Error) => {
      if (this.listener !== c) return;
      this.listener = undefined;
      if (err) this.logError(err);
      void c.end().catch(() => undefined);
      this.relisten(0);
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (n) => {
      if (n.channel === this.channel && n.payload !== undefined) this.onPayload(n.payload);
    });
    await c.connect();
    await c.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
    if (this.closed) {
      await c.end();
      return;
    }
    this.listener = c;
  }

  /** Listens again after the connection was lost, backing off while PostgreSQL is away. */
  private relisten(attempt: number): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(
      () => {
        this.listen().then(
          () => this.logger?.info({ channel: this.channel }, 'cluster bus listening again'),
          (err: unknown) => {
            this.logError(err);
            this.relisten(attempt + 1);
          },
        );
      },
      Math.min(2000, 100 * 2 ** Math.min(attempt, 5)),
    );
    this.retryTimer.unref();
  }

  private onPayload(text: string): void {
    if (!text.startsWith('~')) return this.receive(text);
    const m = /^~([^:]+):(\d+):(\d+):/.exec(text);
    if (!m) return;
    const [head, id, i, n] = [m[0], m[1]!, Number(m[2]), Number(m[3])];
    const now = Date.now();
    for (const [k, p] of this.partials) if (now - p.at > PARTIAL_TTL_MS) this.partials.delete(k);
    let p = this.partials.get(id);
    if (!p) this.partials.set(id, (p = { parts: new Array<string>(n), got: 0, at: now }));
    if (p.parts[i] === undefined) p.got++;
    p.parts[i] = text.slice(head.length);
    if (p.got < n) return;
    this.partials.delete(id);
    this.receive(p.parts.join(''));
  }

  private logError(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 1000) return;
    this.lastErrorLog = now;
    this.logger?.warn({ channel: this.channel, err: String((err as Error)?.message ?? err) }, 'cluster bus connection failed');
  }
}

/** The NOTIFY channel of a BullMQ queue: `<queue>:guestkit-bus`, hashed when longer than PostgreSQL's 63-byte identifiers. */
export function channelOf(queueName: string): string {
  const c = `${queueName}:guestkit-bus`;
  if (Buffer.byteLength(c) <= 63) return c;
  return `guestkit-bus:${createHash('sha256').update(queueName).digest('hex').slice(0, 40)}`;
}

/** One NOTIFY payload, or pieces of at most NOTIFY_PIECE_BYTES bytes (UTF-8) each, header included. */
export function pieces(text: string, id: string): string[] {
  if (Buffer.byteLength(text) <= NOTIFY_PIECE_BYTES && !text.startsWith('~')) return [text];
  const room = NOTIFY_PIECE_BYTES - 40; // the header: ~<id>:<i>:<n>:
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + room);
    // back off until the piece fits in bytes, never splitting a surrogate pair
    while (Buffer.byteLength(text.slice(start, end)) > room) end = start + Math.floor((end - start) * 0.9);
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1]!)) end--;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts.map((p, i) => `~${id}:${i}:${parts.length}:${p}`);
}
