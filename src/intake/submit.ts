import type { JobEvents } from '../events/job-events.js';
import type { HoldScheduler } from '../placement/hold-scheduler.js';
import type { JobDocument } from '../protocol/envelope.js';
import type { JobQueue } from '../ports/job-queue.js';
import type { JobStore, SubmitOutcome } from '../ports/job-store.js';
import type { SubmitOptions } from '../ports/intake.js';

/**
 * The one submit path of every intake: admission (parents known; with `place`, a live
 * worker that can run it), then the store records the job as `pending` (durable: nobody
 * hears "accepted" before), then the queue offers it to workers — unless it is held for
 * its parents or for capacity — then listeners hear `submitted`.
 */
export async function submitJob(
  deps: { store: JobStore; queue: JobQueue; events: JobEvents; holds?: HoldScheduler },
  job: JobDocument,
  opts: SubmitOptions = {},
): Promise<SubmitOutcome> {
  const admission = deps.holds ? await deps.holds.admit(job, { place: opts.place === true }) : {};
  const out = await deps.store.submit({ job, source: opts.source, owner: opts.owner, exclusive: opts.exclusive, hold: admission.hold, keyed: opts.keyed });
  if (out.kind !== 'accepted') return out;
  if (!out.hold) deps.queue.enqueue({ job, source: opts.source, cancel: job.execution.cancellable ? opts.cancel : undefined, target: admission.target });
  deps.events.emit('submitted', { job, source: opts.source, resumed: out.resumed });
  // a parent may have ended between admission and the store's write
  if (out.hold && deps.holds) void deps.holds.recheck(job.job_id).catch(() => undefined);
  return out;
}
