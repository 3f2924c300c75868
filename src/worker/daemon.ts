import type { Server } from 'node:http';
import { builtinRegistry } from '../jobs/registry.js';
import type { WorkerState } from '../protocol/index.js';
import { Store } from '../store/store.js';
import { SpoolTransport } from '../transport/spool/spool.js';
import type { WorkerConfig } from './config.js';
import { Executor } from './executor.js';
import { startHealthServer } from './http.js';
import { createLogger, type Logger } from './logger.js';
import { WorkerMetrics } from './metrics.js';
import { PathPolicy } from './path-policy.js';
import { buildRegistration } from './registration.js';
import { ThreadPool } from './thread-pool.js';
import { setupTracingExport, shutdownTracingExport } from './tracing.js';

export interface RunningWorker {
  readonly config: WorkerConfig;
  readonly executor: Executor;
  readonly store: Store;
  readonly logger: Logger;
  readonly metricsPort?: number;
  /** Graceful stop: no new claims, running jobs get the drain timeout, the rest are given back. */
  shutdown(reason?: string): Promise<void>;
}

/**
 * Wires one worker together: store, handler registry, thread pool, executor, spool
 * transport, health/metrics endpoint and heartbeats. Each piece does one thing.
 */
export async function startWorker(cfg: WorkerConfig, version: string): Promise<RunningWorker> {
  if (cfg.testHandlers) process.env.GUESTKIT_TEST_HANDLERS = '1'; // pool threads read it too
  const logger = createLogger({ level: cfg.logLevel, workerId: cfg.workerId });
  const registry = builtinRegistry({ testHandlers: cfg.testHandlers });
  const store = Store.open(cfg.dataDir, { busyTimeoutMs: cfg.storeBusyTimeoutMs });
  const metrics = new WorkerMetrics({ worker_id: cfg.workerId, pool: cfg.pool });
  const threads = new ThreadPool({
    maxThreads: cfg.maxConcurrent,
    memoryLimitMb: cfg.memoryLimitMb,
    onThreadError: (err) => logger.error({ err: String((err as Error)?.stack ?? err) }, 'a handler thread failed outside any job; it is replaced'),
  });
  const pathPolicy = new PathPolicy(cfg.allowPaths);
  const registeredAt = new Date();
  let executor!: Executor;
  const state = (): WorkerState => (executor.isDraining ? 'draining' : executor.inFlight >= cfg.maxConcurrent ? 'busy' : 'ready');
  const regInput = { workerId: cfg.workerId, version, pool: cfg.pool, maxConcurrent: cfg.maxConcurrent, maxDiskSizeGb: cfg.maxDiskSizeGb, registry, registeredAt };
  const registration = () => {
    const reg = buildRegistration(regInput, executor ? state() : 'ready', executor ? executor.inFlight : 0);
    (reg.configuration as Record<string, unknown>).heartbeat_seconds = cfg.heartbeatSeconds;
    return reg;
  };
  executor = new Executor({
    workerId: cfg.workerId,
    maxConcurrent: cfg.maxConcurrent,
    store,
    registry,
    threads,
    pathPolicy,
    logger,
    metrics,
    registration,
    retryBaseMs: cfg.retryBaseMs,
    memoryLimitMb: cfg.memoryLimitMb || undefined,
    onSlotFree: (queued) => spool.slotFree(queued),
  });
  // alone on the spool: claim a whole backlog; with live peers: about a second of work
  // (fast jobs keep rescans rare, slow ones are left for idle peers)
  let peers = { at: 0, n: 0 };
  const claimAhead = () => {
    const now = Date.now();
    if (now - peers.at > 1000) {
      try {
        const live = store.liveWorkers(now - 5 * cfg.heartbeatSeconds * 1000).filter((w) => w !== cfg.workerId).length;
        peers = { at: now, n: live };
      } catch {
        peers = { at: now, n: peers.n };
      }
    }
    return peers.n > 0 ? Math.max(16, cfg.maxConcurrent * 8, Math.ceil(executor.recentRate)) : Number.MAX_SAFE_INTEGER;
  };
  const spool: SpoolTransport = new SpoolTransport({
    claimAhead,
    jobsDir: cfg.jobsDir,
    resultsDir: cfg.resultsDir,
    workerId: cfg.workerId,
    executor,
    logger,
    metrics,
    pollIntervalMs: cfg.pollIntervalMs,
    settleMs: cfg.settleMs,
    // dead = no heartbeat for 5 of its own intervals (workers sharing the data dir)
    isWorkerDead: (dir) => {
      const w = store.worker(dir);
      if (!w || dir === cfg.workerId) return false;
      const every = Number((w.registration as { configuration?: { heartbeat_seconds?: unknown } }).configuration?.heartbeat_seconds) || 10;
      return Date.now() - w.last_heartbeat > 5 * every * 1000;
    },
  });

  // last resort: every timer, watcher and store path handles its own errors; one that still
  // escapes is a bug. A rejection is logged and the worker goes on; an exception is logged
  // and the process exits (restart recovery resolves what it held).
  const onRejection = (err: unknown) => logger.error({ err: String((err as Error)?.stack ?? err) }, 'unhandled promise rejection (bug); the worker keeps running');
  const onException = (err: Error) => {
    logger.fatal({ err: String(err?.stack ?? err) }, 'uncaught exception (bug); exiting, restart recovery resolves the claimed jobs');
    logger.flush();
    process.exit(70);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);

  const tracing = await setupTracingExport('guestkit-worker');
  if (!pathPolicy.restricted) logger.warn('no --allow-path given: jobs may name images anywhere this user can read');

  let http: { server: Server; port: number } | undefined;
  if (cfg.metricsPort !== undefined) {
    http = await startHealthServer(cfg.metricsPort, cfg.metricsHost, {
      metrics: metrics.registry,
      ready: () => {
        if (executor.isDraining) return { ok: false, reason: 'draining' };
        const down = store.unavailable;
        if (down || !executor.storeAvailable) return { ok: false, reason: `job store unavailable since ${new Date(down?.since ?? Date.now()).toISOString()}: ${down?.code ?? 'probing'}` };
        const spoolProblem = spool.problem();
        return spoolProblem ? { ok: false, reason: spoolProblem } : { ok: true };
      },
      registration,
      onError: (err) => logger.error({ err: String(err) }, 'health endpoint error'),
    });
  }
  store.registerWorker(cfg.workerId, registration(), 'ready', 0);
  spool.start();
  let beats = 0;
  const beat = setInterval(() => {
    // while the store fails the executor's recovery probe is the heartbeat
    if (!executor.storeAvailable) return;
    try {
      store.heartbeat(cfg.workerId, state(), executor.inFlight);
      if (++beats % 3 === 0) spool.adoptStale();
    } catch (err) {
      logger.warn({ err: String(err) }, 'heartbeat failed');
    }
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
    executor,
    store,
    logger,
    metricsPort: http?.port,
    shutdown(reason = 'shutdown') {
      stopping ??= (async () => {
        logger.info({ reason, in_flight: executor.inFlight, drain_timeout_s: cfg.drainTimeout }, 'draining');
        spool.stop();
        await executor.drain(cfg.drainTimeout * 1000);
        spool.close();
        clearInterval(beat);
        try {
          store.heartbeat(cfg.workerId, 'offline', 0);
        } catch {
          /* store may be gone */
        }
        await threads.destroy();
        if (http) await new Promise<void>((r) => http!.server.close(() => r()));
        store.close();
        await shutdownTracingExport();
        process.off('unhandledRejection', onRejection);
        process.off('uncaughtException', onException);
        logger.info('worker stopped');
        logger.flush();
      })();
      return stopping;
    },
  };
}
