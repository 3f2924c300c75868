import { Counter, type Registry } from 'prom-client';
import type { JobEvents } from '../events/job-events.js';
import { namespaceOf } from '../ports/job-store.js';
import { costOf, type Prices } from '../ports/usage.js';
import type { WorkerMetrics } from './metrics.js';

/** The job counters and histograms, fed by job events (the worker does not count them itself). */
export function attachJobMetrics(events: JobEvents, m: WorkerMetrics): () => void {
  const off = [
    events.on('finished', ({ job, status, result }) => {
      m.jobs.inc({ operation: job.operation, status });
      m.jobDuration.observe({ operation: job.operation, status }, result.execution_summary.duration_seconds);
      const read = result.metrics?.disk_read_bytes;
      if (typeof read === 'number' && read > 0) m.imageBytesRead.inc({ operation: job.operation }, read);
      // the figures GET /usage sums, so a dashboard and the API agree
      const usage = { namespace: namespaceOf(job), operation: job.operation, status };
      m.jobsFinished.inc(usage);
      m.jobCpuSeconds.inc(usage, figure(result.metrics?.cpu_seconds));
      m.jobWallSeconds.inc(usage, figure(result.metrics?.wall_seconds ?? result.execution_summary.duration_seconds));
      m.jobReadBytes.inc(usage, figure(read));
      m.jobImageBytes.inc(usage, figure(result.metrics?.image_bytes));
      const peak = figure(result.metrics?.peak_memory_mb);
      if (peak > 0) m.jobPeakMemory.observe({ namespace: usage.namespace, operation: usage.operation }, peak * 2 ** 20);
    }),
    events.on('retrying', ({ job }) => m.retries.inc({ operation: job.operation })),
  ];
  return () => off.forEach((f) => f());
}

/** What finished jobs cost at serve's prices, as GET /usage prices them, by namespace and operation. */
export function attachCostMetric(events: JobEvents, registry: Registry, prices: Prices): () => void {
  const cost = new Counter({
    name: 'guestkit_job_cost_total',
    help: 'Cost of finished jobs at the configured prices: CPU seconds × cpu_second + GiB read × gib_read (as GET /usage)',
    labelNames: ['namespace', 'operation', 'currency'],
    registers: [registry],
  });
  return events.on('finished', ({ job, result }) => {
    const c = costOf(figure(result.metrics?.cpu_seconds), figure(result.metrics?.disk_read_bytes), prices);
    if (c > 0) cost.inc({ namespace: namespaceOf(job), operation: job.operation, currency: prices.currency }, c);
  });
}

/** A metric figure fit for a counter (absent or malformed: 0). */
function figure(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0;
}

/** Jobs finished per second lately (the last full second, or the current one when busier). */
export class RateMeter {
  private windowStart = Date.now();
  private count = 0;
  private last = 0;

  note(): void {
    const now = Date.now();
    const span = now - this.windowStart;
    if (span >= 1000) {
      this.last = span > 2000 ? 0 : (this.count * 1000) / span;
      this.windowStart = now;
      this.count = 0;
    }
    this.count++;
  }

  get rate(): number {
    const span = Date.now() - this.windowStart;
    const current = (this.count * 1000) / Math.max(250, span);
    return span > 2000 ? current : Math.max(this.last, current);
  }
}
