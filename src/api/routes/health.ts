import type { FastifyInstance } from 'fastify';
import { GuestkitError } from '../../protocol/errors.js';
import type { ApiContext } from '../context.js';

/** Probes and Prometheus: no token (they say nothing about jobs). */
export function registerHealthRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (req, reply) => {
    const r = api.deps.ready();
    if (r.ok) return reply.code(200).send(r);
    // not ready: still `ok` and `reason` for probes, and the protocol error object as every error
    const error = new GuestkitError('UNAVAILABLE', `not ready: ${r.reason ?? 'starting'}`, { phase: 'execution', recoverable: true, retryRecommended: true });
    return reply.code(503).header('retry-after', '1').send({ ...r, error: error.toProtocol(), request_id: String(req.id) });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await api.deps.metrics.metrics();
    return reply.type(api.deps.metrics.contentType).send(text);
  });
}
