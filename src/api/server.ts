import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { ApiContext, type ApiDeps } from './context.js';
import { badRequest, notFound, sendError } from './errors.js';
import { parseJsonBody } from './json-body.js';
import { buildOpenApi } from './openapi.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerBulkRoutes } from './routes/bulk.js';
import { registerClusterRoutes } from './routes/cluster.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInventoryRoutes } from './routes/inventory.js';
import { registerInventoryVulnRoutes } from './routes/inventory-vulns.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerJobTreeRoutes } from './routes/job-tree.js';
import { registerStatsRoutes } from './routes/stats.js';
import { registerUsageRoutes } from './routes/usage.js';
import { registerWebRoutes } from './routes/web.js';
import { SseHub } from './sse-hub.js';
import { StatusStream } from './status-stream.js';

export interface ApiOptions {
  /** Largest request body in bytes (413 above it). */
  bodyLimit: number;
  /** Keep-alive comment interval of event streams. */
  ssePingMs?: number;
}

export interface Api {
  app: FastifyInstance;
  hub: SseHub;
  /** GET /events: status changes of every job. */
  statusStream: StatusStream;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The REST API (docs/api.md): fastify, routes under /api/v1, probes at the root too,
 * every error as the protocol's error object with a request id.
 */
export function buildApi(deps: ApiDeps, opts: ApiOptions): Api {
  const idPrefix = randomBytes(4).toString('hex');
  let requests = 0;
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit,
    // a client's own request id is kept when it looks like one
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      const v = Array.isArray(h) ? h[0] : h;
      // a random prefix per process and a counter: unique without a random draw per request
      return v && REQUEST_ID.test(v) ? v : `req-${idPrefix}${(++requests).toString(16).padStart(8, '0')}`;
    },
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  const hub = new SseHub(deps.events, deps.store, opts.ssePingMs);
  const statusStream = new StatusStream(deps.events, opts.ssePingMs);
  const api = new ApiContext(deps, hub);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: opts.bodyLimit }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // A repeated query parameter (?operation=a&operation=b) arrives as an array: only the inventory
  // routes read lists (inventoryParams); the others take one value each, and an array reached the
  // store as several bound values (a 500 from SQLite). Refused here for all of them at once.
  app.addHook('preValidation', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (!q || typeof q !== 'object' || req.routeOptions.url?.startsWith('/api/v1/inventory')) return;
    for (const [k, v] of Object.entries(q)) {
      if (Array.isArray(v)) throw badRequest(`query parameter ${JSON.stringify(k.slice(0, 100))} is given ${v.length} times; it takes one value`, { parameter: k.slice(0, 100) });
    }
  });
  app.setErrorHandler((err, req, reply) => {
    api.failed(req, err);
    return sendError(req, reply, err);
  });
  // every known caller's refused or failed call reaches the audit log (ApiContext.settle)
  app.addHook('onResponse', async (req, reply) => {
    await api.settle(req, reply.statusCode);
  });
  app.setNotFoundHandler((req, reply) => sendError(req, reply, notFound(`no such endpoint: ${req.method} ${req.url.split('?')[0]}`)));

  const openapi = buildOpenApi(deps.version);
  app.register(
    async (v1) => {
      registerJobRoutes(v1, api);
      registerJobTreeRoutes(v1, api);
      registerBulkRoutes(v1, api);
      registerStatsRoutes(v1, api, statusStream);
      registerEventRoutes(v1, api);
      registerClusterRoutes(v1, api);
      registerUsageRoutes(v1, api);
      registerInventoryRoutes(v1, api);
      registerInventoryVulnRoutes(v1, api);
      registerAuditRoutes(v1, api);
      registerHealthRoutes(v1, api);
      v1.get('/openapi.json', async () => openapi);
    },
    { prefix: '/api/v1' },
  );
  registerHealthRoutes(app, api);
  registerWebRoutes(app); // the dashboard at / (unknown /api/* paths stay the API's 404)
  app.addHook('onClose', async () => {
    hub.close();
    statusStream.close();
  });
  return { app, hub, statusStream };
}
