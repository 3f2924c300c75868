import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JobEvents } from '../../events/job-events.js';
import { KEY_FREED, MAX_PAGE, namespaceOf, parseLabelSelector, type JobQuery, type JobRecord } from '../../ports/job-store.js';
import { newJobId } from '../../protocol/builder.js';
import type { JobDocument } from '../../protocol/envelope.js';
import { GuestkitError } from '../../protocol/errors.js';
import { isTerminal, JOB_STATUSES, type JobStatus } from '../../protocol/status.js';
import { admitJobs, sameRequest } from '../admission.js';
import type { Principal } from '../auth.js';
import type { ApiContext } from '../context.js';
import { badRequest, invalidState, notFound } from '../errors.js';
import { acceptedView, jobView, type JobView } from '../views.js';

/** Most jobs one POST may carry. */
export const MAX_BATCH = 1000;
/** Most requirements one label selector (`?labels=`) may hold. */
export const MAX_LABEL_REQUIREMENTS = 100;

type IdParams = { Params: { id: string } };

export function registerJobRoutes(app: FastifyInstance, api: ApiContext): void {
  const { deps } = api;

  app.post('/jobs', async (req, reply) => {
    const p = await api.caller(req, 'submitter', 'job.submit');
    const body = req.body as unknown;
    const batch = isBatch(body);
    const docs = batch ? (body as { jobs: unknown[] }).jobs : [body];
    if (batch && docs.length > MAX_BATCH) throw badRequest(`a batch holds at most ${MAX_BATCH} jobs, this one has ${docs.length}`, { limit: MAX_BATCH });
    if (batch && docs.length === 0) throw badRequest('the batch is empty');
    const key = idempotencyHeader(req);
    const jobs = await admitJobs(
      docs,
      { principal: p, sourceIp: req.ip ?? null, idempotencyKey: key, registry: deps.registry, pathPolicy: deps.pathPolicy, authMethod: deps.authMethod, now: Date.now() },
      (i) => (batch ? `$.jobs[${i}]` : '$'),
    );
    if (batch && new Set(jobs.map((j) => j.job_id)).size !== jobs.length) throw badRequest('the batch names one job_id twice');
    if (batch && key !== undefined) throw badRequest('an Idempotency-Key header names one job; in a batch, give each job its own execution.idempotency_key');
    const keys = jobs.flatMap((j) => (j.execution.idempotency_key ? [`${namespaceOf(j)}\0${j.execution.idempotency_key}`] : []));
    if (new Set(keys).size !== keys.length) throw badRequest('the batch uses one idempotency key twice');
    const byNs = new Map<string, number>();
    for (const j of jobs) byNs.set(namespaceOf(j), (byNs.get(namespaceOf(j)) ?? 0) + 1);
    for (const [ns, n] of byNs) await deps.quotas.check(ns, n);
    // a batch that holds a parent and its dependants goes in order: a parent is stored before the jobs that name it
    const inBatch = new Set(jobs.map((j) => j.job_id));
    const ordered = jobs.some((j) => j.execution.depends_on?.some((d) => inBatch.has(d)));
    const views = ordered ? await inOrder(jobs, (j) => submitOne(api, j)) : await Promise.all(jobs.map((j) => submitOne(api, j)));
    const replayed = views.some((v) => v.replayed);
    // appended in one turn: one group commit for the whole batch, in the batch's order
    await Promise.all(views.map((v) => api.record(req, p, 'job.submit', v.view.job_id, 'ok', 202, v.replayed ? { replayed: true } : undefined)));
    if (replayed && !batch) reply.header('idempotent-replayed', 'true');
    reply.code(202);
    return batch ? { jobs: views.map((v) => v.view) } : { job: views[0]!.view };
  });

  app.get('/jobs', async (req) => {
    const p = await api.caller(req, 'viewer', 'job.list');
    const q = req.query as Record<string, string | undefined>;
    const query = listQuery(q, p);
    const page = await deps.store.list(query);
    const withJob = q.include === 'job';
    return { items: page.items.map((r) => jobView(r, { withJob })), ...(page.next ? { next: page.next } : {}) };
  });

  app.get<IdParams>('/jobs/:id', async (req) => {
    const p = await api.caller(req, 'viewer', 'job.get', req.params.id);
    const rec = await api.visibleJob(p, req.params.id);
    return jobView(rec, { withJob: true, attempts: await deps.store.attempts(req.params.id) });
  });

  app.get<IdParams>('/jobs/:id/result', async (req) => {
    const p = await api.caller(req, 'viewer', 'job.result', req.params.id);
    const rec = await api.visibleJob(p, req.params.id);
    const result = await deps.store.result(req.params.id);
    if (!result) throw notFound(`job ${req.params.id} has no result yet (status ${rec.status})`, { job_id: req.params.id, status: rec.status });
    return result;
  });

  app.post<IdParams>('/jobs/:id/cancel', async (req, reply) => {
    const p = await api.caller(req, 'submitter', 'job.cancel', req.params.id);
    const out = await cancelJob(api, req, p, req.params.id);
    reply.code(202);
    return out;
  });

  app.post<IdParams>('/jobs/:id/retry', async (req, reply) => {
    const p = await api.caller(req, 'submitter', 'job.retry', req.params.id);
    const out = await retryJob(api, req, p, req.params.id);
    reply.code(202);
    return out;
  });

  app.delete<IdParams>('/jobs/:id', async (req, reply) => {
    const p = await api.caller(req, 'submitter', 'job.delete', req.params.id);
    await deleteJob(api, req, p, req.params.id);
    return reply.code(204).send();
  });
}

/**
 * The per-job bodies of cancel, retry and delete once the caller is known (the single-job
 * routes and POST /jobs/bulk share them): the same rules, errors and audit entries.
 */
export async function cancelJob(api: ApiContext, req: FastifyRequest, p: Principal, id: string): Promise<{ job: JobView; outcome: 'cancelled' | 'cancelling' }> {
  const { deps } = api;
  const rec = await api.visibleJob(p, id);
  if (isTerminal(rec.status)) throw invalidState(`job ${id} already ended (${rec.status})`, { job_id: id, status: rec.status });
  const reason = `cancelled over the API by ${p.actor}`;
  // a job taken out of the queue is recorded cancelled just after: answered once it is, so a
  // GET right after the 202 never sees it pending or assigned
  const recorded = endOf(deps.events, id, CANCEL_RECORD_WAIT_MS);
  // a held job is in no queue and on no worker: ended here
  const outcome = rec.hold && (await deps.intake.cancelHeld(id, reason)) ? 'cancelled' : deps.intake.cancel(id, reason);
  if (outcome === 'cancelled') await recorded.done;
  recorded.stop();
  if (outcome === 'refused') throw invalidState(`job ${id} is not cancellable (execution.cancellable is false) or already ending`, { job_id: id });
  if (outcome === 'unknown') throw invalidState(`job ${id} is ${rec.status} on ${rec.workerId ?? 'another node'}, which this server cannot reach to cancel`, { job_id: id, status: rec.status });
  await api.record(req, p, 'job.cancel', id, 'ok', 202, { outcome });
  const now = (await deps.store.get(id)) ?? rec;
  return { job: jobView(now), outcome };
}

/** How long a cancel answer waits for the store to record a job taken out of the queue. */
const CANCEL_RECORD_WAIT_MS = 10_000;

/** Resolves when the job's end is recorded (its `finished` event) or after `ms`. */
function endOf(events: JobEvents, id: string, ms: number): { done: Promise<void>; stop(): void } {
  let off = () => {};
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    off = events.on('finished', (e) => {
      if (e.job.job_id === id) resolve();
    });
    timer = setTimeout(resolve, ms);
  });
  const stop = () => {
    off();
    clearTimeout(timer);
  };
  void done.then(stop);
  return { done, stop };
}

export async function retryJob(api: ApiContext, req: FastifyRequest, p: Principal, id: string): Promise<{ job: JobView }> {
  const rec = await api.visibleJob(p, id);
  if (!['failed', 'timeout', 'cancelled'].includes(rec.status)) {
    throw invalidState(`only a failed, timed-out or cancelled job can be retried; job ${id} is ${rec.status}`, { job_id: id, status: rec.status });
  }
  const job = retryOf(rec.job, Date.now());
  await api.deps.quotas.check(namespaceOf(job), 1);
  const { view } = await submitOne(api, job);
  await api.record(req, p, 'job.retry', id, 'ok', 202, { new_job_id: job.job_id });
  return { job: view };
}

export async function deleteJob(api: ApiContext, req: FastifyRequest, p: Principal, id: string): Promise<void> {
  const rec = await api.visibleJob(p, id);
  const out = await api.deps.store.remove(id);
  if (out === 'active') throw invalidState(`job ${id} is ${rec.status}; cancel it first, only finished jobs are deleted`, { job_id: id, status: rec.status });
  if (out === 'unknown') throw notFound(`no job ${id}`, { job_id: id });
  await api.record(req, p, 'job.delete', id, 'ok', 204);
}

/** Submits one admitted job; an idempotent repeat answers with the job it repeats. */
async function submitOne(api: ApiContext, job: JobDocument): Promise<{ view: JobView; replayed: boolean }> {
  const { store, intake } = api.deps;
  const key = job.execution.idempotency_key;
  // a repeat is answered without placement (its workers may be gone); the store's keyed
  // submit below settles races: one key, one job, across every API node
  const known = key ? await store.findByIdempotencyKey(namespaceOf(job), key) : undefined;
  if (known && known.job.job_id !== job.job_id && !KEY_FREED.has(known.status)) return keyHolder(known, job);
  const now = Date.now();
  const out = await intake.submit(job, { source: 'http', exclusive: true, place: true, keyed: true });
  if (out.kind === 'accepted') return { view: acceptedView(job, out.state, now, out.hold ?? null), replayed: false };
  if (out.kind === 'keyed') return keyHolder(out.prior, job);
  // the id exists: the same job posted again while it waits or runs is fine; anything else is a conflict
  const rec = await store.get(job.job_id);
  if (rec && !isTerminal(rec.status) && sameRequest(rec.job, job) && namespaceOf(rec.job) === namespaceOf(job)) return { view: jobView(rec, { withJob: true }), replayed: true };
  throw new GuestkitError('DUPLICATE_JOB', `job_id ${job.job_id} is already taken (status ${out.state.status})`, {
    phase: 'validation',
    details: { job_id: job.job_id, status: out.state.status },
  });
}

/** The job holding the idempotency key answers for a repeat of its request; another request with the key is a conflict. */
function keyHolder(prior: JobRecord, job: JobDocument): { view: JobView; replayed: boolean } {
  const key = job.execution.idempotency_key;
  if (!sameRequest(prior.job, job)) {
    throw new GuestkitError('DUPLICATE_JOB', `idempotency key ${JSON.stringify(key)} was used by job ${prior.job.job_id} (${prior.status}) for a different request`, {
      phase: 'validation',
      details: { idempotency_key: key, job_id: prior.job.job_id, status: prior.status },
    });
  }
  return { view: jobView(prior, { withJob: true }), replayed: true };
}

async function inOrder<T, R>(xs: T[], fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const x of xs) out.push(await fn(x));
  return out;
}

function isBatch(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Array.isArray((body as { jobs?: unknown }).jobs) && !('operation' in body);
}

function idempotencyHeader(req: FastifyRequest): string | undefined {
  const h = req.headers['idempotency-key'];
  if (h === undefined) return undefined;
  const v = Array.isArray(h) ? h[0] : h;
  if (!v || v.length > 255) throw badRequest('Idempotency-Key must be 1 to 255 characters');
  return v;
}

/** A finished job again, as a new job: the same request, a new id, a pointer back. */
export function retryOf(old: JobDocument, now: number): JobDocument {
  const annotations = { ...(old.metadata?.annotations ?? {}), 'guestkit.dev/retry-of': old.job_id };
  return {
    ...old,
    job_id: newJobId(),
    created_at: new Date(now).toISOString(),
    metadata: { ...(old.metadata ?? {}), annotations },
    execution: { ...old.execution, attempt: 1 },
  };
}

/** The filters of GET /jobs (also those of GET /stats/counts). */
export function listQuery(q: Record<string, string | undefined>, p: Principal): JobQuery {
  const out: JobQuery = {};
  if (q.status) {
    const statuses = q.status.split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of statuses) if (!(JOB_STATUSES as readonly string[]).includes(s)) throw badRequest(`status: unknown status ${JSON.stringify(s)} (one of ${JOB_STATUSES.join(', ')})`);
    out.status = statuses as JobStatus[];
  }
  if (q.operation) out.operation = q.operation;
  out.namespace = scopedNamespace(p, q.namespace);
  if (q.labels) {
    out.labels = parseLabelSelector(q.labels);
    // each requirement is a term of the store's WHERE: ~1,000 of them exceeded SQLite's expression depth (a 500)
    if (out.labels.length > MAX_LABEL_REQUIREMENTS) throw badRequest(`labels: at most ${MAX_LABEL_REQUIREMENTS} requirements, this selector has ${out.labels.length}`, { limit: MAX_LABEL_REQUIREMENTS });
  }
  if (q.image_prefix) out.imagePrefix = q.image_prefix;
  if (q.q) out.search = q.q;
  if (q.from) out.queuedFrom = time('from', q.from);
  if (q.to) out.queuedTo = time('to', q.to);
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw badRequest(`limit must be an integer from 1 to ${MAX_PAGE}`);
    out.limit = n;
  }
  if (q.cursor) out.cursor = q.cursor;
  return out;
}

/** The namespace a query may cover: admins any (or all), others their own; asking for another's is 403. */
export function scopedNamespace(p: Principal, asked: string | undefined): string | undefined {
  if (p.role === 'admin') return asked || undefined;
  if (asked && asked !== p.namespace) {
    throw new GuestkitError('FORBIDDEN', `this token belongs to namespace "${p.namespace}" and cannot read "${asked}"`, { phase: 'validation', details: { namespace: asked, token_namespace: p.namespace } });
  }
  return p.namespace;
}

export function time(name: string, v: string): number {
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw badRequest(`${name}: not an RFC 3339 time: ${JSON.stringify(v)}`);
  return ms;
}
