import { isDeepStrictEqual } from 'node:util';
import type { HandlerRegistry } from '../jobs/registry.js';
import { DEFAULT_NAMESPACE } from '../ports/job-store.js';
import { newJobId } from '../protocol/job-id.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError } from '../protocol/errors.js';
import type { ValidationIssue } from '../protocol/issues.js';
import { shapeProblem, validateJob } from '../protocol/validate.js';
import type { PathPolicy } from '../worker/path-policy.js';
import type { Principal } from './auth.js';

export interface AdmissionContext {
  principal: Principal;
  sourceIp: string | null;
  /** The `Idempotency-Key` header. */
  idempotencyKey?: string;
  /** Operations this node can run; a job for any other is refused at submit. */
  registry: HandlerRegistry;
  pathPolicy: PathPolicy;
  authMethod: 'bearer' | 'none';
  now: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Turns request bodies into job documents the pipeline can take: server-filled identity
 * (job_id, created_at), the caller's namespace, the Idempotency-Key header and the audit
 * section; then every check a worker would make before running, so a bad job is a 400 now
 * instead of a failed job later. All documents' problems are reported at once, each with
 * its JSON path (`$.jobs[3].payload.data.image.path`).
 */
export async function admitJobs(bodies: readonly unknown[], ctx: AdmissionContext, pathOf: (i: number) => string): Promise<JobDocument[]> {
  const issues: ValidationIssue[] = [];
  const jobs: JobDocument[] = [];
  let code: 'VALIDATION_ERROR' | 'UNSUPPORTED_OPERATION' = 'VALIDATION_ERROR';
  for (let i = 0; i < bodies.length; i++) {
    const at = (p: string) => (p === '' ? pathOf(i) : `${pathOf(i)}.${p}`);
    const doc = fill(bodies[i], ctx, (p, m) => issues.push({ path: at(p), message: m }));
    if (!doc) continue;
    const env = validateJob(doc);
    if (!env.ok || !env.job) {
      issues.push(...env.errors.map((e) => ({ path: at(e.path), message: e.message })));
      continue;
    }
    const handler = ctx.registry.get(env.job.operation);
    if (!handler) {
      if (issues.length === 0) code = 'UNSUPPORTED_OPERATION';
      issues.push({ path: at('operation'), message: `"${env.job.operation}" is not an operation this server runs (${ctx.registry.capabilities().operations.join(', ')})` });
      continue;
    }
    const prep = handler.prepare(env.job.payload.data);
    if (!prep.ok) {
      code = 'VALIDATION_ERROR';
      issues.push(...prep.issues.map((e) => ({ path: at(e.path), message: e.message })));
      continue;
    }
    for (const ref of [...prep.job.images]) await ctx.pathPolicy.admit(ref.path, `${at('payload.data')}.${ref.field}`);
    for (const ref of prep.job.outputs) await ctx.pathPolicy.checkOutput(ref.path, `${at('payload.data')}.${ref.field}`);
    jobs.push(env.job);
  }
  if (issues.length > 0) {
    const shown = issues.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new GuestkitError(code, `${issues.length} problem${issues.length === 1 ? '' : 's'} in the job document${bodies.length > 1 ? 's' : ''}: ${shown}${issues.length > 3 ? '; …' : ''}`, {
      phase: 'validation',
      details: { issues },
    });
  }
  return jobs;
}

/** A copy of the body with what the server sets; problems go to `issue` (path relative to the document). */
function fill(body: unknown, ctx: AdmissionContext, issue: (path: string, message: string) => void): Record<string, unknown> | undefined {
  if (!isObject(body)) {
    issue('', 'must be a JSON object (a job document)');
    return undefined;
  }
  const shape = shapeProblem(body);
  if (shape) {
    issue('', shape);
    return undefined;
  }
  const doc: Record<string, unknown> = { ...body };
  doc.job_id ??= newJobId(ctx.now);
  doc.created_at ??= new Date(ctx.now).toISOString();

  const p = ctx.principal;
  const metadata = isObject(doc.metadata) ? { ...doc.metadata } : doc.metadata == null ? {} : undefined;
  if (metadata) {
    const asked = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
    if (asked !== undefined && p.role !== 'admin' && asked !== p.namespace) {
      throw new GuestkitError('FORBIDDEN', `this token belongs to namespace "${p.namespace}" and cannot submit jobs to "${asked}"`, {
        phase: 'validation',
        details: { namespace: asked, token_namespace: p.namespace },
      });
    }
    if (asked === undefined && p.namespace !== DEFAULT_NAMESPACE) metadata.namespace = p.namespace;
    if (Object.keys(metadata).length > 0 || doc.metadata != null) doc.metadata = metadata;
  }

  if (ctx.idempotencyKey !== undefined) {
    const execution = isObject(doc.execution) ? { ...doc.execution } : doc.execution == null ? {} : undefined;
    if (execution) {
      const own = execution.idempotency_key;
      if (own != null && own !== ctx.idempotencyKey) issue('execution.idempotency_key', `differs from the Idempotency-Key header (${JSON.stringify(ctx.idempotencyKey)})`);
      execution.idempotency_key = ctx.idempotencyKey;
      doc.execution = execution;
    }
  }
  // who submitted is the server's to say, not the document's
  const audit = isObject(doc.audit) ? { ...doc.audit } : {};
  audit.submitted_by = p.actor;
  audit.submitted_from = ctx.sourceIp;
  audit.authorization = { method: ctx.authMethod, subject: p.actor };
  doc.audit = audit;
  return doc;
}

/** Same request twice (an Idempotency-Key retry): same operation and payload. */
export function sameRequest(a: JobDocument, b: JobDocument): boolean {
  // by value, not by text: a store may give the document back with its keys reordered (jsonb)
  return a.operation === b.operation && isDeepStrictEqual(a.payload, b.payload);
}
