import { appendFileSync } from 'node:fs';
import type { JobResult, ProgressEvent } from '../../protocol/index.js';

/** What a claim needs of its spool (kept narrow so claims can be tested alone). */
export interface ClaimHost {
  eventsPath(jobId: string): string;
  publish(claim: SpoolClaim | undefined, result: JobResult): Promise<void>;
  giveBack(claim: SpoolClaim): boolean;
  archive(claim: SpoolClaim, to: 'done' | 'failed', suffix?: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  /** A claim's file writes in flight: the spool waits for them before it closes. */
  track(writes: Promise<void>): void;
}

/**
 * One job file this worker holds in claimed/<worker>/: its progress lines go to
 * results/<job_id>-events.jsonl, its end to the result file and done/ or failed/.
 */
export class SpoolClaim {
  private pending = '';
  private pendingJob = '';
  private flushScheduled = false;
  private eventWriteFailed = false;
  /** This claim's file writes, in order (events, then the result, then the archive). */
  private writes: Promise<void> = Promise.resolve();
  private queued = 0;

  /**
   * @param source the file's name in jobs/ (recorded with the job, used for archives)
   * @param held its name in claimed/<worker>/ (the same unless that name was taken)
   */
  constructor(
    private readonly host: ClaimHost,
    readonly source: string,
    readonly held: string,
  ) {}

  /** Events of one event-loop turn go out in one append (an open() per event is the costliest call here). */
  event(ev: ProgressEvent): void {
    this.pending += JSON.stringify(ev) + '\n';
    this.pendingJob = ev.job_id;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.pending) return;
    const text = this.pending;
    const jobId = this.pendingJob;
    this.pending = '';
    this.then(() => {
      try {
        appendFileSync(this.host.eventsPath(jobId), text);
      } catch (err) {
        // events are also in the store; say so once per job, not per line
        if (!this.eventWriteFailed) this.host.warn({ file: this.source, err: String(err) }, 'could not write progress events');
        this.eventWriteFailed = true;
      }
    });
  }

  /** Runs `step` after this claim's earlier writes; at once when none is in flight. */
  private then(step: () => Promise<void> | void): void {
    const run = async () => {
      try {
        await step();
      } finally {
        this.queued--;
      }
    };
    this.queued++;
    this.writes = (this.queued === 1 ? run() : this.writes.then(run)).catch((err: unknown) => this.host.warn({ file: this.source, err: String(err) }, 'a spool file write failed'));
    this.host.track(this.writes);
  }

  finish(result: JobResult): void {
    this.flush();
    this.then(() => this.host.publish(this, result));
  }

  /** Back into jobs/ for any worker (drain, recovery), after its pending event lines. */
  release(): void {
    this.flush();
    this.then(() => void this.host.giveBack(this));
  }

  duplicate(): void {
    this.then(() => this.host.archive(this, 'failed', '.duplicate'));
  }
}
