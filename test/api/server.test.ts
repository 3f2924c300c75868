import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { noAuth } from '../../src/api/auth.js';
import { MAX_BODY_DEPTH, parseJsonBody } from '../../src/api/json-body.js';
import { QuotaGate } from '../../src/api/quotas.js';
import { buildApi, type Api } from '../../src/api/server.js';
import { JobEvents } from '../../src/events/job-events.js';
import { submitJob } from '../../src/intake/submit.js';
import { builtinRegistry } from '../../src/jobs/registry.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { openControlStores, type ControlStores } from '../../src/store/sqlite/control-db.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { PathPolicy } from '../../src/worker/path-policy.js';
import { jobDoc } from '../store/contract.js';
import type { WorkerRegistration } from '../../src/protocol/index.js';

/** The API in process (fastify inject and one real listener), over a real SQLite store; no worker runs jobs. */
let dir: string;
let store: SqliteJobStore;
let control: ControlStores;
let events: JobEvents;
let api: Api;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gk-api-unit-'));
  store = SqliteJobStore.open(join(dir, 'guestkit.db'));
  control = openControlStores(dir);
  events = new JobEvents();
  const queue = new EmbeddedQueue();
  api = buildApi(
    {
      store,
      events,
      registry: builtinRegistry(),
      pathPolicy: new PathPolicy([dir]),
      auth: noAuth,
      authMethod: 'none',
      audit: control.audit,
      quotas: new QuotaGate({ default: { maxQueued: null, maxRunning: null, perHour: null }, namespaces: {} }, async () => ({ queued: 0, running: 0, submittedLastHour: 0 })),
      intake: { submit: (job, opts) => submitJob({ store, queue, events }, job, opts), cancel: () => 'unknown', cancelHeld: async () => false },
      usage: (q) => store.usage(q),
      prices: { cpuSecond: 0, gibRead: 0, currency: 'USD' },
      ready: () => ({ ok: true }),
      metrics: new WorkerMetrics({ worker_id: 'unit', pool: 'default' }, { queueDepth: () => queue.size }).registry,
      logger: createLogger({ level: 'silent', workerId: 'unit' }),
      version: '0.0.0-test',
    },
    { bodyLimit: 4096, ssePingMs: 50 },
  );
  await api.app.ready();
});

after(async () => {
  await api.app.close();
  await store.close();
  await control.close();
  rmSync(dir, { recursive: true, force: true });
});

test('parseJsonBody: depth is checked on the text (strings do not count), then JSON.parse', () => {
  assert.deepEqual(parseJsonBody('{"a":[1,{"b":"[[[[{{{{"}]}'), { a: [1, { b: '[[[[{{{{' }] });
  assert.equal(parseJsonBody('  '), undefined);
  const ok = '['.repeat(MAX_BODY_DEPTH) + ']'.repeat(MAX_BODY_DEPTH);
  assert.ok(Array.isArray(parseJsonBody(ok)));
  assert.throws(() => parseJsonBody('['.repeat(MAX_BODY_DEPTH + 1) + ']'.repeat(MAX_BODY_DEPTH + 1)), (e) => isGuestkitError(e, 'VALIDATION_ERROR'));
  assert.throws(() => parseJsonBody('{"a": "\\"[[[[[", }'), /not valid JSON/);
});

test('errors are the protocol error object with the request id, for fastify’s own refusals too', async () => {
  const big = await api.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'y'.repeat(5000) }) });
  assert.equal(big.statusCode, 413);
  const body = big.json() as { error: { code: string; recoverable: boolean }; request_id: string };
  assert.equal(body.error.code, 'VALIDATION_ERROR');
  assert.equal(body.request_id, big.headers['x-request-id']);
  const form = await api.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
  assert.equal(form.statusCode, 415);
  const route = await api.app.inject({ method: 'GET', url: '/api/v2/jobs' });
  assert.equal(route.statusCode, 404);
  assert.equal((route.json() as { error: { code: string } }).error.code, 'NOT_FOUND');
  const badId = await api.app.inject({ method: 'GET', url: '/api/v1/jobs', headers: { 'x-request-id': 'x'.repeat(500) } });
  assert.match(String(badId.headers['x-request-id']), /^req-[0-9a-f]{16}$/, 'an unreasonable client request id is replaced');
  const again = await api.app.inject({ method: 'GET', url: '/api/v1/jobs' });
  assert.notEqual(again.headers['x-request-id'], badId.headers['x-request-id'], 'each request its own id');
});

test('the OpenAPI document: 3.1, every $ref resolves, every route of the server is described', async () => {
  const doc = (await api.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as Record<string, unknown>;
  assert.equal(doc.openapi, '3.1.0');
  const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
  const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
  assert.ok(refs.length > 10);
  for (const r of refs) assert.ok(schemas[r.split('/').pop()!.replace('"', '')], r);
  const routes = api.app.printRoutes({ commonPrefix: false });
  for (const p of Object.keys(doc.paths as object)) {
    const last = p.split('/').filter(Boolean).pop()!.replace(/[{}]/g, '');
    assert.ok(routes.includes(last === 'id' ? ':id' : last), `${p} is a route`);
  }
});

test('SSE: stored events, then live ones without repeats, then the final status; every open stream is counted and released', async () => {
  await store.submit({ job: jobDoc('sse-unit-0001') });
  const job = (await store.get('sse-unit-0001'))!.job;
  const ev = (sequence: number) => ({ job_id: job.job_id, sequence, timestamp: new Date().toISOString(), phase: 'disk_inspection', message: `step ${sequence}` });
  await store.appendEvent(ev(0));
  await store.appendEvent(ev(1));
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (api.app.server.address() as { port: number }).port;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/jobs/sse-unit-0001/events`, { headers: { accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  };
  await readUntil('step 1');
  assert.equal(api.hub.watchers, 1);
  // the live copy of an event already sent is not sent twice
  await store.appendEvent(ev(2));
  events.emit('progress', { job, event: ev(1) });
  events.emit('progress', { job, event: ev(2) });
  await readUntil('step 2');
  await readUntil(': ping');
  events.emit('finished', { job, status: 'completed', result: { job_id: job.job_id, status: 'completed' } as never });
  await readUntil('"status":"completed"');
  let ended = false;
  for (let i = 0; i < 100 && !ended; i++) ended = (await reader.read()).done; // the server closes the stream after the final status
  assert.ok(ended);
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(ids, [0, 1, 2]);
  for (let i = 0; i < 100 && api.hub.watchers > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(api.hub.watchers, 0);
});

test('GET /workers: registrations with load and liveness; GET /capabilities: the union of the live ones only', async () => {
  const reg = (id: string, operations: string[], disk_formats: string[]): WorkerRegistration =>
    ({
      worker_id: id,
      version: '0.1.0',
      hostname: `host-${id}`,
      registered_at: new Date().toISOString(),
      capabilities: { operations, features: [], disk_formats, filesystems: [], tags: [] },
      resources: { max_concurrent_jobs: 4, max_disk_size_gb: 1, cpu_cores: 2, memory_gb: 1 },
      configuration: { privileged: false, worker_pool: id === 'w-gpu' ? 'gpu' : 'default', data_locality: [] },
      status: { state: 'ready', current_jobs: 0, last_heartbeat: new Date().toISOString() },
    }) as WorkerRegistration;
  await store.registerWorker(reg('w-a', ['system.echo'], ['qcow2']));
  await store.registerWorker(reg('w-gpu', ['guestkit.inspect', 'system.echo'], ['vmdk']));
  await store.registerWorker(reg('w-stale', ['guestkit.profile'], ['vhdx']));
  await store.registerWorker(reg('w-off', ['guestkit.convert'], ['vdi']));
  await store.heartbeat('w-gpu', 'busy', 3);
  await store.heartbeat('w-off', 'offline', 0);
  // a worker that stopped sending heartbeats ten minutes ago
  store.db.prepare('UPDATE workers SET last_heartbeat = ? WHERE worker_id = ?').run(Date.now() - 600_000, 'w-stale');

  const workers = await api.app.inject({ method: 'GET', url: '/api/v1/workers' });
  assert.equal(workers.statusCode, 200);
  type W = { worker_id: string; state: string; live: boolean; current_jobs: number; max_concurrent: number | null; pool: string | null; hostname: string; last_heartbeat: string };
  const byId = new Map((workers.json() as { items: W[] }).items.map((w) => [w.worker_id, w]));
  assert.deepEqual(
    ['w-a', 'w-gpu', 'w-stale', 'w-off'].map((id) => [id, byId.get(id)?.live, byId.get(id)?.state]),
    [['w-a', true, 'ready'], ['w-gpu', true, 'busy'], ['w-stale', false, 'ready'], ['w-off', false, 'offline']],
  );
  assert.equal(byId.get('w-gpu')!.current_jobs, 3);
  assert.equal(byId.get('w-gpu')!.max_concurrent, 4);
  assert.equal(byId.get('w-gpu')!.pool, 'gpu');
  assert.equal(byId.get('w-a')!.hostname, 'host-w-a');
  assert.ok(Date.now() - Date.parse(byId.get('w-stale')!.last_heartbeat) >= 600_000);

  const caps = await api.app.inject({ method: 'GET', url: '/api/v1/capabilities' });
  assert.equal(caps.statusCode, 200);
  assert.deepEqual(caps.json(), { operations: ['guestkit.inspect', 'system.echo'], features: [], disk_formats: ['qcow2', 'vmdk'], live_workers: 2 });
});
