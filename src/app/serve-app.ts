import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import { noAuth, tokenAuthenticator } from '../api/auth.js';
import { QuotaGate } from '../api/quotas.js';
import { buildApi } from '../api/server.js';
import { HttpIntake } from '../intake/http/http-intake.js';
import { refusal, type TokenRecord } from '../ports/token-store.js';
import { GuestkitError, isGuestkitError } from '../protocol/errors.js';
import { openControlStores } from '../store/sqlite/control-db.js';
import { SqliteJobStore } from '../store/sqlite/sqlite-job-store.js';
import { SqliteInventory } from '../store/sqlite/inventory-query.js';
import { defaultAdvisoryDbPath } from '../vulns/db.js';
import { SqliteJobStats } from '../store/sqlite/stats-query.js';
import { SqliteSla } from '../store/sqlite/sla-query.js';
import { SlaMetrics } from '../observability/sla-metrics.js';
import type { ServeConfig } from './serve-config.js';
import { startWorker, type RunningWorker } from './worker-app.js';

export interface RunningServe {
  readonly node: RunningWorker;
  readonly app: FastifyInstance;
  /** The address the API listens on, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly port: number;
  /** Where a first admin token was saved when the server made one. */
  readonly bootstrapTokenFile?: string;
  shutdown(reason?: string): Promise<void>;
}

/** The file a first admin token is written to (readable by this user only). */
export function adminTokenFile(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/**
 * The composition root of `guestkit serve`: the embedded node (worker pool, SQLite store,
 * file spool) with the HTTP intake, the control stores (tokens, audit) and the API.
 */
export async function startServe(cfg: ServeConfig, version: string): Promise<RunningServe> {
  ensureDataDir(cfg.dataDir);
  const control = cfg.worker.store === 'sqlite' ? openControlStores(cfg.dataDir) : await (await import('../store/postgres/pg-control-db.js')).openPgControlStores(cfg.worker.store);
  let adopted: { record: TokenRecord; created: boolean } | undefined;
  try {
    // before anything listens: every API process of a cluster adopts the same Secret (one row)
    if (cfg.adminToken !== undefined) adopted = await control.tokens.adopt(cfg.adminToken, { namespace: 'default', role: 'admin', description: 'admin token given to guestkit serve' });
  } catch (err) {
    await control.close();
    if (isGuestkitError(err, 'INVALID_STATE')) {
      throw new GuestkitError('USAGE_ERROR', `the admin token given to serve cannot be used: ${err.message}; generate another with guestkit token generate`, { phase: 'validation' });
    }
    throw err;
  }
  let http: HttpIntake | undefined;
  let quotas: QuotaGate | undefined;
  let node: RunningWorker;
  try {
    node = await startWorker(cfg.worker, version, {
      intakes: (ctx) => [(http = new HttpIntake(ctx))],
      runningCap: (ns) => quotas?.runningCap(ns) ?? null,
    });
  } catch (err) {
    await control.close();
    throw err;
  }
  const { store, logger } = node;
  quotas = new QuotaGate(cfg.quotas, async (ns) => {
    const l = await store.namespaceLoad(ns, Date.now() - 3_600_000);
    return { queued: l.queued, running: l.running, submittedLastHour: l.submittedSince };
  });
  const intake = http!;
  // the PostgreSQL adapter is loaded only when that store is in use
  const inventory = store instanceof SqliteJobStore ? new SqliteInventory(store.db) : (await import('../store/postgres/inventory-query.js')).pgInventoryOf(store);
  const { app, hub, statusStream } = buildApi(
    {
      store,
      // the whole pool's: on a shared queue, jobs that other processes run stream here too
      events: node.poolEvents,
      registry: node.registry,
      pathPolicy: node.pathPolicy,
      auth: cfg.auth === 'none' ? noAuth : tokenAuthenticator(control.tokens),
      authMethod: cfg.auth === 'none' ? 'none' : 'bearer',
      audit: control.audit,
      quotas,
      intake,
      usage: (q) => store.usage(q),
      stats: store instanceof SqliteJobStore ? new SqliteJobStats(store.db) : (await import('../store/postgres/stats-query.js')).pgStatsOf(store),
      inventory,
      advisoryDb: defaultAdvisoryDbPath(), // the worker's: <data-dir>/advisories.db unless GUESTKIT_ADVISORY_DB
      prices: cfg.prices,
      ready: () => node.ready(),
      metrics: node.metrics.registry,
      logger,
      version,
    },
    { bodyLimit: cfg.bodyLimit },
  );
  // queue depth, oldest wait, deadline misses, queue wait: the store's figures, read per scrape
  const sla = store instanceof SqliteJobStore ? new SqliteSla(store.db, cfg.worker.pool) : (await import('../store/postgres/sla-query.js')).pgSlaOf(store, cfg.worker.pool);
  if (sla) new SlaMetrics({ source: sla, registry: node.metrics.registry, onError: (err) => logger.warn({ err: String(err) }, 'SLA metrics: the store could not be read; queue figures left out of this scrape') });
  new Gauge({
    name: 'guestkit_api_event_streams',
    help: 'Server-sent event streams open now',
    registers: [node.metrics.registry],
    collect() {
      this.set(hub.watchers + statusStream.streams);
    },
  });
  let bootstrapTokenFile: string | undefined;
  if (adopted) {
    const r = adopted.record;
    const refused = refusal(r, Date.now());
    if (refused) logger.warn({ token_id: r.id }, `the admin token given to serve is refused: ${refused.message}; give serve another one`);
    else logger.info({ token_id: r.id, created: adopted.created }, adopted.created ? 'stored the admin token given to serve' : 'the admin token given to serve is stored already');
  }
  if (cfg.auth === 'none') logger.warn({ host: cfg.host }, '--auth none: every caller on this machine is an admin; use tokens when others share it');
  else if (!adopted && (await control.tokens.list({})).length === 0) {
    const made = await control.tokens.create({ namespace: 'default', role: 'admin', description: 'first admin token, made by guestkit serve' });
    bootstrapTokenFile = adminTokenFile(cfg.dataDir);
    writeFileSync(bootstrapTokenFile, made.token + '\n', { mode: 0o600 });
    logger.warn({ file: bootstrapTokenFile, token_id: made.record.id }, 'no tokens yet: made an admin token and saved it (readable by this user only); make others with `guestkit token create`');
  }
  let address: string;
  try {
    // a deep accept queue: thousands of event-stream clients may connect at once
    address = await app.listen({ host: cfg.host, port: cfg.port, backlog: 4096 });
  } catch (err) {
    await node.shutdown('listen failed');
    await control.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new GuestkitError('USAGE_ERROR', `cannot listen on ${cfg.host}:${cfg.port}: ${code ?? (err as Error).message}${code === 'EADDRINUSE' ? ' (another process has this port; pick one with --port)' : ''}`, { phase: 'validation' });
  }
  const port = (app.server.address() as { port: number }).port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  logger.info({ url, port, api: `${url}/api/v1`, data_dir: cfg.dataDir, auth: cfg.auth }, 'api ready');

  let stopping: Promise<void> | undefined;
  return {
    node,
    app,
    url,
    port,
    bootstrapTokenFile,
    shutdown(reason = 'shutdown') {
      stopping ??= (async () => {
        await app.close();
        await node.shutdown(reason);
        await control.close();
      })();
      return stopping;
    },
  };
}

/** The data dir is made when missing, its parent must exist (a typo must not build a tree). */
function ensureDataDir(dir: string): void {
  try {
    if (statSync(dir).isDirectory()) return;
    throw new GuestkitError('USAGE_ERROR', `--data-dir ${dir} is not a folder`, { phase: 'validation' });
  } catch (err) {
    if (err instanceof GuestkitError) throw err;
  }
  try {
    if (!statSync(dirname(dir)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new GuestkitError('USAGE_ERROR', `--data-dir ${dir}: its parent ${dirname(dir)} does not exist (only the data folder itself is created)`, { phase: 'validation' });
  }
  mkdirSync(dir);
}
