import type { Server } from 'node:http';
import { join } from 'node:path';
import { JobEvents } from '../events/job-events.js';
import { BUDGET_ENV } from '../inspect/budget.js';
import type { BudgetName } from '../protocol/payloads/inspect-budget.js';
import type { Intake, IntakeSink } from '../ports/intake.js';
import { SpoolIntake } from '../intake/spool/spool-intake.js';
import { submitJob } from '../intake/submit.js';
import { HoldScheduler } from '../placement/hold-scheduler.js';
import { builtinRegistry, type HandlerRegistry } from '../jobs/registry.js';
import { startHealthServer } from '../observability/health-server.js';
import { attachCostMetric, attachJobMetrics, RateMeter } from '../observability/job-metrics.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { WorkerMetrics } from '../observability/metrics.js';
import { setupTracingExport, shutdownTracingExport } from '../observability/tracing.js';
import type { WorkerRegistration } from '../protocol/index.js';
import { EmbeddedQueue } from '../queue/embedded/embedded-queue.js';
import type { BullmqQueue } from '../queue/bullmq/bullmq-queue.js';
import type { ClusterBus } from '../queue/bullmq/cluster-bus.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobStore } from '../ports/job-store.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-job-store.js';
import { JobWorker } from '../worker/job-worker.js';
import { PathPolicy } from '../worker/path-policy.js';
import { failOrphans, recoverJob } from '../worker/recovery.js';
import { buildRegistration } from '../worker/registration.js';
import { JobRunner } from '../worker/runner.js';
import { ThreadPool } from '../worker/thread-pool.js';
import type { WorkerConfig } from './worker-config.js';
import { openSharedQueue, redactUrl } from './shared-queue.js';

export interface RunningWorker {
  readonly config: WorkerConfig;
  readonly worker: JobWorker;
  readonly store: JobStore;
  readonly events: JobEvents;
  /**
   * The job events of the whole pool: this process's, and, on a shared queue, those of
   * the jobs other processes run (what the API's event streams and the intakes follow).
   */
  readonly poolEvents: JobEvents;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  readonly registry: HandlerRegistry;
  readonly pathPolicy: PathPolicy;
  readonly metricsPort?: number;
  /** Why the node cannot serve now (draining, store down, an intake's problem), or ok. */
  ready(): { ok: true } | { ok: false; reason: string };
  /** Graceful stop: no new claims, running jobs get the drain timeout, the rest are given back. */
  shutdown(reason?: string): Promise<void>;
}

/** The job store the configuration names: the data dir's SQLite file, or a shared PostgreSQL. */
export async function openJobStore(cfg: Pick<WorkerConfig, 'store' | 'dataDir' | 'storeBusyTimeoutMs'>): Promise<JobStore> {
  if (cfg.store === 'sqlite') return SqliteJobStore.open(cfg.dataDir, { busyTimeoutMs: cfg.storeBusyTimeoutMs });
  const { PostgresJobStore } = await import('../store/postgres/pg-job-store.js');
  return PostgresJobStore.open(cfg.store, { retryMs: cfg.storeBusyTimeoutMs, applicationName: `guestkit ${cfg.dataDir}` });
}

export interface NodeOptions {
  /** Intakes besides the file spool (the HTTP API's); started before it, so their recovery runs first. */
  intakes?: (ctx: { sink: IntakeSink; store: JobStore; logger: Logger }) => Intake[];
  /** The most jobs of one namespace running at once (quotas), or null for no cap. */
  runningCap?: (namespace: string) => number | null;
}

/**
 * The composition root of `guestkit worker`: builds the store, queue, events, runner,
 * worker, the spool intake, health/metrics endpoint and heartbeats from configuration.
 * Every other module receives its collaborators; only this one picks the adapters.
 */
export async function startWorker(cfg: WorkerConfig, version: string, opts: NodeOptions = {}): Promise<RunningWorker> {
  if (cfg.testHandlers) process.env.GUESTKIT_TEST_HANDLERS = '1'; // pool threads read it too
  // include_vulnerabilities reads <data-dir>/advisories.db, where `guestkit advisories import` puts
  // them for the same data dir, unless GUESTKIT_ADVISORY_DB names another (threads inherit env)
  process.env.GUESTKIT_ADVISORY_DB ??= join(cfg.dataDir, 'advisories.db');
  // the config file's inspection ceilings reach the pool threads as the GUESTKIT_INSPECT_* they
  // read; a variable already set (the environment) wins
  for (const [k, v] of Object.entries(cfg.inspectBudget ?? {})) {
    const name = k === 'on_exceeded' ? 'GUESTKIT_INSPECT_ON_BUDGET_EXCEEDED' : BUDGET_ENV[k as BudgetName];
    if (name && v !== undefined) process.env[name] ??= String(v);
  }
  const logger = createLogger({ level: cfg.logLevel, workerId: cfg.workerId });
  const registry = builtinRegistry({ testHandlers: cfg.testHandlers });
  const store = await openJobStore(cfg);
  let shared: { queue: BullmqQueue; bus: ClusterBus } | undefined;
  try {
    shared = cfg.queue === 'embedded' ? undefined : await openSharedQueue(cfg, logger);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  if (shared && opts.runningCap) logger.warn({ queue: redactUrl(cfg.queue) }, 'namespace running caps (quotas.max_running) are not applied on a shared queue; submit-time quotas still are');
  const queue: JobQueue = shared?.queue ?? new EmbeddedQueue({ cap: opts.runningCap });
  const metrics = new WorkerMetrics({ worker_id: cfg.workerId, pool: cfg.pool }, { queueDepth: () => queue.size });
  const events = new JobEvents((event, err) => logger.error({ event, err: String((err as Error)?.stack ?? err) }, 'job event listener failed'));
  attachJobMetrics(events, metrics);
  // counted where the job ran: once per job, whichever process serves the API
  attachCostMetric(events, metrics.registry, cfg.prices);
  const poolEvents = shared ? new JobEvents((event, err) => logger.error({ event, err: String((err as Error)?.stack ?? err) }, 'job event listener failed')) : events;
  if (shared) {
    for (const n of ALL_EVENTS) events.on(n, (p) => poolEvents.emit(n, p as never));
    shared.bus.share(events, poolEvents);
  }
  const rate = new RateMeter();
  events.on('finished', () => rate.note());
  const threads = new ThreadPool({
    maxThreads: cfg.maxConcurrent,
    memoryLimitMb: cfg.memoryLimitMb,
    onThreadError: (err) => logger.error({ err: String((err as Error)?.stack ?? err) }, 'a handler thread failed outside any job; it is replaced'),
  });
  const pathPolicy = new PathPolicy(cfg.allowPaths);
  const runner = new JobRunner({ workerId: cfg.workerId, threads, pathPolicy, memoryLimitMb: cfg.memoryLimitMb || undefined });
  const registeredAt = new Date();
  let worker: JobWorker | undefined;
  // an API-only node (--max-concurrent 0 on a shared queue) registers as one slot, always busy (the protocol's minimum is 1)
  const regInput = { workerId: cfg.workerId, version, pool: cfg.pool, maxConcurrent: Math.max(1, cfg.maxConcurrent), maxDiskSizeGb: cfg.maxDiskSizeGb, registry, registeredAt };
  const registration = (): WorkerRegistration => {
    const reg = buildRegistration(regInput, worker?.state ?? 'ready', worker?.inFlight ?? 0);
    (reg.configuration as Record<string, unknown>).heartbeat_seconds = cfg.heartbeatSeconds;
    // an API-only node heartbeats but takes no jobs: placement must not count it
    if (cfg.maxConcurrent === 0) (reg.configuration as Record<string, unknown>).runs_jobs = false;
    return reg;
  };
  // constraint checks read only capabilities, pool and version (fixed for the process's life):
  // built once, not for every job
  let routingReg: WorkerRegistration | undefined;
  const routingRegistration = () => (routingReg ??= registration());
  const heartbeatMs = (reg: WorkerRegistration) => (Number((reg.configuration as { heartbeat_seconds?: unknown }).heartbeat_seconds) || 10) * 1000;
  const w = (worker = new JobWorker({
    workerId: cfg.workerId,
    maxConcurrent: cfg.maxConcurrent,
    store,
    queue,
    events,
    runner,
    registry,
    logger,
    metrics,
    registration: routingRegistration,
    retryBaseMs: cfg.retryBaseMs,
    holderAlive: async (id) => {
      const rec = await store.worker(id);
      return rec !== undefined && rec.state !== 'offline' && Date.now() - rec.lastHeartbeat <= 5 * heartbeatMs(rec.registration);
    },
    stallRecheckMs: Math.max(1000, Math.min(cfg.queueLockMs, cfg.heartbeatSeconds * 1000)),
    // only the spool's jobs get a (pretty-printed) result file; `spool` is made below, before any job starts
    prettyData: (jobId) => spool.held.has(jobId),
  }));
  const recovery = { store, workerId: cfg.workerId, logger, metrics };
  // jobs accepted but not queued yet (waiting for parents or capacity); released here or by any node
  const holds = new HoldScheduler({
    store,
    queue,
    logger,
    pool: cfg.pool,
    workerId: cfg.workerId,
    shared: shared !== undefined,
    sweepMs: Math.min(5000, cfg.heartbeatSeconds * 1000),
    reclaim: shared ? (id) => shared!.queue.takeWaitingOf(id) : undefined,
    endUnstarted: (entry, end) => ('cancel' in end ? w.cancelTaken(entry, end.cancel) : w.failTaken(entry, end.error)),
  });
  // the whole pool's ends: a child submitted here may wait for a parent that ran elsewhere
  poolEvents.on('finished', (p) => void holds.onFinished(p.job.job_id));
  /**
   * A cancel of a job no slot here runs, on a shared queue: taken out of the queue when it
   * waits there (whoever queued it), otherwise every process of the pool is asked (its
   * holder aborts the running handler).
   */
  const cancelShared = async (s: NonNullable<typeof shared>, jobId: string, reason: string) => {
    try {
      const entry = await s.queue.take(jobId, (e) => e.job.execution.cancellable);
      if (entry) return w.cancelTaken(entry, reason);
    } catch (err) {
      logger.warn({ job_id: jobId, err: String(err) }, 'could not take the job out of the shared queue; asking its holder');
    }
    if (w.holds(jobId)) w.cancel(jobId, reason); // it reached this process meanwhile
    else s.bus.cancel(jobId, reason);
  };
  shared?.bus.onCancel((jobId, reason) => {
    if (w.holds(jobId)) w.cancel(jobId, reason);
  });
  const sink: IntakeSink = {
    workerId: cfg.workerId,
    events: poolEvents,
    submit: async (job, opts) => {
      const out = await submitJob({ store, queue, events, holds }, job, opts);
      // a cancel that came with the job is answered now, not when a slot frees
      if (out.kind === 'accepted' && opts?.cancel !== undefined && job.execution.cancellable) w.cancel(job.job_id, opts.cancel);
      return out;
    },
    cancel: (jobId, reason) => {
      if (!shared || w.holds(jobId)) return w.cancel(jobId, reason);
      void cancelShared(shared, jobId, reason);
      return 'cancelling';
    },
    cancelHeld: (jobId, reason) => holds.cancelHeld(jobId, reason),
    knows: (jobId) => w.knows(jobId),
    routedHere: (job) => w.routedHere(job),
    get accepting() {
      return w.storeAvailable && !w.isDraining;
    },
    get queued() {
      return w.queued;
    },
    get recentRate() {
      return rate.rate;
    },
    recover: (job, jobId) => recoverJob(recovery, job, jobId),
    failOrphans: (keep) => (shared ? recoverShared(shared.queue, (id) => keep(id) || w.knows(id)) : failOrphans(recovery, (id) => keep(id) || w.knows(id))),
    // dead = no heartbeat for 5 of its own intervals (workers sharing the data dir)
    isWorkerDead: async (id) => {
      if (id === cfg.workerId) return false;
      const rec = await store.worker(id);
      return rec !== undefined && Date.now() - rec.lastHeartbeat > 5 * heartbeatMs(rec.registration);
    },
    livePeers: async () => (await store.liveWorkers(Date.now() - 5 * cfg.heartbeatSeconds * 1000)).filter((x) => x !== cfg.workerId).length,
    result: (jobId) => store.result(jobId),
  };
  /**
   * Shared queue: the jobs the store says this worker held when it stopped are not orphans:
   * their attempt counts as lost and they go back to the pool (queued again if the queue
   * lost them: a job id already queued is refused by BullMQ), or end WORKER_LOST when their
   * attempts are used.
   */
  const recoverShared = async (q: BullmqQueue, keep: (id: string) => boolean) => {
    const out = [];
    for (const rec of await store.activeJobsOf(cfg.workerId)) {
      const id = rec.job.job_id;
      if (keep(id) || rec.hold) continue; // a held job is in no queue: its hold releases it
      const a = await recoverJob(recovery, rec.job, id);
      if (a.action === 'release') q.enqueue({ job: rec.job });
      else if (a.result) out.push(a.result);
    }
    return out;
  };
  const spool = new SpoolIntake({
    jobsDir: cfg.jobsDir,
    resultsDir: cfg.resultsDir,
    sink,
    logger,
    metrics,
    pollIntervalMs: cfg.pollIntervalMs,
    settleMs: cfg.settleMs,
    adoptStale: true,
    slots: Math.max(1, cfg.maxConcurrent),
    parentGraceMs: Number(process.env.GUESTKIT_SPOOL_PARENT_GRACE_MS) || undefined,
  });
  const intakes: Intake[] = [...(opts.intakes?.({ sink, store, logger }) ?? []), spool];

  const tracing = await setupTracingExport('guestkit-worker');
  if (!pathPolicy.restricted) logger.warn('no --allow-path given: jobs may name images anywhere this user can read');

  const ready = (): { ok: true } | { ok: false; reason: string } => {
    if (w.isDraining) return { ok: false, reason: 'draining' };
    const down = store.unavailable;
    if (down || !w.storeAvailable) return { ok: false, reason: `job store unavailable since ${new Date(down?.since ?? Date.now()).toISOString()}: ${down?.code ?? 'probing'}` };
    if (shared?.queue.backendDown) return { ok: false, reason: `job queue ${redactUrl(cfg.queue)} does not answer` };
    for (const i of intakes) {
      const p = i.problem();
      if (p) return { ok: false, reason: p };
    }
    return { ok: true };
  };
  let http: { server: Server; port: number } | undefined;
  if (cfg.metricsPort !== undefined) {
    http = await startHealthServer(cfg.metricsPort, cfg.metricsHost, {
      metrics: metrics.registry,
      ready,
      registration,
      onError: (err) => logger.error({ err: String(err) }, 'health endpoint error'),
    });
  }
  await store.registerWorker(registration());
  w.start();
  for (const i of intakes) await i.start();
  holds.start();
  let beats = 0;
  const beat = setInterval(() => {
    // while the store fails the worker's recovery probe is the heartbeat
    if (!w.storeAvailable) return;
    store.heartbeat(cfg.workerId, w.state, w.inFlight).then(
      () => (++beats % 3 === 0 ? spool.tick() : undefined),
      (err: unknown) => logger.warn({ err: String(err) }, 'heartbeat failed'),
    ).catch((err: unknown) => logger.error({ err: String(err) }, 'adopting stale claims failed'));
  }, cfg.heartbeatSeconds * 1000);
  beat.unref();

  const caps = registry.capabilities();
  logger.info(
    { version, pool: cfg.pool, jobs_dir: cfg.jobsDir, results_dir: cfg.resultsDir, data_dir: cfg.dataDir, max_concurrent: cfg.maxConcurrent, metrics_port: http?.port ?? null, operations: caps.operations, tracing },
    'worker ready',
  );

  let stopping: Promise<void> | undefined;
  return {
    config: cfg,
    worker: w,
    store,
    events,
    poolEvents,
    logger,
    metrics,
    registry,
    pathPolicy,
    ready,
    metricsPort: http?.port,
    shutdown(reason = 'shutdown') {
      stopping ??= (async () => {
        logger.info({ reason, in_flight: w.inFlight, drain_timeout_s: cfg.drainTimeout }, 'draining');
        for (const i of intakes) i.stop();
        await holds.stop();
        await w.drain(cfg.drainTimeout * 1000);
        for (const i of intakes) await i.close();
        if (shared) {
          // held leases go back to the pool's queue; the other processes stop hearing from us
          await shared.queue.shutdown();
          await shared.bus.close();
        }
        clearInterval(beat);
        if (w.storeAvailable) await store.heartbeat(cfg.workerId, 'offline', 0).catch(() => undefined);
        await threads.destroy();
        if (http) await new Promise<void>((r) => http!.server.close(() => r()));
        await store.close();
        await shutdownTracingExport();
        logger.info('worker stopped');
        logger.flush();
      })();
      return stopping;
    },
  };
}

const ALL_EVENTS = ['submitted', 'started', 'progress', 'retrying', 'finished', 'completed', 'failed', 'cancelled', 'timeout', 'released', 'duplicate'] as const;
