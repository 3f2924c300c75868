/**
 * A cluster of real processes for tests: one private Redis (append-only, noeviction) — or none,
 * with the queue on BullMQ's PostgreSQL backend — one private PostgreSQL, one `guestkit serve`
 * running no jobs itself (--max-concurrent 0) and any number of `guestkit worker` processes,
 * each with its own spool folders, all on one BullMQ queue and one store. The store is read directly (pg) for what the API does not show whole:
 * every attempt and transition of a thousand jobs.
 */
import assert from 'node:assert/strict';
import { Queue, createPostgresBackend } from 'bullmq';
import pg from 'pg';
import { startPostgres, type PgInstance } from './postgres.js';
import { startRedis, type RedisInstance } from './redis.js';
import { call, removeDataDir, startServe, type Served } from './serve.js';
import { makeSpool, sleep, startDaemon, type Daemon, type SpoolDirs } from '../worker/helpers/daemon.js';

/** Short locks and heartbeats so that a killed worker's jobs are noticed within seconds. */
export const CLUSTER_ENV = { GUESTKIT_QUEUE_LOCK_MS: '3000', GUESTKIT_HEARTBEAT_SECONDS: '1', GUESTKIT_LOG_LEVEL: 'info' };

export const FINAL = ['completed', 'failed', 'cancelled', 'timeout'];

export class Cluster {
  readonly workers = new Map<string, { daemon: Daemon; spool: SpoolDirs }>();
  /** The test's own connections to the store (reads only). */
  readonly db: pg.Pool;

  private constructor(
    /** Absent on the PostgreSQL-only backend. */
    readonly redisServer: RedisInstance | undefined,
    readonly postgres: PgInstance,
    readonly storeUrl: string,
    readonly queueUrl: string,
    readonly serve: Served,
    private readonly workerArgs: string[],
    private readonly env: Record<string, string>,
  ) {
    this.db = new pg.Pool({ connectionString: storeUrl, max: 2 });
    // a restart of the server under test cuts idle connections: not the test's failure
    this.db.on('error', () => undefined);
  }

  /** Redis (unless the queue is PostgreSQL's), PostgreSQL and serve; no worker yet (startWorker). */
  static async start(opts: { workerArgs?: string[]; env?: Record<string, string>; queue?: 'redis' | 'postgres' } = {}): Promise<Cluster> {
    const env = { ...CLUSTER_ENV, ...opts.env };
    const redis = opts.queue === 'postgres' ? undefined : await startRedis({ settings: { appendonly: 'yes', 'maxmemory-policy': 'noeviction' } });
    let pgi: PgInstance | undefined;
    try {
      pgi = await startPostgres();
      const url = await pgi.createDatabase('cluster');
      const queue = redis?.url ?? url;
      const serve = await startServe({ args: ['--store', url, '--queue', queue, '--max-concurrent', '0', '--worker-id', 'api-node'], env });
      return new Cluster(redis, pgi, url, queue, serve, opts.workerArgs ?? [], env);
    } catch (err) {
      await pgi?.stop();
      await redis?.stop();
      throw err;
    }
  }

  /** The Redis of a Redis-backed cluster. */
  get redis(): RedisInstance {
    if (!this.redisServer) throw new Error('this cluster has no Redis (its queue is on PostgreSQL)');
    return this.redisServer;
  }

  get url(): string {
    return this.serve.url;
  }

  get token(): string {
    return this.serve.adminToken;
  }

  async startWorker(id: string): Promise<Daemon> {
    const spool = this.workers.get(id)?.spool ?? makeSpool(`gk-cluster-${id}-`);
    const daemon = startDaemon(spool, ['--store', this.storeUrl, '--queue', this.queueUrl, '--worker-id', id, '--drain-timeout', '5', ...this.workerArgs], this.env);
    this.workers.set(id, { daemon, spool });
    await Promise.race([
      daemon.waitForLog((l) => l.msg === 'worker ready', 90_000),
      daemon.exited.then((e) => {
        throw new Error(`worker ${id} exited (${e.code ?? e.signal}) before it was ready: ${daemon.stderr.join('')}`);
      }),
    ]);
    return daemon;
  }

  /**
   * Pauses (or resumes) the pool's BullMQ queue: workers stay live and registered, so serve's
   * placement accepts jobs, but nothing is handed out until resume.
   */
  async setPaused(paused: boolean, pool = 'default'): Promise<void> {
    let q: Queue;
    if (this.redisServer) {
      const u = new URL(this.redisServer.url);
      q = new Queue(`guestkit.${pool}`, { connection: { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null } });
    } else {
      q = new Queue(`guestkit.${pool}`, { connection: { connectionString: this.queueUrl } as never }, createPostgresBackend as never);
    }
    try {
      await (paused ? q.pause() : q.resume());
    } finally {
      await q.close();
    }
  }

  /** Submits through serve's API, up to 500 a request; the accepted ids in order. */
  async submit(docs: Record<string, unknown>[]): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < docs.length; i += 500) {
      const r = await call(this.url, 'POST', '/jobs', { token: this.token, body: { jobs: docs.slice(i, i + 500) } });
      assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
      ids.push(...(r.body.jobs as { job_id: string }[]).map((j) => j.job_id));
    }
    return ids;
  }

  /** A series of serve's /metrics (all of `labels` match), or undefined when absent. */
  async metric(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const text = await (await fetch(this.url.replace(/\/api\/v1$/, '') + '/metrics')).text();
    for (const line of text.split('\n')) {
      const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
      if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
    }
    return undefined;
  }

  /** One query on the store; retried while the server restarts (bounded). */
  async sql<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
    for (let tries = 0; ; tries++) {
      try {
        return (await this.db.query<R>(text, params)).rows;
      } catch (err) {
        if (tries >= 150) throw err;
        await sleep(200);
      }
    }
  }

  /** Jobs per status among ids starting with `prefix`. */
  async statuses(prefix: string): Promise<Record<string, number>> {
    const rows = await this.sql<{ status: string; n: number }>('SELECT status, count(*)::integer AS n FROM jobs WHERE job_id LIKE $1 GROUP BY status', [`${prefix}%`]);
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Polls the store until `n` jobs of `prefix` are final (hang guard only; the message shows where it stood). */
  async waitFinal(prefix: string, n: number, timeoutMs = 240_000): Promise<Record<string, number>> {
    const end = Date.now() + timeoutMs;
    let last: Record<string, number> = {};
    while (Date.now() < end) {
      last = await this.statuses(prefix);
      if (FINAL.reduce((s, k) => s + (last[k] ?? 0), 0) >= n) return last;
      await sleep(250);
    }
    throw new Error(`${prefix}*: ${n} final jobs not reached within ${timeoutMs} ms; statuses ${JSON.stringify(last)}\n${this.tails()}`);
  }

  /** Polls the store until `pred` holds for the query's rows. */
  async waitRows<R extends pg.QueryResultRow>(text: string, params: unknown[], pred: (rows: R[]) => boolean, what: string, timeoutMs = 120_000): Promise<R[]> {
    const end = Date.now() + timeoutMs;
    let rows: R[] = [];
    while (Date.now() < end) {
      rows = await this.sql<R>(text, params);
      if (pred(rows)) return rows;
      await sleep(100);
    }
    throw new Error(`${what} not reached within ${timeoutMs} ms; last rows ${JSON.stringify(rows).slice(0, 500)}\n${this.tails()}`);
  }

  /** The last log lines of every process (for failure messages). */
  tails(): string {
    const procs: [string, Daemon][] = [['serve', this.serve.daemon], ...[...this.workers].map(([id, w]): [string, Daemon] => [id, w.daemon])];
    return procs.map(([n, d]) => `--- ${n}\n${d.logs.slice(-12).map((l) => JSON.stringify(l).slice(0, 400)).join('\n')}\n${d.stderr.join('').slice(-1000)}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.workers.values()].map((w) => w.daemon.stop('SIGTERM', 20_000)));
    await this.serve.stop();
    removeDataDir(this.serve.dataDir);
    await this.db.end().catch(() => undefined);
    await this.postgres.stop();
    await this.redisServer?.stop();
  }
}
