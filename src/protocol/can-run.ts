import semver from 'semver';
import { parseVersion, type JobDocument } from './envelope.js';
import { canonicalOperation } from './payloads/registry.js';
import { advertisedCapabilities, type WorkerRegistration } from './worker.js';

export interface UnmetConstraint {
  /** Which rule: `operation`, `constraints.required_capabilities`, `routing.worker_pool`, … */
  constraint: string;
  message: string;
}

export type CanRunResult = { ok: true } | { ok: false; unmet: UnmetConstraint[] };

type JobLike = Pick<JobDocument, 'operation' | 'constraints' | 'routing'>;
type WorkerLike = Pick<WorkerRegistration, 'worker_id' | 'version' | 'capabilities' | 'resources' | 'configuration'>;

const list = (xs: readonly string[]) => xs.map((x) => JSON.stringify(x)).join(', ');

const opSets = new WeakMap<readonly string[], Set<string>>();

/** A worker's operations, canonical, as a set (kept per list: a worker checks every job against the same one). */
function operationsOf(ops: readonly string[]): Set<string> {
  let set = opSets.get(ops);
  if (!set) opSets.set(ops, (set = new Set(ops.map(canonicalOperation))));
  return set;
}

/**
 * Whether a worker may take a job: its operations, capabilities, features,
 * version and pool satisfy the job's constraints and routing. Every unmet
 * rule is listed. `require_privileged` is not checked: guestkit needs no
 * privilege. Worker state (busy, draining) is the scheduler's concern.
 */
export function canRun(job: JobLike, worker: WorkerLike): CanRunResult {
  const unmet: UnmetConstraint[] = [];
  const ops = operationsOf(worker.capabilities.operations);
  if (!ops.has(canonicalOperation(job.operation))) {
    unmet.push({ constraint: 'operation', message: `worker does not support operation "${job.operation}"` });
  }

  const c = job.constraints;
  if (c?.required_capabilities?.length) {
    const have = advertisedCapabilities(worker);
    for (const op of worker.capabilities.operations) have.add(canonicalOperation(op));
    const missing = c.required_capabilities.filter((x) => !have.has(x) && !have.has(canonicalOperation(x)));
    if (missing.length) {
      unmet.push({ constraint: 'constraints.required_capabilities', message: `worker lacks capabilities ${list(missing)}` });
    }
  }
  if (c?.required_features?.length) {
    const have = new Set(worker.capabilities.features);
    const missing = c.required_features.filter((x) => !have.has(x));
    if (missing.length) {
      unmet.push({ constraint: 'constraints.required_features', message: `worker lacks features ${list(missing)}` });
    }
  }
  if (c?.minimum_worker_version) {
    const need = parseVersion(c.minimum_worker_version);
    const have = parseVersion(worker.version);
    if (!need || !have || semver.lt(have, need)) {
      unmet.push({
        constraint: 'constraints.minimum_worker_version',
        message: `worker version ${worker.version} is older than ${c.minimum_worker_version}`,
      });
    }
  }
  if (typeof c?.maximum_disk_size_gb === 'number' && c.maximum_disk_size_gb > worker.resources.max_disk_size_gb) {
    unmet.push({
      constraint: 'constraints.maximum_disk_size_gb',
      message: `job needs disks up to ${c.maximum_disk_size_gb} GB; worker handles ${worker.resources.max_disk_size_gb} GB`,
    });
  }
  const pool = worker.configuration.worker_pool ?? null;
  if (c?.allowed_worker_pools && c.allowed_worker_pools.length > 0 && (pool === null || !c.allowed_worker_pools.includes(pool))) {
    unmet.push({
      constraint: 'constraints.allowed_worker_pools',
      message: `worker pool ${pool === null ? '(none)' : JSON.stringify(pool)} is not one of ${list(c.allowed_worker_pools)}`,
    });
  }

  const r = job.routing;
  if (r?.worker_pool && r.worker_pool !== pool) {
    unmet.push({
      constraint: 'routing.worker_pool',
      message: `job targets pool "${r.worker_pool}"; worker is in ${pool === null ? 'no pool' : `pool "${pool}"`}`,
    });
  }
  if (r?.worker_id && r.worker_id !== worker.worker_id) {
    unmet.push({ constraint: 'routing.worker_id', message: `job is pinned to worker "${r.worker_id}"` });
  }
  return unmet.length === 0 ? { ok: true } : { ok: false, unmet };
}
