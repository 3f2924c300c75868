import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { workerView } from '../views.js';

/** Workers and what the live ones can do, together. */
export function registerClusterRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get('/workers', async (req) => {
    await api.caller(req, 'viewer', 'worker.list');
    const now = Date.now();
    return { items: (await api.deps.store.workers()).map((w) => workerView(w, now)) };
  });

  app.get('/whoami', async (req) => {
    const p = await api.caller(req, 'viewer', 'whoami');
    return { actor: p.actor, role: p.role, namespace: p.namespace, auth: api.deps.authMethod };
  });

  app.get('/capabilities', async (req) => {
    await api.caller(req, 'viewer', 'capabilities.get');
    const now = Date.now();
    const live = (await api.deps.store.workers()).filter((w) => workerView(w, now).live);
    const union = (pick: (c: Record<string, unknown>) => unknown) => [...new Set(live.flatMap((w) => (pick(w.registration.capabilities as Record<string, unknown>) as string[] | undefined) ?? []))].sort();
    return {
      operations: union((c) => c.operations),
      features: union((c) => c.features),
      disk_formats: union((c) => c.disk_formats),
      live_workers: live.length,
    };
  });
}
