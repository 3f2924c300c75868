import type { FastifyInstance } from 'fastify';
import type { ProtocolError } from '../../protocol/errors.js';
import type { ApiContext } from '../context.js';
import { badRequest, toHttpError } from '../errors.js';
import { cancelJob, deleteJob, retryJob } from './jobs.js';

/** Most job ids one bulk request names. */
export const MAX_BULK = 1000;
/** Jobs acted on at once (writes meet in the store's group commit). */
const LANES = 8;

const ACTIONS = ['cancel', 'retry', 'delete'] as const;
type Action = (typeof ACTIONS)[number];

export type BulkOutcome =
  | { job_id: string; ok: true; status: number; outcome?: string; new_job_id?: string }
  | { job_id: string; ok: false; status: number; error: ProtocolError };

/**
 * POST /jobs/bulk `{action, ids}`: cancel, retry or delete up to 1,000 jobs, each by the
 * single-job route's own body (same rules, errors and audit entries), answering per id.
 */
export function registerBulkRoutes(app: FastifyInstance, api: ApiContext): void {
  app.post('/jobs/bulk', async (req) => {
    const p = await api.caller(req, 'submitter', 'job.bulk');
    const { action, ids } = parse(req.body);
    const results: BulkOutcome[] = new Array(ids.length);
    let next = 0;
    const lane = async () => {
      while (next < ids.length) {
        const i = next++;
        const id = ids[i]!;
        try {
          if (action === 'cancel') results[i] = { job_id: id, ok: true, status: 202, outcome: (await cancelJob(api, req, p, id)).outcome };
          else if (action === 'retry') results[i] = { job_id: id, ok: true, status: 202, new_job_id: (await retryJob(api, req, p, id)).job.job_id };
          else {
            await deleteJob(api, req, p, id);
            results[i] = { job_id: id, ok: true, status: 204 };
          }
        } catch (err) {
          const e = toHttpError(err);
          if (e.status >= 500) req.log.error({ err: String((err as Error)?.stack ?? err), job_id: id }, `bulk ${action} failed`);
          results[i] = { job_id: id, ok: false, status: e.status, error: e.error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LANES, ids.length) }, lane));
    const ok = results.filter((r) => r.ok).length;
    return { action, results, summary: { ok, failed: results.length - ok } };
  });
}

function parse(body: unknown): { action: Action; ids: string[] } {
  const b = body as { action?: unknown; ids?: unknown } | null;
  const issues: { path: string; message: string }[] = [];
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badRequest('the body is {"action": "cancel"|"retry"|"delete", "ids": [job ids]}');
  if (!ACTIONS.includes(b.action as Action)) issues.push({ path: '$.action', message: `one of ${ACTIONS.join(', ')}` });
  if (!Array.isArray(b.ids)) issues.push({ path: '$.ids', message: 'an array of job ids' });
  else {
    if (b.ids.length === 0) issues.push({ path: '$.ids', message: 'names no job' });
    if (b.ids.length > MAX_BULK) issues.push({ path: '$.ids', message: `at most ${MAX_BULK} job ids, got ${b.ids.length}` });
    b.ids.forEach((id, i) => {
      if (typeof id !== 'string' || id.length === 0 || id.length > 255) issues.push({ path: `$.ids[${i}]`, message: 'a job id (1 to 255 characters)' });
    });
    if (issues.length === 0 && new Set(b.ids).size !== b.ids.length) issues.push({ path: '$.ids', message: 'names one job twice' });
  }
  for (const k of Object.keys(b)) if (k !== 'action' && k !== 'ids') issues.push({ path: `$.${k}`, message: 'unknown field' });
  if (issues.length) throw badRequest(`bulk request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues, limit: MAX_BULK });
  return { action: b.action as Action, ids: b.ids as string[] };
}
