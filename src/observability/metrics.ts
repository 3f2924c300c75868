import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type UsageLabel = 'namespace' | 'operation' | 'status';

/** The worker's Prometheus metrics, in their own registry (several workers may share a process in tests). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'operation' | 'status'>;
  readonly jobDuration: Histogram<'operation' | 'status'>;
  readonly handlerDuration: Histogram<'operation'>;
  readonly inFlight: Gauge;
  readonly queueDepth: Gauge;
  readonly imageBytesRead: Counter<'operation'>;
  readonly retries: Counter<'operation'>;
  /** Usage of finished jobs (what GET /usage sums), by namespace, operation and final status. */
  readonly jobsFinished: Counter<UsageLabel>;
  readonly jobCpuSeconds: Counter<UsageLabel>;
  readonly jobWallSeconds: Counter<UsageLabel>;
  readonly jobReadBytes: Counter<UsageLabel>;
  readonly jobImageBytes: Counter<UsageLabel>;
  readonly jobPeakMemory: Histogram<'namespace' | 'operation'>;
  readonly spoolRejected: Counter<'reason'>;
  readonly storeAvailable: Gauge;
  readonly storeFailures: Counter;
  readonly unpublished: Gauge;

  constructor(labels: Record<string, string> = {}, sources: { queueDepth?: () => number } = {}) {
    this.registry.setDefaultLabels(labels);
    collectDefaultMetrics({ register: this.registry, prefix: 'guestkit_worker_' });
    const r = [this.registry];
    this.jobs = new Counter({ name: 'guestkit_jobs_total', help: 'Jobs that ended, by operation and final status', labelNames: ['operation', 'status'], registers: r });
    this.jobDuration = new Histogram({
      name: 'guestkit_job_duration_seconds',
      help: 'Wall time from start of the last attempt to the end of the job',
      labelNames: ['operation', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers: r,
    });
    this.handlerDuration = new Histogram({
      name: 'guestkit_handler_duration_seconds',
      help: 'Time spent in the operation handler per attempt',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: r,
    });
    this.inFlight = new Gauge({ name: 'guestkit_jobs_in_flight', help: 'Jobs running on this worker now', registers: r });
    const depth = sources.queueDepth;
    this.queueDepth = new Gauge({
      name: 'guestkit_queue_depth',
      help: 'Jobs seen by this worker and waiting to run (incl. retry back-off)',
      registers: r,
      // read at scrape time: the queue changes far more often than anyone looks
      ...(depth ? { collect: function (this: Gauge) { this.set(depth()); } } : {}),
    });
    this.imageBytesRead = new Counter({ name: 'guestkit_image_read_bytes_total', help: 'Bytes read from disk images', labelNames: ['operation'], registers: r });
    const usage = { labelNames: ['namespace', 'operation', 'status'] as const, registers: r };
    this.jobsFinished = new Counter({ name: 'guestkit_jobs_finished_total', help: 'Jobs that ended, by namespace, operation and final status', ...usage });
    this.jobCpuSeconds = new Counter({ name: 'guestkit_job_cpu_seconds_total', help: 'CPU seconds of the last attempt of finished jobs (metrics.cpu_seconds)', ...usage });
    this.jobWallSeconds = new Counter({ name: 'guestkit_job_wall_seconds_total', help: 'Wall seconds of the last attempt of finished jobs (metrics.wall_seconds)', ...usage });
    this.jobReadBytes = new Counter({ name: 'guestkit_job_read_bytes_total', help: 'Bytes finished jobs read from disk images (metrics.disk_read_bytes)', ...usage });
    this.jobImageBytes = new Counter({ name: 'guestkit_job_image_bytes_total', help: 'Size of the disk images finished jobs named (metrics.image_bytes)', ...usage });
    this.jobPeakMemory = new Histogram({
      name: 'guestkit_job_peak_memory_bytes',
      help: 'Peak memory of the last attempt of finished jobs (metrics.peak_memory_mb)',
      labelNames: ['namespace', 'operation'],
      buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096].map((mb) => mb * 2 ** 20),
      registers: r,
    });
    this.retries = new Counter({ name: 'guestkit_job_retries_total', help: 'Attempts scheduled again after a retryable failure', labelNames: ['operation'], registers: r });
    this.storeAvailable = new Gauge({ name: 'guestkit_store_available', help: '1 while the job store takes writes, 0 while it fails (jobs are kept and retried)', registers: r });
    this.storeAvailable.set(1);
    this.storeFailures = new Counter({ name: 'guestkit_store_failures_total', help: 'Times the job store stopped taking writes (lock past the busy timeout, disk full, I/O error)', registers: r });
    this.unpublished = new Gauge({ name: 'guestkit_results_unpublished', help: 'Results recorded in the store but not yet written to the results folder (retried with back-off)', registers: r });
    this.spoolRejected = new Counter({ name: 'guestkit_spool_rejected_total', help: 'Spool files refused before running (malformed, invalid, duplicate)', labelNames: ['reason'], registers: r });
  }
}
