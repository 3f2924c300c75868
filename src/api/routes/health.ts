import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

/** Probes and Prometheus: no token (they say nothing about jobs). */
export function registerHealthRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = api.deps.ready();
    return reply.code(r.ok ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await api.deps.metrics.metrics();
    return reply.type(api.deps.metrics.contentType).send(text);
  });
}
