import type { FastifyInstance } from 'fastify';
import { toJson } from '../../ports/audit-log.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import { time } from './jobs.js';

/** GET /audit: the hash-chained audit log, newest first (admins only). */
export function registerAuditRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/audit', async (req) => {
    await api.caller(req, 'admin', 'audit.list');
    const q = req.query;
    let limit: number | undefined;
    if (q.limit !== undefined) {
      limit = Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('limit must be an integer from 1 to 1000');
    }
    const page = await api.deps.audit.list({ limit, cursor: q.cursor || undefined, from: q.from ? time('from', q.from) : undefined, to: q.to ? time('to', q.to) : undefined });
    return { items: page.items.map(toJson), ...(page.next ? { next: page.next } : {}) };
  });
}
