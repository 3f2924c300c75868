import type { HandlerRegistry } from '../jobs/registry.js';
import type { HandlerDefinition, PreparedJob } from '../jobs/types.js';
import { canRun } from '../protocol/can-run.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError } from '../protocol/errors.js';
import { operationSpec } from '../protocol/payloads/registry.js';
import { timestampMillis } from '../protocol/timestamp.js';
import { validatePayload, validationError } from '../protocol/validate.js';
import type { WorkerRegistration } from '../protocol/worker.js';

export type Precheck =
  | { ok: true; handler: HandlerDefinition; prepared: PreparedJob }
  | { ok: false; kind: 'failed'; error: GuestkitError }
  | { ok: false; kind: 'timeout'; message: string };

/** Routing rules that mean "some other worker should take this", not "this job cannot run". */
const ROUTING_CONSTRAINTS = new Set(['routing.worker_id', 'routing.worker_pool', 'constraints.allowed_worker_pools']);

/**
 * Everything decided before a job may start, without I/O: a handler for the operation,
 * the payload against its schema, the worker's capabilities, the deadline.
 */
export function precheck(job: JobDocument, registry: HandlerRegistry, registration: WorkerRegistration, workerId: string, now = Date.now()): Precheck {
  const handler = registry.get(job.operation);
  if (!handler) {
    const known = operationSpec(job.operation);
    return fail(new GuestkitError('UNSUPPORTED_OPERATION', known
      ? `operation ${job.operation} is part of the protocol but this worker has no handler for it`
      : `operation ${job.operation} is not supported`, { phase: 'validation', details: { operation: job.operation, supported: registry.capabilities().operations } }));
  }
  // protocol operations: payload type and schema as the protocol states them
  if (operationSpec(job.operation)) {
    const pv = validatePayload(job);
    if (!pv.ok) {
      return fail(pv.code === 'UNSUPPORTED_OPERATION'
        ? new GuestkitError('UNSUPPORTED_OPERATION', pv.errors.map((e) => `${e.path}: ${e.message}`).join('; '), { phase: 'validation', details: { errors: pv.errors } })
        : validationError(pv.errors, 'invalid payload'));
    }
  }
  const prepared = handler.prepare(job.payload.data);
  if (!prepared.ok) return fail(validationError(prepared.issues, 'invalid payload'));
  // what the handler would never do is the answer, whatever this worker's capabilities
  if (prepared.job.refusal) return fail(prepared.job.refusal);
  const can = canRun(job, registration);
  if (!can.ok) {
    return fail(new GuestkitError('CAPABILITY_MISMATCH', `worker ${workerId} cannot run this job: ${can.unmet.map((u) => u.message).join('; ')}`, {
      phase: 'validation',
      details: { unmet: can.unmet },
    }));
  }
  if (job.execution.deadline && timestampMillis(job.execution.deadline) <= now) {
    return { ok: false, kind: 'timeout', message: `deadline ${job.execution.deadline} passed before the job could start` };
  }
  return { ok: true, handler, prepared: prepared.job };
}

/**
 * Whether this worker should take the job at all: false when only routing points
 * elsewhere (another worker or pool will take it). Capability gaps are not routing:
 * those jobs are taken and answered with CAPABILITY_MISMATCH.
 */
export function routedHere(job: JobDocument, registration: WorkerRegistration): { ok: true } | { ok: false; why: string } {
  const res = canRun(job, registration);
  if (res.ok) return res;
  if (res.unmet.every((u) => ROUTING_CONSTRAINTS.has(u.constraint))) return { ok: false, why: res.unmet.map((u) => u.message).join('; ') };
  return { ok: true };
}

function fail(error: GuestkitError): Precheck {
  return { ok: false, kind: 'failed', error };
}
