import type { FastifyInstance } from 'fastify';
import { priced, type PricedRow } from '../../ports/usage.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import { scopedNamespace, time } from './jobs.js';

const snake = (r: PricedRow) => ({
  key: r.key,
  jobs: r.jobs,
  cpu_seconds: r.cpuSeconds,
  wall_seconds: r.wallSeconds,
  bytes_read: r.bytesRead,
  image_bytes: r.imageBytes,
  peak_memory_mb: r.peakMemoryMb,
  cost: r.cost,
});

/** GET /usage: what finished jobs consumed, summed and priced. */
export function registerUsageRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/usage', async (req) => {
    const p = await api.caller(req, 'viewer', 'usage.get');
    const q = req.query;
    const groupBy = q.group_by ?? 'operation';
    if (groupBy !== 'operation' && groupBy !== 'day') throw badRequest(`group_by must be operation or day, got ${JSON.stringify(groupBy)}`);
    const namespace = scopedNamespace(p, q.namespace);
    const rows = await api.deps.usage({ namespace, groupBy, from: q.from ? time('from', q.from) : undefined, to: q.to ? time('to', q.to) : undefined });
    const out = priced(rows, api.deps.prices);
    return {
      namespace: namespace ?? null,
      group_by: groupBy,
      groups: out.groups.map(snake),
      totals: snake(out.totals),
      prices: { cpu_second: out.prices.cpuSecond, gib_read: out.prices.gibRead, currency: out.prices.currency },
    };
  });
}
