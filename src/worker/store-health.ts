import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/metrics.js';
import { isStoreUnavailable, type JobStore } from '../ports/job-store.js';
import type { WorkerState } from '../protocol/worker.js';

export interface StoreHealthOptions {
  store: JobStore;
  workerId: string;
  logger: Logger;
  metrics: WorkerMetrics;
  /** The worker's state for the probe write (its heartbeat). */
  state(): { state: WorkerState; jobs: number };
  /** First probe after this long, doubling up to maxMs. */
  baseMs?: number;
  maxMs?: number;
  /** The store answers again. */
  recovered(): void;
}

/**
 * Whether the store takes writes. On a failure nothing new starts; the store is probed
 * (a real heartbeat write) with back-off until it answers, then `recovered` runs.
 */
export class StoreHealth {
  private down = false;
  private since = 0;
  private delayMs = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly o: StoreHealthOptions) {
    o.store.onUnavailable(() => this.failed());
  }

  get available(): boolean {
    return !this.down;
  }

  /** Resolves once the store takes writes (at once when it does), or when stopped. */
  whenAvailable(): Promise<void> {
    if (!this.down || this.stopped) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Called on every storage failure seen anywhere. */
  failed(): void {
    if (!this.down) {
      this.down = true;
      this.since = Date.now();
      this.delayMs = this.o.baseMs ?? 100;
      const f = this.o.store.unavailable;
      this.o.metrics.storeAvailable.set(0);
      this.o.metrics.storeFailures.inc();
      this.o.logger.error({ store_error: f?.code, err: f?.error }, 'job store unavailable: no new job starts; accepted jobs are kept and retried once it answers');
    }
    this.schedule();
  }

  /** One probe now (drain's last try); true when the store answers. */
  async probeNow(): Promise<boolean> {
    if (!this.down) return true;
    await this.probe(false);
    return !this.down;
  }

  /** Stops probing; waiters are let go. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, this.o.maxMs ?? 5000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.probe(true);
    }, delay);
  }

  private async probe(reschedule: boolean): Promise<void> {
    const s = this.o.state();
    try {
      await this.o.store.probe(this.o.workerId, s.state, s.jobs);
    } catch (err) {
      if (!isStoreUnavailable(err)) this.o.logger.error({ err: String(err) }, 'store probe failed');
      this.o.logger.warn({ store_error: this.o.store.unavailable?.code, retry_in_ms: this.delayMs }, 'job store still unavailable');
      if (reschedule) this.schedule();
      return;
    }
    if (!this.down) return;
    this.down = false;
    this.o.metrics.storeAvailable.set(1);
    this.o.logger.info({ unavailable_ms: Date.now() - this.since }, 'job store available again; resuming');
    for (const w of this.waiters.splice(0)) w();
    this.o.recovered();
  }
}
