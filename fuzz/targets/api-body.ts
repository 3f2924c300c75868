import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { noAuth } from '../../src/api/auth.js';
import { QuotaGate } from '../../src/api/quotas.js';
import { buildApi, type Api } from '../../src/api/server.js';
import { JobEvents } from '../../src/events/job-events.js';
import { submitJob } from '../../src/intake/submit.js';
import { builtinRegistry } from '../../src/jobs/registry.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { openControlStores } from '../../src/store/sqlite/control-db.js';
import { SqliteInventory } from '../../src/store/sqlite/inventory-query.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { SqliteJobStats } from '../../src/store/sqlite/stats-query.js';
import { PathPolicy } from '../../src/worker/path-policy.js';
import { specExamples } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';

/**
 * The REST API in process (fastify inject, as test/api/server.test.ts builds it) over a real
 * SQLite store in /dev/shm, built once per process. Byte 0 picks the request; the rest is the
 * JSON body (or the query string of the GET routes). Any 5xx answer, or an exception out of
 * inject, is a finding; 4xx is the API refusing bad input.
 */
const ROUTES: { method: 'POST' | 'GET'; url: string; query?: boolean }[] = [
  { method: 'POST', url: '/api/v1/jobs' },
  { method: 'POST', url: '/api/v1/jobs' },
  { method: 'POST', url: '/api/v1/jobs/bulk' },
  { method: 'POST', url: '/api/v1/jobs/fuzz-seed-job-0001/cancel' },
  { method: 'POST', url: '/api/v1/jobs/fuzz-seed-job-0001/retry' },
  { method: 'GET', url: '/api/v1/jobs', query: true },
  { method: 'GET', url: '/api/v1/inventory/packages', query: true },
  { method: 'GET', url: '/api/v1/inventory/images', query: true },
  { method: 'GET', url: '/api/v1/stats/counts', query: true },
  { method: 'GET', url: '/api/v1/stats/throughput', query: true },
  { method: 'GET', url: '/api/v1/stats/latency', query: true },
  { method: 'GET', url: '/api/v1/usage', query: true },
  { method: 'GET', url: '/api/v1/audit', query: true },
];

let apiP: Promise<Api> | undefined;

async function build(): Promise<Api> {
  const dir = mkdtempSync(join('/dev/shm', 'gk-fuzz-api-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const store = SqliteJobStore.open(join(dir, 'guestkit.db'));
  const control = openControlStores(dir);
  const events = new JobEvents();
  const queue = new EmbeddedQueue();
  const api = buildApi(
    {
      store,
      events,
      registry: builtinRegistry(),
      pathPolicy: new PathPolicy([dir, '/images', '/srv/images', '/var/lib/images']),
      auth: noAuth,
      authMethod: 'none',
      audit: control.audit,
      quotas: new QuotaGate({ default: { maxQueued: null, maxRunning: null, perHour: null }, namespaces: {} }, async () => ({ queued: 0, running: 0, submittedLastHour: 0 })),
      intake: { submit: (job, opts) => submitJob({ store, queue, events }, job, opts), cancel: () => 'unknown', cancelHeld: async () => false },
      usage: (q) => store.usage(q),
      inventory: new SqliteInventory(store.db),
      stats: new SqliteJobStats(store.db),
      prices: { cpuSecond: 0, gibRead: 0, currency: 'USD' },
      ready: () => ({ ok: true }),
      metrics: new WorkerMetrics({ worker_id: 'fuzz', pool: 'default' }, { queueDepth: () => queue.size }).registry,
      logger: createLogger({ level: 'silent', workerId: 'fuzz' }),
      version: '0.0.0-fuzz',
    },
    { bodyLimit: 1 << 20 },
  );
  await api.app.ready();
  return api;
}

const target: FuzzTarget = {
  describe: 'REST API: POST /jobs (one, batch), /jobs/bulk, cancel, retry, and the GET routes with query strings, via fastify inject',
  async run(data) {
    if (data.length === 0) return;
    const api = await (apiP ??= build());
    const route = ROUTES[data[0]! % ROUTES.length]!;
    const rest = data.subarray(1);
    const res = route.query
      ? await api.app.inject({ method: 'GET', url: `${route.url}?${rest.toString('latin1').replace(/[#\s]/g, '')}` })
      : await api.app.inject({ method: route.method, url: route.url, headers: { 'content-type': 'application/json' }, payload: rest });
    if (res.statusCode >= 500) throw new Error(`${route.method} ${route.url}: ${res.statusCode} ${res.body.slice(0, 2000)}`);
  },
  async seeds() {
    const docs = specExamples();
    const out: Buffer[] = [];
    for (const d of docs) out.push(Buffer.concat([Buffer.from([0]), d]));
    out.push(Buffer.concat([Buffer.from([1]), Buffer.from(`{"jobs":[${docs.slice(0, 2).map((d) => d.toString('utf8')).join(',')}]}`)]));
    out.push(Buffer.concat([Buffer.from([2]), Buffer.from('{"action":"cancel","ids":["fuzz-seed-job-0001","fuzz-seed-job-0002"]}')]));
    out.push(Buffer.from([3]), Buffer.from([4]));
    out.push(Buffer.concat([Buffer.from([5]), Buffer.from('status=queued,running&operation=guestkit.inspect&labels=env=prod,tier!=web&limit=10&from=2026-01-01T00:00:00Z&include=job')]));
    out.push(Buffer.concat([Buffer.from([6]), Buffer.from('name=openssl&distro=debian&limit=5')]));
    out.push(Buffer.concat([Buffer.from([7]), Buffer.from('package=openssl&version=3.0.11-1~deb12u2')]));
    out.push(Buffer.concat([Buffer.from([8]), Buffer.from('from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&namespace=default')]));
    out.push(Buffer.concat([Buffer.from([9]), Buffer.from('from=2026-01-01T00:00:00Z&bucket=hour')]));
    out.push(Buffer.concat([Buffer.from([11]), Buffer.from('from=2026-01-01&group_by=namespace')]));
    out.push(Buffer.concat([Buffer.from([10]), Buffer.from('from=2026-01-01T00:00:00Z&operation=guestkit.inspect')]));
    out.push(Buffer.concat([Buffer.from([12]), Buffer.from('limit=10&action=job.submit')]));
    return out;
  },
};
export default target;
