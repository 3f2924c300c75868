import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { percentiles } from '../ports/job-stats.js';
import { cursorAt, type EndedCursor, type SlaSource } from '../ports/sla.js';

type L = 'pool' | 'namespace';

export interface SlaMetricsOptions {
  source: SlaSource;
  registry: Registry;
  /** ms since epoch; the store's times are the writers' clocks (tests move it). */
  now?: () => number;
  /**
   * Ended jobs are read up to now − settleMs: a finish stamped by another machine's clock, or
   * committed a little after its stamp, is still read by a later scrape.
   */
  settleMs?: number;
  /** Ended jobs read per page, pages per scrape: a scrape after a long pause catches up over several. */
  pageSize?: number;
  maxPages?: number;
  /** A scrape waits at most this for the store, then answers with the figures it has. */
  timeoutMs?: number;
  /** A read this recent (real ms) answers another scrape too. */
  reuseMs?: number;
  onError?: (err: unknown) => void;
}

/** The window of guestkit_queue_wait_recent_seconds, and the waits it keeps per group at most. */
export const RECENT_MS = 10 * 60_000;
const RECENT_MAX = 10_000;

/** Queue wait buckets, seconds: fine below a minute, and the 15-minute SLO is a bound. */
export const QUEUE_WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/**
 * The SLA signals of `guestkit serve`, read from the job store when Prometheus scrapes (one
 * bounded read per scrape, shared by every metric): fleet-wide in cluster mode, since every
 * process reads the same store. Gauges are the same in every serve process; the counter and
 * the histogram count what ended since this process started, so their rates agree too
 * (aggregate across processes with max, not sum).
 */
export class SlaMetrics {
  readonly waiting: Gauge<L>;
  readonly backoff: Gauge<L>;
  readonly oldestAge: Gauge<L>;
  readonly deadlineMisses: Counter<L>;
  readonly queueWait: Histogram<L>;
  readonly queueWaitRecent: Gauge<L | 'quantile'>;
  readonly failures: Counter;
  private readonly o: Required<Omit<SlaMetricsOptions, 'onError'>> & Pick<SlaMetricsOptions, 'onError'>;
  private cursor: EndedCursor;
  private inflight: Promise<void> | undefined;
  private answer: Promise<void> | undefined;
  private doneAt = -Infinity;
  /** Waits of the jobs that ended lately, per group: [end ms, wait ms], oldest first. */
  private readonly recent = new Map<string, { l: Record<L, string>; w: [number, number][] }>();

  constructor(opts: SlaMetricsOptions) {
    this.o = { now: Date.now, settleMs: 10_000, pageSize: 5_000, maxPages: 4, timeoutMs: 5_000, reuseMs: 1_000, ...opts };
    this.cursor = cursorAt(this.o.now() - this.o.settleMs);
    const registers = [opts.registry];
    const labelNames = ['pool', 'namespace'] as const;
    const self = this;
    // every metric waits for the same read (prom-client collects them all at once)
    const collect = async () => self.refresh();
    this.waiting = new Gauge({ name: 'guestkit_queue_waiting_jobs', help: 'Pending jobs that may start now (store, whole fleet), by pool and namespace', labelNames, registers, collect });
    this.backoff = new Gauge({ name: 'guestkit_queue_backoff_jobs', help: 'Pending jobs in retry back-off (store, whole fleet), by pool and namespace', labelNames, registers, collect });
    this.oldestAge = new Gauge({
      name: 'guestkit_queue_oldest_age_seconds',
      help: 'Age of the oldest job that may start and has not (since it was queued, or its retry back-off ended), by pool and namespace; absent when none waits',
      labelNames,
      registers,
      collect,
    });
    this.deadlineMisses = new Counter({
      name: 'guestkit_deadline_misses_total',
      help: 'Jobs that ended because their execution.deadline passed, or started after it (store, whole fleet, counted since this process started)',
      labelNames,
      registers,
      collect,
    });
    this.queueWait = new Histogram({
      name: 'guestkit_queue_wait_seconds',
      help: 'Submit to the start of the first attempt, of jobs that ended (store, whole fleet, counted since this process started)',
      labelNames,
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
      collect,
    });
    this.queueWaitRecent = new Gauge({
      name: 'guestkit_queue_wait_recent_seconds',
      help: `Submit to first start of the jobs that ended in the last ${RECENT_MS / 60_000} minutes, p50 and p99 (nearest rank; for an autoscaler rule)`,
      labelNames: ['pool', 'namespace', 'quantile'],
      registers,
      collect,
    });
    this.failures = new Counter({ name: 'guestkit_sla_read_failures_total', help: 'Scrapes whose read of the SLA figures from the store failed or timed out', registers, collect });
  }

  /** Reads the store once (scrapes that meet share the read); never throws, never waits past timeoutMs. */
  refresh(): Promise<void> {
    if (this.answer) return this.answer;
    if (!this.inflight && performance.now() - this.doneAt < this.o.reuseMs) return Promise.resolve();
    this.inflight ??= this.read()
      .catch((err: unknown) => {
        this.failures.inc();
        // no stale picture of the queue while the store cannot be read
        this.waiting.reset();
        this.backoff.reset();
        this.oldestAge.reset();
        this.o.onError?.(err);
      })
      .finally(() => {
        this.inflight = undefined;
        this.doneAt = performance.now();
      });
    // a read still under way after timeoutMs goes on; the next scrape waits for it again
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.failures.inc();
        resolve();
      }, this.o.timeoutMs);
    });
    this.answer = Promise.race([this.inflight, late]).finally(() => {
      clearTimeout(timer);
      this.answer = undefined;
    });
    return this.answer;
  }

  private async read(): Promise<void> {
    const now = this.o.now();
    const groups = await this.o.source.waiting(now);
    this.waiting.reset();
    this.backoff.reset();
    this.oldestAge.reset();
    for (const g of groups) {
      const l = { pool: g.pool, namespace: g.namespace };
      this.waiting.set(l, g.ready);
      this.backoff.set(l, g.backoff);
      if (g.oldestReadyAt !== null) this.oldestAge.set(l, Math.max(0, now - g.oldestReadyAt) / 1000);
    }
    const before = now - this.o.settleMs;
    for (let page = 0; page < this.o.maxPages; page++) {
      const rows = await this.o.source.ended(this.cursor, before, this.o.pageSize);
      for (const r of rows) {
        const l = { pool: r.pool, namespace: r.namespace };
        if (r.deadlineMissed) this.deadlineMisses.inc(l);
        if (r.waitMs !== null) {
          this.queueWait.observe(l, r.waitMs / 1000);
          this.keepRecent(l, r.finishedAt, r.waitMs);
        }
        // advanced per row: a failure on the next page reads on from here
        this.cursor = { finishedAt: r.finishedAt, jobId: r.jobId };
      }
      if (rows.length < this.o.pageSize) break;
    }
    this.queueWaitRecent.reset();
    for (const [key, g] of this.recent) {
      let drop = 0;
      while (drop < g.w.length && g.w[drop]![0] < now - RECENT_MS) drop++;
      g.w.splice(0, drop);
      if (g.w.length === 0) {
        this.recent.delete(key);
        continue;
      }
      const p = percentiles(g.w.map((x) => x[1]));
      this.queueWaitRecent.set({ ...g.l, quantile: '0.5' }, p.p50!);
      this.queueWaitRecent.set({ ...g.l, quantile: '0.99' }, p.p99!);
    }
  }

  private keepRecent(l: Record<L, string>, at: number, waitMs: number): void {
    const key = `${l.pool}\u0000${l.namespace}`;
    let g = this.recent.get(key);
    if (!g) this.recent.set(key, (g = { l, w: [] }));
    g.w.push([at, waitMs]);
    if (g.w.length > RECENT_MAX) g.w.shift();
  }
}
