import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { partialFinished, type JobEventMap, type JobEvents } from '../../events/job-events.js';
import { redisOptions, type QueueLogger } from './bullmq-queue.js';

/** The job events every process of a pool shares (what API watchers and spool intakes follow). */
export const SHARED_EVENTS = ['submitted', 'started', 'progress', 'retrying', 'finished'] as const;
type SharedEvent = (typeof SHARED_EVENTS)[number];

export type BusMessage =
  | { o: string; t: 'event'; n: SharedEvent; p: JobEventMap[SharedEvent] }
  | { o: string; t: 'cancel'; id: string; reason: string };

/**
 * The pool's message bus: job events of every process, so `guestkit serve`'s event streams
 * and each spool follow jobs that run on other machines, and cancels of jobs that another
 * process holds. On Redis pub/sub (RedisClusterBus, below) or PostgreSQL LISTEN/NOTIFY
 * (PgClusterBus, pg-bus.ts).
 *
 * At most once: a process cut off from the backend misses what was sent meanwhile. Nothing
 * durable depends on it: results and progress are in the shared store (an event stream that
 * reconnects replays them from there), and a missed cancel leaves the job to finish normally.
 */
export interface ClusterBus {
  /** This process, so that it skips its own messages. */
  readonly origin: string;
  /** Publishes this process's job events to the pool, and hands the others' to `into` (as if emitted here). */
  share(local: JobEvents, into: JobEvents): void;
  /** Asks every process of the pool to cancel a job it holds (running, or waiting in its own queue). */
  cancel(jobId: string, reason: string): void;
  onCancel(listener: (jobId: string, reason: string) => void): void;
  close(): Promise<void>;
}

/** What both buses share: the message shapes, sharing local events, dispatching received ones. */
export abstract class BusBase implements ClusterBus {
  readonly origin = randomUUID();
  private readonly cancelListeners: ((jobId: string, reason: string) => void)[] = [];
  private readonly eventSinks: JobEvents[] = [];

  share(local: JobEvents, into: JobEvents): void {
    this.eventSinks.push(into);
    for (const n of SHARED_EVENTS) {
      local.on(n, (p) => this.publish({ o: this.origin, t: 'event', n, p: n === 'finished' ? partialFinished(p as JobEventMap['finished']) : p } as BusMessage));
    }
  }

  cancel(jobId: string, reason: string): void {
    this.publish({ o: this.origin, t: 'cancel', id: jobId, reason });
  }

  onCancel(listener: (jobId: string, reason: string) => void): void {
    this.cancelListeners.push(listener);
  }

  abstract close(): Promise<void>;

  /** Sends one message to every process of the pool; never throws. */
  protected abstract publish(m: BusMessage): void;

  /** A message from the pool (JSON text); its own and malformed ones are ignored. */
  protected receive(text: string): void {
    let m: BusMessage;
    try {
      m = JSON.parse(text) as BusMessage;
    } catch {
      return;
    }
    if (m.o === this.origin) return;
    if (m.t === 'cancel') for (const l of this.cancelListeners) l(m.id, m.reason);
    else if (m.t === 'event') this.deliver(m.n, m.p);
  }

  private deliver(n: SharedEvent, p: JobEventMap[SharedEvent]): void {
    for (const e of this.eventSinks) {
      e.emit(n, p as never);
      if (n === 'finished') {
        const f = p as JobEventMap['finished'];
        e.emit(f.status, { job: f.job, result: f.result });
      }
    }
  }
}

/** The pool's bus on the queue's Redis: pub/sub, one channel per BullMQ queue. */
export class RedisClusterBus extends BusBase {
  private lastErrorLog = 0;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly channel: string,
    private readonly logger?: QueueLogger,
  ) {
    super();
    for (const c of [pub, sub]) c.on('error', (err: Error) => this.logError(err));
    sub.on('message', (ch: string, text: string) => {
      if (ch === this.channel) this.receive(text);
    });
  }

  /** Subscribes to the pool's channel (`<prefix>:<queue>:guestkit-bus`) on the Redis at `url`. */
  static async open(url: string, queueName: string, opts: { prefix?: string; logger?: QueueLogger } = {}): Promise<RedisClusterBus> {
    const o = redisOptions(url);
    const pub = new Redis({ ...o, lazyConnect: true });
    const sub = new Redis({ ...o, lazyConnect: true });
    const bus = new RedisClusterBus(pub, sub, `${opts.prefix ?? 'bull'}:${queueName}:guestkit-bus`, opts.logger);
    try {
      await pub.connect();
      await sub.connect();
      await sub.subscribe(bus.channel); // ioredis subscribes again after a reconnect
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      throw err;
    }
    return bus;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
    this.sub.disconnect();
    this.pub.disconnect();
  }

  protected publish(m: BusMessage): void {
    // queued by ioredis while Redis is away (maxRetriesPerRequest: null); never throws here
    this.pub.publish(this.channel, JSON.stringify(m)).catch((err: unknown) => this.logError(err));
  }

  private logError(err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 1000) return;
    this.lastErrorLog = now;
    this.logger?.warn({ channel: this.channel, err: String((err as Error)?.message ?? err) }, 'cluster bus connection failed');
  }
}
