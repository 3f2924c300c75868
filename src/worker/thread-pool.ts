import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ProgressUpdate } from '../jobs/types.js';
import type { ProgressMessage, ThreadReply, ThreadTask, UsageMessage } from './thread-entry.js';
import type { ThreadUsage } from './usage.js';

export interface ThreadPoolOptions {
  maxThreads: number;
  /** Default V8 old-space cap per thread (MiB); 0 = Node's default. */
  memoryLimitMb?: number;
  idleTimeoutMs?: number;
  /**
   * An error of a pool thread that belongs to no task (a timer a finished handler left
   * behind threw). Piscina emits it as an 'error' event, which unheard would crash the worker.
   */
  onThreadError?: (err: unknown) => void;
}

/**
 * Piscina pools keyed by memory cap (resourceLimits are per thread, fixed at spawn):
 * jobs asking for a different cap get their own small pool. An aborted task's thread is
 * terminated by piscina, which is what makes hard timeouts and cancel real.
 */
export class ThreadPool {
  private readonly pools = new Map<number, { pool: Piscina; busy: number; lastUsed: number }>();
  private readonly filename: string;

  constructor(private readonly opts: ThreadPoolOptions) {
    // Compiled: thread-entry.js beside this file. Under tsx: a .ts entry that first gives the
    // thread tsx's ESM hooks (workers inherit only its require hook; see thread-entry-dev.ts).
    const dev = import.meta.url.endsWith('.ts');
    this.filename = new URL(dev ? './thread-entry-dev.ts' : './thread-entry.js', import.meta.url).href;
  }

  async run(
    task: Omit<ThreadTask, 'port'>,
    opts: { signal: AbortSignal; onProgress: (u: ProgressUpdate) => void; onUsage?: (u: ThreadUsage) => void; memoryLimitMb?: number },
  ): Promise<ThreadReply> {
    const cap = Math.max(0, Math.floor(opts.memoryLimitMb ?? this.opts.memoryLimitMb ?? 0));
    const entry = this.poolFor(cap);
    const { port1, port2 } = new MessageChannel();
    const onMessage = (m: ProgressMessage | UsageMessage) => {
      if ('usage' in m) opts.onUsage?.(m.usage);
      else for (const u of m.progress) opts.onProgress(u);
    };
    port1.on('message', onMessage);
    entry.busy++;
    try {
      return (await entry.pool.run({ ...task, port: port2 }, { signal: opts.signal, transferList: [port2] })) as ThreadReply;
    } finally {
      entry.busy--;
      entry.lastUsed = Date.now();
      // the reply comes on piscina's port: what the thread posted on ours just before it may
      // not have been delivered yet, and closing would drop it
      for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) onMessage(m.message as ProgressMessage | UsageMessage);
      port1.close();
    }
  }

  private poolFor(cap: number) {
    let e = this.pools.get(cap);
    if (!e) {
      this.evictIdle();
      const pool = new Piscina({
        filename: this.filename,
        minThreads: 0,
        maxThreads: Math.max(1, this.opts.maxThreads),
        idleTimeout: this.opts.idleTimeoutMs ?? 30_000,
        // extra queueing is the executor's job; piscina never holds more than maxThreads tasks here
        concurrentTasksPerWorker: 1,
        // an idle thread blocked in Atomics.wait runs no timers: a timer a finished handler
        // left behind would throw into the NEXT job on that thread. Message wake-ups keep
        // idle threads live, so such an error surfaces at once, blamed on no job.
        atomics: 'disabled',
        ...(cap > 0 ? { resourceLimits: { maxOldGenerationSizeMb: cap, maxYoungGenerationSizeMb: Math.max(4, Math.min(64, Math.floor(cap / 8))) } } : {}),
      });
      pool.on('error', (err: unknown) => this.opts.onThreadError?.(err));
      e = { pool, busy: 0, lastUsed: Date.now() };
      this.pools.set(cap, e);
    }
    return e;
  }

  /** Keeps at most a handful of pools: idle ones with unusual caps are closed. */
  private evictIdle(): void {
    if (this.pools.size < 4) return;
    const idle = [...this.pools.entries()].filter(([, e]) => e.busy === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [cap, e] of idle.slice(0, this.pools.size - 3)) {
      this.pools.delete(cap);
      void e.pool.destroy();
    }
  }

  async destroy(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(all.map((e) => e.pool.destroy()));
  }
}
