import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError } from '../protocol/errors.js';
import { isTerminal } from '../protocol/status.js';
import { namespaceOf, type JobRecord } from '../ports/job-store.js';

export type DependencyVerdict =
  /** Every parent completed (or ended otherwise and the job continues regardless). */
  | { kind: 'ready' }
  | { kind: 'wait'; waitingOn: string[]; reason: string }
  /** A parent ended other than completed (or is gone) and the job does not continue: it fails. */
  | { kind: 'failed'; error: GuestkitError };

/**
 * Whether a job may be queued, from its parents' records (undefined: not in the store).
 * A parent that ended other than completed fails the job with DEPENDENCY_FAILED, unless
 * the job says `execution.on_dependency_failure: continue`.
 */
export function dependencyVerdict(job: JobDocument, parents: ReadonlyMap<string, JobRecord | undefined>): DependencyVerdict {
  const waiting: string[] = [];
  for (const id of job.execution.depends_on ?? []) {
    const p = parents.get(id);
    if (!p) {
      if (job.execution.on_dependency_failure === 'continue') continue;
      return { kind: 'failed', error: dependencyFailed(job, id, 'removed', `parent job ${id} is no longer in the store`) };
    }
    if (!isTerminal(p.status)) {
      waiting.push(id);
      continue;
    }
    if (p.status !== 'completed' && job.execution.on_dependency_failure !== 'continue') {
      return { kind: 'failed', error: dependencyFailed(job, id, p.status, `parent job ${id} ended ${p.status}${p.errorCode ? ` (${p.errorCode})` : ''}`) };
    }
  }
  if (waiting.length === 0) return { kind: 'ready' };
  const shown = waiting.slice(0, 5).join(', ') + (waiting.length > 5 ? ` and ${waiting.length - 5} more` : '');
  return { kind: 'wait', waitingOn: waiting, reason: `waiting for ${waiting.length} parent job(s): ${shown}` };
}

/**
 * Checks a new job's parents at submit: each must exist and belong to the job's namespace
 * (a tenant cannot wait on, nor learn of, another tenant's jobs).
 */
export function checkParents(job: JobDocument, parents: ReadonlyMap<string, JobRecord | undefined>): GuestkitError | undefined {
  const ns = namespaceOf(job);
  const unknown = (job.execution.depends_on ?? []).filter((id) => {
    const p = parents.get(id);
    return !p || namespaceOf(p.job) !== ns;
  });
  if (unknown.length === 0) return undefined;
  return new GuestkitError('VALIDATION_ERROR', `execution.depends_on: no job ${unknown.map((id) => JSON.stringify(id)).join(', ')} in namespace ${ns}; submit parents before the jobs that wait for them`, {
    phase: 'validation',
    details: { errors: [{ path: 'execution.depends_on', message: `unknown job(s): ${unknown.join(', ')}` }], unknown_parents: unknown },
  });
}

function dependencyFailed(job: JobDocument, parent: string, status: string, message: string): GuestkitError {
  return new GuestkitError('DEPENDENCY_FAILED', `job ${job.job_id} did not run: ${message}`, {
    phase: 'validation',
    details: { parent_job_id: parent, parent_status: status },
  });
}
