import type { Logger } from '../observability/logger.js';
import { GuestkitError } from '../protocol/errors.js';
import type { BullmqBackend, BullmqQueue } from '../queue/bullmq/bullmq-queue.js';
import type { ClusterBus } from '../queue/bullmq/cluster-bus.js';
import type { WorkerConfig } from './worker-config.js';

/** A queue URL with its password masked (logs, errors). */
export function redactUrl(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** The bus's name: channel `bull:guestkit:guestkit-bus` on Redis, `guestkit:guestkit-bus` on PostgreSQL. */
const CLUSTER_BUS = 'guestkit';

/** The backend a --queue URL names: Redis (`redis://`, `rediss://`) or PostgreSQL (`postgres://`, `postgresql://`). */
export function queueBackendOf(url: string): BullmqBackend {
  return /^postgres(ql)?:\/\//.test(url) ? { kind: 'postgres', url } : { kind: 'redis', url };
}

/**
 * The pool's BullMQ queue (and this worker's own) and the cluster's message bus, on Redis
 * (pub/sub bus) or on PostgreSQL (BullMQ's PostgreSQL backend, LISTEN/NOTIFY bus). A Redis
 * that may evict keys is refused (RedisEvictionPolicyError, a USAGE_ERROR); a server that
 * cannot be reached is a usage error naming the URL.
 */
export async function openSharedQueue(cfg: WorkerConfig, logger: Logger): Promise<{ queue: BullmqQueue; bus: ClusterBus }> {
  const { BullmqQueue, queueNameOf } = await import('../queue/bullmq/bullmq-queue.js');
  const backend = queueBackendOf(cfg.queue);
  const name = queueNameOf(cfg.pool);
  const log = { warn: (o: object, m: string) => logger.warn(o, m), info: (o: object, m: string) => logger.info(o, m) };
  let queue: BullmqQueue | undefined;
  try {
    queue = await BullmqQueue.open({
      backend,
      name,
      workerName: cfg.workerId,
      // jobs pinned to this worker (routing.worker_id) wait in its own queue
      workerId: cfg.workerId,
      lockDurationMs: cfg.queueLockMs,
      stalledIntervalMs: cfg.queueLockMs,
      drainDelaySec: 5,
      globalConcurrency: cfg.queueGlobalConcurrency,
      rateLimit: cfg.queueRateMax === undefined ? undefined : { max: cfg.queueRateMax, durationMs: cfg.queueRateDurationMs },
      logger: log,
    });
    // one bus for every pool: a job routed to another pool or pinned to a worker runs there,
    // and its events and cancels must reach the process that accepted it
    const bus: ClusterBus =
      backend.kind === 'postgres'
        ? await (await import('../queue/bullmq/pg-bus.js')).PgClusterBus.open(cfg.queue, CLUSTER_BUS, { logger: log })
        : await (await import('../queue/bullmq/cluster-bus.js')).RedisClusterBus.open(cfg.queue, CLUSTER_BUS, { logger: log });
    // a cancel for a job waiting in this worker's own queue (no other process takes from it):
    // the job ends cancelled when this worker takes it
    bus.onCancel((jobId, reason) => queue!.noteCancel(jobId, reason));
    logger.info({ queue: redactUrl(cfg.queue), backend: backend.kind, bullmq_queue: name, lock_ms: cfg.queueLockMs, global_concurrency: cfg.queueGlobalConcurrency ?? null, rate_max: cfg.queueRateMax ?? null }, 'shared job queue ready');
    return { queue, bus };
  } catch (err) {
    await queue?.shutdown().catch(() => undefined);
    if (err instanceof GuestkitError) throw err;
    const what = backend.kind === 'postgres' ? 'the PostgreSQL' : 'the Redis';
    throw new GuestkitError('USAGE_ERROR', `--queue ${redactUrl(cfg.queue)}: cannot use ${what} there: ${(err as Error)?.message ?? String(err)}`, { phase: 'validation' });
  }
}
