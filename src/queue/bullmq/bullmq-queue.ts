import { Job, Queue, QueueEvents, Worker, createPostgresBackend } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobQueue, Lease, QueueEntry } from '../../ports/job-queue.js';
import type { TerminalStatus } from '../../protocol/status.js';
import { RedisEvictionPolicyError } from './errors.js';

/** Where the queue lives: Redis (`redis://`, `rediss://`) or PostgreSQL through BullMQ's PostgreSQL backend. */
export type BullmqBackend = { kind: 'redis'; url: string } | { kind: 'postgres'; url: string };

export interface QueueLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface BullmqQueueOptions {
  backend: BullmqBackend;
  /** The BullMQ queue: one per worker pool (see queueNameOf). */
  name: string;
  /** BullMQ key prefix (Redis) or namespace; BullMQ's default `bull`. */
  prefix?: string;
  /** How long a reserved job stays locked without renewal; renewed every half of it. */
  lockDurationMs?: number;
  /** How often a worker looks for jobs whose lock expired (their worker died). */
  stalledIntervalMs?: number;
  /** Re-deliveries after stalls before BullMQ fails the job itself (default: practically never; the store counts attempts). */
  maxStalledCount?: number;
  /** Seconds a fetch blocks while the queue is empty (BullMQ's drainDelay). */
  drainDelaySec?: number;
  /** Liveness and depth probe period; 0 turns the liveness check off (tests of its absence). */
  probeIntervalMs?: number;
  /** A probe or fetch outstanding this long means the connection is stuck: the worker connection is made anew. */
  stuckAfterMs?: number;
  /** Fetches in flight at most (each serves one waiting reserve()). */
  maxFetchers?: number;
  /** Follow other workers' takes (BullMQ queue events) so peek/remove forget jobs they took. */
  trackOthers?: boolean;
  /** A distinct id for this process's worker (lock tokens, BullMQ worker name). */
  workerName?: string;
  /**
   * The worker id whose own queue (workerQueueNameOf) this process reserves from besides the
   * pool's: jobs placed on this one worker (routing.worker_id, QueueEntry.target.workerId).
   * Unset: the pool's queue only.
   */
  workerId?: string;
  /**
   * The pool's rate limit: at most `max` jobs started per `durationMs`, across every worker
   * of the pool (BullMQ's global rate limit, set on the queue at open). Undefined: left as is.
   */
  rateLimit?: { max: number; durationMs: number };
  /** The pool's global concurrency: jobs running at once across every worker of the pool (set at open). */
  globalConcurrency?: number;
  logger?: QueueLogger;
}

/** The BullMQ queue name of a worker pool. */
export function queueNameOf(pool: string): string {
  return `guestkit.${pool}`;
}

/** The BullMQ queue of one worker (whatever its pool): jobs pinned to it. */
export function workerQueueNameOf(workerId: string): string {
  return `guestkit@${workerId}`;
}

/**
 * The queue a job is placed on: the worker named by target.workerId, else by the job's
 * routing.worker_id; else the pool named by target.pool, else routing.worker_pool; else
 * `home` (the submitting process's pool queue).
 */
export function placementOf(e: QueueEntry, home: string): string {
  const worker = e.target?.workerId ?? e.job.routing?.worker_id;
  if (worker) return workerQueueNameOf(worker);
  const pool = e.target?.pool ?? e.job.routing?.worker_pool;
  return pool ? queueNameOf(pool) : home;
}

/** What the adapter stores as BullMQ job data. */
interface Data {
  e: QueueEntry;
  /** Stalls already reported on a lease (BullMQ's stalledCounter when last handed out). */
  s?: number;
}

/** A lease handed out by this adapter. */
export interface BullmqLease extends Lease {
  /**
   * This delivery follows a stall: the job's previous holder lost its lock (died, or was
   * cut off longer than the lock duration) while running it. The store may still show the
   * job as running under that worker: see the port change proposed in
   * src/queue/bullmq/README.md (recover it as restart recovery does, then begin).
   */
  readonly stalled?: number;
}

interface Held {
  job: Job;
  token: string;
  src: Source;
}

/** A queue this process reserves from (its pool's, its own): a manual-processing Worker and its fetches. */
interface Source {
  name: string;
  queue: Queue;
  worker: Worker;
  fetches: Set<Fetch>;
  fetchers: number;
  workerClosed?: Promise<void>;
}

interface Fetch {
  started: number;
  kick: () => void;
}

const nop = () => undefined;

/**
 * The BullMQ adapter of JobQueue: one BullMQ queue per worker pool, shared by every
 * worker process of the pool, on Redis or on PostgreSQL (BullMQ's backend). BullMQ's job
 * id is the protocol job_id, so a job queued twice is refused by the engine. reserve()
 * takes jobs with BullMQ's manual processing (a Worker without processor, getNextJob with
 * a token per lease); ack, drop, retry and release settle the lease under that token
 * (moveToCompleted, moveToDelayed, moveToWait). Locks are renewed while a lease is held.
 *
 * The port is synchronous where BullMQ is not: enqueue, ack, retry, release, drop and
 * remove return at once and their BullMQ operation follows, in order per job (enqueues of
 * one turn go in one addBulk). `size` is the pool's depth from the last probe plus this
 * process's changes since; `peek`/`remove` see the jobs this process queued that nobody
 * has taken yet (other workers' takes are followed through queue events). close() leaves
 * the waiting jobs in the shared queue for the other workers and returns none.
 */
export class BullmqQueue implements JobQueue {
  private readonly o: Required<Omit<BullmqQueueOptions, 'logger' | 'prefix' | 'workerName' | 'workerId' | 'rateLimit' | 'globalConcurrency'>> & Pick<BullmqQueueOptions, 'logger' | 'prefix' | 'workerId' | 'rateLimit' | 'globalConcurrency'>;
  /** The pool's queue (enqueues of unrouted jobs, depth, settings). */
  private readonly queue: Queue;
  /** Every queue opened here by name: the pool's, this worker's own, others enqueued to (lazily). */
  private readonly queues = new Map<string, Queue>();
  /** Where reserve() takes from: the pool's queue, then this worker's own queue if any. */
  private readonly sources: Source[] = [];
  private events?: QueueEvents;
  /** Where each entry of `local` was placed. */
  private readonly placed = new Map<string, string>();
  /** Cancels heard for jobs not held here (the pool's bus): a lease of one carries it (ends cancelled when taken). */
  private readonly cancels = new Map<string, { reason: string; at: number }>();
  private readonly tokenBase: string;
  private tokenSeq = 0;

  /** Entries this process queued that no one took yet (peek, remove, duplicate refusal). */
  private readonly local = new Map<string, QueueEntry>();
  /** Enqueued this turn, not sent yet. */
  private readonly batch = new Map<string, QueueEntry>();
  private flushScheduled = false;
  /** The BullMQ operation last issued per job (the next waits for it). */
  private readonly ops = new Map<string, Promise<void>>();
  /** Removed while possibly being fetched: a fetched job of this id is discarded. */
  private readonly tombstones = new Set<string>();
  private readonly held = new Map<string, Held>();
  private readonly takers: ((l: Lease | null) => void)[] = [];
  /** Fetches whose worker was replaced; a job they still bring is handed out or put back. */
  private readonly lateFetches = new Set<Promise<unknown>>();

  /**
   * size = base + delta + pending: the pool's depth at the last probe, this process's
   * changes done in the backend since that probe was issued, and those not done yet.
   */
  private base = 0;
  private delta = 0;
  private pending = 0;
  private probeStarted = 0;
  private down = false;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private finished?: Promise<void>;
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));
  private lastErrorLog = 0;

  private constructor(o: BullmqQueueOptions) {
    this.o = {
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 1_000_000,
      drainDelaySec: 5,
      probeIntervalMs: 1000,
      maxFetchers: 8,
      trackOthers: true,
      ...o,
      stuckAfterMs: o.stuckAfterMs ?? (o.drainDelaySec ?? 5) * 1000 + 15_000,
    };
    this.tokenBase = `${o.workerName ?? 'gk'}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
    this.queue = this.queueFor(o.name);
    this.sources.push(this.newSource(o.name));
    if (o.workerId) this.sources.push(this.newSource(workerQueueNameOf(o.workerId)));
    if (this.o.trackOthers) this.events = this.newEvents();
  }

  /** Connects, checks the engine's settings (Redis: maxmemory-policy noeviction) and starts the probes. */
  static async open(o: BullmqQueueOptions): Promise<BullmqQueue> {
    if (o.backend.kind === 'redis') await checkEvictionPolicy(o.backend.url);
    const q = new BullmqQueue(o);
    try {
      for (const s of q.sources) await s.queue.waitUntilReady();
      for (const s of q.sources) await s.worker.waitUntilReady();
      await q.events?.waitUntilReady();
      if (o.globalConcurrency !== undefined) await q.queue.setGlobalConcurrency(o.globalConcurrency);
      if (o.rateLimit) await q.queue.setGlobalRateLimit(o.rateLimit.max, o.rateLimit.durationMs);
      q.base = await q.depth();
    } catch (err) {
      await q.shutdown().catch(nop);
      throw err;
    }
    q.start();
    return q;
  }

  get size(): number {
    return Math.max(0, this.base + this.delta + this.pending);
  }

  /** Whether the last probe found the backend unreachable (or stuck). */
  get backendDown(): boolean {
    return this.down;
  }

  enqueue(entry: QueueEntry): boolean {
    const id = entry.job.job_id;
    if (this.closed || this.local.has(id)) return false;
    this.local.set(id, entry);
    this.placed.set(id, placementOf(entry, this.o.name));
    if (this.ops.has(id)) {
      // after a remove of the same id still under way: in order, alone
      this.chain(id, () => this.add([entry]), +1);
      return true;
    }
    this.pending++;
    this.batch.set(id, entry);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  reserve(): Promise<Lease | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.takers.push(resolve);
      this.pump();
    });
  }

  ack(lease: Lease, status: TerminalStatus): void {
    this.complete(lease, status);
  }

  drop(lease: Lease): void {
    this.complete(lease, 'dropped');
  }

  retry(lease: Lease, delayMs: number): void {
    const id = lease.jobId;
    const h = this.held.get(id);
    this.held.delete(id);
    const entry: QueueEntry = { job: lease.job, source: lease.source, cancel: lease.cancel, rerun: lease.rerun, ...(lease.target ? { target: lease.target } : {}) };
    this.local.set(id, entry);
    this.placed.set(id, h ? h.src.name : placementOf(entry, this.o.name));
    if (!h) {
      // not taken here (or its lock was lost): queued anew, held back for the delay
      this.chain(id, () => this.add([entry], delayMs), +1);
      return;
    }
    // a stall not dealt with yet (re-checked later) is reported again on the next lease
    const data: Data = { e: entry, s: h.job.stalledCounter - (lease.stalled ?? 0) };
    this.chain(
      id,
      async () => {
        await h.job.updateData(data);
        if (delayMs > 0) await h.job.moveToDelayed(Date.now() + delayMs, h.token);
        else await h.job.moveToWait(h.token);
      },
      +1,
    );
  }

  release(lease: Lease): void {
    const id = lease.jobId;
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    this.chain(id, () => h.job.moveToWait(h.token), +1);
  }

  remove(jobId: string): QueueEntry | undefined {
    const e = this.local.get(jobId);
    if (!e) return undefined;
    this.local.delete(jobId);
    const at = this.queueFor(this.placed.get(jobId) ?? this.o.name);
    this.placed.delete(jobId);
    if (this.batch.delete(jobId)) {
      this.pending--; // never sent
      return e;
    }
    this.tombstones.add(jobId);
    this.chain(jobId, async () => {
      const removed = await at.remove(jobId);
      // 0: locked (being fetched here, or taken by another worker): a fetch of ours that
      // brings it discards it; once the fetches under way now have settled, the id is free
      if (removed !== 1) await bounded(Promise.allSettled(this.fetchPromises), this.o.drainDelaySec * 1000 + 2000);
      this.tombstones.delete(jobId);
    }, -1);
    return e;
  }

  peek(jobId: string): QueueEntry | undefined {
    return this.local.get(jobId);
  }

  /**
   * Takes a job out of the shared queue whoever queued it (a cancel that reached this
   * process for a job it did not queue): its entry when it was waiting or backing off,
   * undefined when it is held by a worker (BullMQ refuses to remove a locked job) or gone.
   */
  async take(jobId: string, accept: (e: QueueEntry) => boolean = () => true): Promise<QueueEntry | undefined> {
    const unsent = this.batch.get(jobId);
    if (unsent) return accept(unsent) ? this.remove(jobId) : undefined;
    await this.ops.get(jobId); // its add (or retry) under way
    const where = this.placed.get(jobId);
    for (const name of new Set([...(where ? [where] : []), ...this.sources.map((s) => s.name), ...this.queues.keys()])) {
      const q = this.queueFor(name);
      const job = await Job.fromId(q, jobId);
      if (!job) continue;
      const e = (job.data as Data).e;
      if (!accept(e)) return undefined;
      // atomic; refused (0) when a worker holds the job's lock
      if ((await q.remove(jobId)) !== 1) return undefined;
      if (this.local.delete(jobId)) this.placed.delete(jobId);
      if (this.sources.some((s) => s.name === name)) this.delta--;
      return e;
    }
    return undefined;
  }

  /**
   * Takes every job waiting (or backing off) in one worker's own queue out of it and returns
   * their entries: for a worker that is gone, whose pinned or placed jobs nobody else would
   * take. The caller places them again (enqueue with another target) or ends them. A job
   * that worker holds (locked) stays; an entry's `target` is dropped (it named that worker).
   */
  async takeWaitingOf(workerId: string): Promise<QueueEntry[]> {
    const q = this.queueFor(workerQueueNameOf(workerId));
    const out: QueueEntry[] = [];
    for (;;) {
      const jobs = await q.getJobs(['waiting', 'prioritized', 'delayed'], 0, 99, true);
      let moved = 0;
      for (const j of jobs) {
        if (!j?.id || (await q.remove(j.id)) !== 1) continue;
        const { target: _, ...e } = (j.data as Data).e;
        out.push(e);
        moved++;
      }
      if (moved === 0) return out;
    }
  }

  /**
   * A cancel heard for a job no slot here holds (the pool's bus): should this process take
   * the job later (it waits in this worker's own queue, where no other process looks), its
   * lease carries the cancel, so it ends cancelled without running. Kept an hour.
   */
  noteCancel(jobId: string, reason: string): void {
    const now = Date.now();
    // oldest first: drop those over an hour old, and any beyond 10,000
    for (const [k, c] of this.cancels) {
      if (now - c.at <= 3_600_000 && this.cancels.size < 10_000) break;
      this.cancels.delete(k);
    }
    this.cancels.set(jobId, { reason, at: now });
  }

  /** The Redis URL of the backend (the cluster bus shares it), or undefined for PostgreSQL. */
  get redisUrl(): string | undefined {
    return this.o.backend.kind === 'redis' ? this.o.backend.url : undefined;
  }

  /**
   * Stops handing out jobs; pending reserve() calls get null. The waiting jobs stay in the
   * shared queue for the other workers of the pool: none is returned. Held leases can still
   * be settled; the connections close once they are (or at shutdown()).
   */
  close(): QueueEntry[] {
    if (this.closed) return [];
    this.closed = true;
    for (const t of this.takers.splice(0)) t(null);
    this.maybeFinish();
    return [];
  }

  /** close(), then gives back leases still held, waits for the BullMQ operations under way and closes the connections. */
  async shutdown(): Promise<void> {
    this.close();
    for (const [id, h] of [...this.held]) {
      this.held.delete(id);
      this.chain(id, () => h.job.moveToWait(h.token).then(nop));
    }
    this.maybeFinish();
    await this.done;
  }

  /** Resolves once every BullMQ operation issued so far has run (enqueues included). */
  async settled(): Promise<void> {
    if (this.batch.size) this.flush();
    while (this.ops.size) await Promise.allSettled([...this.ops.values()]);
  }

  // ---- internals

  private factory() {
    return this.o.backend.kind === 'postgres' ? (createPostgresBackend as never) : undefined;
  }

  private baseOpts(): { connection: never; prefix?: string } {
    const b = this.o.backend;
    const connection = b.kind === 'redis' ? redisOptions(b.url) : postgresOptions(b.url);
    return { connection: connection as never, ...(this.o.prefix ? { prefix: this.o.prefix } : {}) };
  }

  /** The queue of that name, opened on first use (an enqueue-only Queue for another pool or worker). */
  private queueFor(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, this.baseOpts(), this.factory());
      q.on('error', (err) => this.logError(`queue connection (${name})`, err));
      this.queues.set(name, q);
    }
    return q;
  }

  private newSource(name: string): Source {
    return { name, queue: this.queueFor(name), worker: this.newWorker(name), fetches: new Set(), fetchers: 0 };
  }

  private newWorker(name: string): Worker {
    const w = new Worker(
      name,
      null,
      {
        ...this.baseOpts(),
        autorun: false,
        drainDelay: this.o.drainDelaySec,
        lockDuration: this.o.lockDurationMs,
        stalledInterval: this.o.stalledIntervalMs,
        maxStalledCount: this.o.maxStalledCount,
        name: this.tokenBase,
      },
      this.factory(),
    );
    w.on('error', (err) => this.logError('worker connection', err));
    return w;
  }

  private newEvents(): QueueEvents {
    const ev = new QueueEvents(this.o.name, { ...this.baseOpts() }, this.factory());
    ev.on('error', (err) => this.logError('queue events connection', err));
    // another worker took it (or it was removed): it is not waiting here any more
    const gone = ({ jobId }: { jobId: string }) => {
      if (this.local.delete(jobId)) this.delta--;
    };
    ev.on('active', gone);
    ev.on('removed', gone);
    return ev;
  }

  /**
   * The backend stopped answering on the connections open now (a half-open connection: a
   * NAT or firewall forgot the flow, a failover left the socket dangling): new connections
   * for the worker and the events, and the queue's Redis socket dropped so that its
   * commands under way are sent again on a new one.
   */
  private reconnect(): void {
    for (const src of this.sources) this.renewWorker(src, 'queue backend does not answer on its open connections');
    if (this.events) {
      const old = this.events;
      this.events = this.newEvents();
      void bounded(old.close(), 5000).catch(nop);
    }
    if (this.o.backend.kind === 'redis') {
      for (const q of this.queues.values()) {
        const backend = q.backend as unknown as { client: Promise<{ disconnect(reconnect?: boolean): void }> };
        void backend.client.then((c) => c.disconnect(true), nop);
      }
    }
  }

  private start(): void {
    for (const src of this.sources) void src.worker.startStalledCheckTimer().catch((err) => this.logError('stalled check', err));
    const renew = setInterval(() => this.renewLocks(), Math.max(250, Math.floor(this.o.lockDurationMs / 2)));
    renew.unref();
    this.timers.push(renew);
    if (this.o.probeIntervalMs > 0) {
      const probe = setInterval(() => this.probe(), this.o.probeIntervalMs);
      probe.unref();
      this.timers.push(probe);
    }
  }

  /** Jobs waiting where this process takes from: the pool's queue and its own. */
  private async depth(): Promise<number> {
    let n = 0;
    for (const src of this.sources) n += Object.values(await src.queue.getJobCounts('waiting', 'prioritized', 'delayed')).reduce((a, b) => a + b, 0);
    return n;
  }

  /**
   * The liveness and depth probe: the pool's depth refreshes `size`; a probe unanswered
   * for stuckAfterMs marks the backend down; the first answer after that, or a fetch
   * blocked far longer than BullMQ's block timeout, makes the worker connection anew (a
   * blocking fetch can hang on a connection that died during an outage).
   */
  private probe(): void {
    const now = Date.now();
    for (const src of this.sources) {
      for (const f of src.fetches) {
        if (now - f.started > this.o.stuckAfterMs) {
          this.renewWorker(src, `a fetch has been blocked for ${now - f.started} ms`);
          break;
        }
      }
    }
    if (this.probeStarted) {
      if (!this.down && now - this.probeStarted > this.o.stuckAfterMs) {
        this.down = true;
        this.o.logger?.warn({ queue: this.o.name, waited_ms: now - this.probeStarted }, 'queue backend does not answer');
        this.reconnect();
      }
      return;
    }
    this.probeStarted = now;
    const d0 = this.delta;
    this.depth().then(
      (n) => {
        this.probeStarted = 0;
        this.base = n;
        this.delta -= d0;
        if (this.down) {
          this.down = false;
          for (const src of this.sources) this.renewWorker(src, 'queue backend answers again after an outage');
        }
      },
      (err) => {
        this.probeStarted = 0;
        this.down = true;
        this.logError('probe', err);
      },
    );
  }

  /** A new worker (and blocking connection); fetches on the old one are abandoned (a job they still bring is not lost). */
  private renewWorker(src: Source, why: string): void {
    if (this.closed) return;
    this.o.logger?.warn({ queue: src.name, why }, 'making the queue worker connection anew');
    const old = src.worker;
    src.worker = this.newWorker(src.name);
    void src.worker.startStalledCheckTimer().catch((err) => this.logError('stalled check', err));
    for (const f of [...src.fetches]) f.kick();
    void old.close(true).catch(nop);
  }

  private renewLocks(): void {
    if (this.held.size === 0) return;
    for (const src of this.sources) {
      const ids = [...this.held].filter(([, h]) => h.src === src).map(([id]) => id);
      if (!ids.length) continue;
      const tokens = ids.map((id) => this.held.get(id)!.token);
      src.queue.backend.extendLocks(ids, tokens, this.o.lockDurationMs).then(
        (failed) => {
          if (failed.length) this.o.logger?.warn({ queue: src.name, jobs: failed }, 'lock renewal failed: these jobs may be re-delivered to another worker');
        },
        (err) => this.logError('lock renewal', err),
      );
    }
  }

  private get fetchPromises(): Promise<unknown>[] {
    return [...this.lateFetches];
  }

  /**
   * Starts a fetch loop per source (the pool's queue, this worker's own) when reserve() calls
   * wait and none runs there; each loop widens itself while jobs come. Both sources are
   * fetched from at once, so a waiting reserve() gets whichever job comes first; a job
   * fetched when no reserve() waits any more is put back.
   */
  private pump(): void {
    if (this.closed || this.takers.length === 0) return;
    for (const src of this.sources) if (src.fetchers === 0) void this.fetcher(src);
  }

  private async fetcher(src: Source): Promise<void> {
    src.fetchers++;
    try {
      while (!this.closed && this.takers.length > src.fetches.size) {
        const job = await this.fetchOne(src);
        if (job === undefined) {
          if (src.fetchers > 1) return; // another fetch blocks for the next job
          // the pool's rate limit holds fetches back: getNextJob answers at once until it lifts
          const limitUntil = (src.worker as unknown as { limitUntil?: number }).limitUntil ?? 0;
          if (limitUntil > Date.now()) await sleep(Math.min(limitUntil - Date.now(), 1000));
          continue;
        }
        if (job === null) continue; // error or worker replaced
        this.deliver(job.job, job.token, src);
        if (this.takers.length > src.fetches.size + 1 && src.fetchers < this.o.maxFetchers) void this.fetcher(src);
      }
    } finally {
      src.fetchers--;
      this.maybeFinish();
    }
  }

  /** One getNextJob: a job, undefined when none came, null after an error or a worker change. */
  private async fetchOne(src: Source): Promise<{ job: Job; token: string } | undefined | null> {
    const token = `${this.tokenBase}:${++this.tokenSeq}`;
    let kick!: () => void;
    const kicked = new Promise<'kicked'>((r) => (kick = () => r('kicked')));
    const f: Fetch = { started: Date.now(), kick };
    src.fetches.add(f);
    const p = src.worker.getNextJob(token, { block: true });
    this.lateFetches.add(p);
    void p.then(nop, nop).finally(() => this.lateFetches.delete(p));
    try {
      const r = await Promise.race([p, kicked]);
      if (r === 'kicked') {
        // the old worker may still bring a job: hand it out or put it back (nothing waits for it)
        this.lateFetches.delete(p);
        p.then((job) => job && !this.finished && this.deliver(job, token, src), nop);
        return null;
      }
      return r ? { job: r, token } : undefined;
    } catch (err) {
      this.logError('fetch', err);
      if (!this.closed) await sleep(Math.min(1000, this.o.drainDelaySec * 200));
      return null;
    } finally {
      src.fetches.delete(f);
    }
  }

  /** A fetched job goes to the first waiting reserve(), or back to the queue. */
  private deliver(fetched: Job, token: string, src: Source): void {
    const id = fetched.id!;
    // settled through the queue's connection: the worker's may be replaced meanwhile
    const job = Job.fromJSON(src.queue, fetched.asJSON(), id);
    if (this.tombstones.has(id)) {
      this.tombstones.delete(id);
      this.chain(id, () => job.moveToCompleted('removed', token, false).then(nop));
      return;
    }
    const take = this.takers.shift();
    if (!take) {
      this.chain(id, () => job.moveToWait(token).then(nop));
      return;
    }
    const data = job.data as Data;
    this.held.set(id, { job, token, src });
    // the pool's 'active' event may have counted this take already (it deletes from `local` too)
    if (this.local.delete(id)) {
      this.placed.delete(id);
      this.delta--;
    }
    const stalls = job.stalledCounter - (data.s ?? 0);
    const heard = this.cancels.get(id);
    const e = heard && data.e.cancel === undefined ? { ...data.e, cancel: heard.reason } : data.e;
    const lease: BullmqLease = stalls > 0 ? { ...e, jobId: id, stalled: stalls } : { ...e, jobId: id };
    if (stalls > 0) this.o.logger?.warn({ job_id: id, stalls }, 'job re-delivered after its previous holder lost its lock');
    take(lease);
  }

  private complete(lease: Lease, status: TerminalStatus | 'dropped'): void {
    const id = lease.jobId;
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    this.chain(id, () => h.job.moveToCompleted({ status }, h.token, false).then(nop));
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.batch.size) return;
    const entries = [...this.batch.values()];
    this.batch.clear();
    const p = this.add(entries).then(
      () => {
        this.pending -= entries.length;
        for (const e of entries) {
          const id = e.job.job_id;
          if (this.sources.some((src) => src.name === this.placed.get(id))) this.delta++;
          // placed on another pool's or worker's queue: not waiting here (take() still finds it)
          else if (this.local.get(id) === e) {
            this.local.delete(id);
            this.placed.delete(id);
          }
        }
      },
      (err) => {
        this.pending -= entries.length;
        this.logError('enqueue', err);
      },
    );
    for (const e of entries) this.track(e.job.job_id, p);
  }

  /** Adds jobs (keyed by job_id, BullMQ priority from the protocol's), retrying through connection errors. */
  private async add(entries: QueueEntry[], delayMs = 0): Promise<void> {
    const byQueue = new Map<string, QueueEntry[]>();
    for (const e of entries) {
      const name = this.placed.get(e.job.job_id) ?? placementOf(e, this.o.name);
      byQueue.set(name, [...(byQueue.get(name) ?? []), e]);
    }
    for (const [name, list] of byQueue) await this.addTo(name, list, delayMs);
  }

  private async addTo(name: string, entries: QueueEntry[], delayMs: number): Promise<void> {
    const jobs = entries.map((e) => ({
      name: e.job.operation,
      data: { e } satisfies Data,
      opts: {
        jobId: e.job.job_id,
        priority: bullPriority(e.job.execution.priority),
        removeOnComplete: true,
        removeOnFail: true,
        ...(delayMs > 0 ? { delay: Math.ceil(delayMs) } : {}),
      },
    }));
    // an outage, however long: the store holds the job as pending, so the add keeps trying
    // until the queue is shut down (a job still unsent then is queued again by the
    // intake's restart recovery, which re-offers the store's pending jobs)
    const q = this.queueFor(name);
    await this.persist(() => q.addBulk(jobs));
  }

  /** Runs fn after the job's operation under way; `count` is what it changes the pool's depth by once done. */
  private chain(id: string, fn: () => Promise<unknown>, count = 0): void {
    const prev = this.ops.get(id);
    this.pending += count;
    const run = () => this.persist(fn);
    const p = (prev ? prev.then(run) : run()).then(
      () => {
        this.pending -= count;
        this.delta += count;
      },
      (err: unknown) => {
        this.pending -= count;
        this.logError(`job ${id}`, err);
      },
    );
    this.track(id, p);
  }

  /**
   * Runs one BullMQ operation again through connection errors until it is done or the queue
   * is finished. ioredis holds commands through a Redis outage itself; node-postgres fails
   * them at once (a PostgreSQL restart), and an ack or a release must not be lost to that.
   */
  private async persist<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (!isConnectionError(err) || this.finished) throw err;
        this.logError('operation (retried)', err);
        await sleep(Math.min(2000, 100 * 2 ** Math.min(i, 5)));
      }
    }
  }

  private track(id: string, p: Promise<void>): void {
    this.ops.set(id, p);
    void p.finally(() => {
      if (this.ops.get(id) === p) this.ops.delete(id);
      this.maybeFinish();
    });
  }

  /** After close(): the worker stops fetching; once nothing is held, fetched or pending, the connections close. */
  private maybeFinish(): void {
    if (!this.closed || this.finished) return;
    // wakes a blocked fetch at once (held leases settle through the queue's connection)
    for (const src of this.sources) {
      src.workerClosed ??= src.worker.close().catch(nop);
      // PostgreSQL: a fetch on a closing worker never settles (BullMQ parks queries on a closing
      // pool), so its fetch loop stops here instead of waiting for it
      for (const f of [...src.fetches]) f.kick();
    }
    if (this.held.size || this.sources.some((src) => src.fetchers) || this.ops.size || this.batch.size) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.finished = (async () => {
      await bounded(Promise.all(this.sources.map((src) => src.workerClosed)), 5000);
      await bounded(Promise.allSettled(this.fetchPromises), 5000);
      await bounded(this.settled(), 10_000);
      await this.events?.close().catch(nop);
      await Promise.all([...this.queues.values()].map((q) => q.close().catch(nop)));
    })();
    this.finished.then(this.resolveDone, this.resolveDone);
  }

  private logError(what: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 1000) return;
    this.lastErrorLog = now;
    this.o.logger?.warn({ queue: this.o.name, err: String((err as Error)?.message ?? err) }, `queue ${what} failed`);
  }
}

/** Protocol priority 1..10 (10 first) → BullMQ priority 1..10 (1 first). */
export function bullPriority(p: number): number {
  return 11 - Math.min(10, Math.max(1, Math.round(p)));
}

/** ioredis options from a redis:// or rediss:// URL; commands wait through outages (BullMQ's advice for workers). */
export function redisOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`not a Redis URL: ${url}`);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
  };
}

/**
 * BullMQ PostgreSQL connection options: its schema (`bullmq`) migrated at connect (under
 * BullMQ's advisory lock, so processes starting together are safe); TCP keepalive on the
 * pooled connections too (BullMQ sets it on its LISTEN connection), so a dropped one is noticed.
 */
export function postgresOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error(`not a PostgreSQL URL: ${url}`);
  // query_timeout: a query on a half-open connection fails (and the pool drops that client)
  // instead of hanging; BullMQ's queries are short, migrations included
  return { connectionString: url, migrate: true, keepAlive: true, connectionTimeoutMillis: 10_000, query_timeout: 30_000, application_name: 'guestkit queue' };
}

/** Refuses a Redis that may evict keys (anything but maxmemory-policy noeviction). */
export async function checkEvictionPolicy(url: string): Promise<void> {
  const r = new Redis({ ...redisOptions(url), maxRetriesPerRequest: 3, lazyConnect: true, retryStrategy: () => null });
  try {
    await r.connect();
    const info = await r.info('memory');
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (policy !== undefined && policy !== 'noeviction') throw new RedisEvictionPolicyError(policy, `${new URL(url).host}`);
  } finally {
    r.disconnect();
  }
}

/** PostgreSQL SQLSTATEs of a server going away or not up yet (classes 08, 57P, 53300 too many connections). */
const PG_UNAVAILABLE = /^(08|57P0[1-4]|53300)/;

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && PG_UNAVAILABLE.test(code)) return true;
  const m = String((err as Error)?.message ?? err);
  return /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|connect|socket|Stream isn't writeable|timeout exceeded|starting up|shutting down/i.test(m);
}

function bounded(p: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
