import type { JobEvents } from '../events/job-events.js';
import { namespaceOf } from '../ports/job-store.js';
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
    }),
    events.on('retrying', ({ job }) => m.retries.inc({ operation: job.operation })),
  ];
  return () => off.forEach((f) => f());
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
