import type { Logger } from '../observability/logger.js';
import { GuestkitError } from '../protocol/errors.js';
import type { BullmqQueue } from '../queue/bullmq/bullmq-queue.js';
import type { ClusterBus } from '../queue/bullmq/cluster-bus.js';
import type { WorkerConfig } from './worker-config.js';

/** A queue URL with its password masked (logs, errors). */
export function redactUrl(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/**
 * The pool's BullMQ queue on Redis and its message bus. A Redis that may evict keys is
 * refused (RedisEvictionPolicyError, a USAGE_ERROR); one that cannot be reached is a usage
 * error naming the URL.
 */
export async function openSharedQueue(cfg: WorkerConfig, logger: Logger): Promise<{ queue: BullmqQueue; bus: ClusterBus }> {
  const { BullmqQueue, queueNameOf } = await import('../queue/bullmq/bullmq-queue.js');
  const { ClusterBus } = await import('../queue/bullmq/cluster-bus.js');
  const name = queueNameOf(cfg.pool);
  const log = { warn: (o: object, m: string) => logger.warn(o, m), info: (o: object, m: string) => logger.info(o, m) };
  let queue: BullmqQueue | undefined;
  try {
    queue = await BullmqQueue.open({
      backend: { kind: 'redis', url: cfg.queue },
      name,
      workerName: cfg.workerId,
      lockDurationMs: cfg.queueLockMs,
      stalledIntervalMs: cfg.queueLockMs,
      drainDelaySec: 5,
      globalConcurrency: cfg.queueGlobalConcurrency,
      rateLimit: cfg.queueRateMax === undefined ? undefined : { max: cfg.queueRateMax, durationMs: cfg.queueRateDurationMs },
      logger: log,
    });
    const bus = await ClusterBus.open(cfg.queue, name, { logger: log });
    logger.info({ queue: redactUrl(cfg.queue), bullmq_queue: name, lock_ms: cfg.queueLockMs, global_concurrency: cfg.queueGlobalConcurrency ?? null, rate_max: cfg.queueRateMax ?? null }, 'shared job queue ready');
    return { queue, bus };
  } catch (err) {
    await queue?.shutdown().catch(() => undefined);
    if (err instanceof GuestkitError) throw err;
    throw new GuestkitError('USAGE_ERROR', `--queue ${redactUrl(cfg.queue)}: cannot use the Redis there: ${(err as Error)?.message ?? String(err)}`, { phase: 'validation' });
  }
}
