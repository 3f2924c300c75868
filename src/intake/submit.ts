import type { JobEvents } from '../events/job-events.js';
import type { JobDocument } from '../protocol/envelope.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobStore, SubmitOutcome } from '../ports/job-store.js';
import type { SubmitOptions } from '../ports/intake.js';

/**
 * The one submit path of every intake: the store records the job as `pending` (durable:
 * nobody hears "accepted" before), then the queue offers it to workers, then listeners
 * hear `submitted`.
 */
export async function submitJob(
  deps: { store: JobStore; queue: JobQueue; events: JobEvents },
  job: JobDocument,
  opts: SubmitOptions = {},
): Promise<SubmitOutcome> {
  const out = await deps.store.submit({ job, source: opts.source, owner: opts.owner, exclusive: opts.exclusive });
  if (out.kind !== 'accepted') return out;
  deps.queue.enqueue({ job, source: opts.source, cancel: job.execution.cancellable ? opts.cancel : undefined });
  deps.events.emit('submitted', { job, source: opts.source, resumed: out.resumed });
  return out;
}
