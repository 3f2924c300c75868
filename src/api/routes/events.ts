import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { badRequest } from '../errors.js';

/** GET /jobs/{id}/events: server-sent events, or the stored events as JSON / JSON lines. */
export function registerEventRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get<{ Params: { id: string }; Querystring: { after?: string; format?: string } }>('/jobs/:id/events', async (req, reply) => {
    const id = req.params.id;
    const p = await api.caller(req, 'viewer', 'job.events', id);
    await api.visibleJob(p, id);
    const after = resumePoint(req.headers['last-event-id'], req.query.after);
    const accept = String(req.headers.accept ?? '');
    if (accept.includes('text/event-stream')) {
      reply.hijack();
      req.raw.socket.setNoDelay(true);
      await api.hub.watch(id, reply.raw, after);
      return;
    }
    const events = await api.deps.store.events(id, after);
    if (req.query.format === 'jsonl') {
      reply.type('application/x-ndjson');
      return events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
    }
    return { items: events };
  });
}

/** Where a stream resumes: after the Last-Event-ID header's sequence, or `?after=`; -1 = from the start. */
function resumePoint(header: string | string[] | undefined, query: string | undefined): number {
  const raw = (Array.isArray(header) ? header[0] : header) ?? query;
  if (raw === undefined || raw === '') return -1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -1) throw badRequest(`Last-Event-ID / after must be an event sequence number, got ${JSON.stringify(raw)}`);
  return n;
}
