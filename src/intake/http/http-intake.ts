import type { Logger } from '../../observability/logger.js';
import type { CancelOutcome, Intake, IntakeSink, SubmitOptions } from '../../ports/intake.js';
import { isStoreUnavailable, type JobRecord, type JobStore, type SubmitOutcome } from '../../ports/job-store.js';
import type { JobDocument } from '../../protocol/envelope.js';

/** The source name of jobs that came over HTTP. */
export const HTTP_SOURCE = 'http';

/**
 * Jobs that arrive over the API. They live in the store alone (no file holds them), so on
 * start-up this intake gives back to the queue every HTTP job that was waiting, or that
 * this node (or a dead peer) was running when it stopped: an accepted job is never lost.
 */
export class HttpIntake implements Intake {
  readonly name = 'http';
  private stopped = false;

  constructor(
    private readonly o: {
      sink: IntakeSink;
      store: JobStore;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    const held = await this.unfinished();
    let requeued = 0;
    let ended = 0;
    // oldest first, so the queue's arrival order is kept
    for (const rec of held.reverse()) {
      const id = rec.job.job_id;
      if (rec.workerId && rec.workerId !== this.o.sink.workerId && rec.status !== 'pending' && !(await this.o.sink.isWorkerDead(rec.workerId))) continue;
      try {
        const act = await this.o.sink.recover(rec.job, id);
        if (act.action === 'archive') {
          ended++;
          continue;
        }
        const out = await this.o.sink.submit(rec.job, { source: HTTP_SOURCE });
        if (out.kind === 'accepted') requeued++;
      } catch (err) {
        // one job must not keep the node from starting: it stays pending, the next start tries again
        if (isStoreUnavailable(err)) throw err;
        this.o.logger.error({ job_id: id, err: String(err) }, 'http intake: could not recover this job; it stays pending');
      }
    }
    if (held.length > 0) this.o.logger.info({ requeued, ended, found: held.length }, 'http intake: unfinished jobs recovered');
  }

  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {}

  problem(): string | undefined {
    return undefined;
  }

  get accepting(): boolean {
    return !this.stopped && this.o.sink.accepting;
  }

  submit(job: JobDocument, opts: SubmitOptions = {}): Promise<SubmitOutcome> {
    return this.o.sink.submit(job, { ...opts, source: HTTP_SOURCE });
  }

  cancel(jobId: string, reason: string): CancelOutcome {
    return this.o.sink.cancel(jobId, reason);
  }

  cancelHeld(jobId: string, reason: string): Promise<boolean> {
    return this.o.sink.cancelHeld(jobId, reason);
  }

  private async unfinished(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.o.store.list({ status: ['pending', 'assigned', 'running'], limit: 1000, cursor });
      out.push(...page.items.filter((r) => r.source === HTTP_SOURCE));
      cursor = page.next;
    } while (cursor);
    return out;
  }
}
