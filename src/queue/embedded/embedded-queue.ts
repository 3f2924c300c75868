import type { TerminalStatus } from '../../protocol/status.js';
import type { JobQueue, Lease, QueueEntry } from '../../ports/job-queue.js';
import { namespaceOf } from '../../ports/job-store.js';
import { FairShare, type RunningCap, type Slot } from './fair-share.js';

interface Waiting extends Slot {
  entry: QueueEntry;
}

export interface EmbeddedQueueOptions {
  /** A namespace's running cap (quota max_running): at the cap, its jobs wait. */
  cap?: RunningCap;
}

/**
 * The embedded queue: the jobs this process's intakes accepted, handed out by fair share
 * among namespaces (see FairShare), then priority and arrival, with retries held back for
 * their back-off. Durability is the store's: what waits here is `pending` there and is
 * found again by restart recovery.
 */
export class EmbeddedQueue implements JobQueue {
  private readonly fair: FairShare;
  private readonly waiting = new Map<string, Waiting>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly takers: ((l: Lease | null) => void)[] = [];
  private seq = 0;
  private closed = false;
  private pumpScheduled = false;

  constructor(opts: EmbeddedQueueOptions = {}) {
    this.fair = new FairShare(opts.cap);
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Jobs of a namespace handed out and not yet acked, retried or released. */
  inFlight(namespace: string): number {
    return this.fair.inFlight(namespace);
  }

  /** The running caps changed: namespaces held at their cap are looked at again. */
  capsChanged(): void {
    if (this.fair.recheck()) this.schedulePump();
  }

  enqueue(entry: QueueEntry): boolean {
    if (this.closed || this.waiting.has(entry.job.job_id)) return false;
    this.fair.push(this.hold(entry));
    this.schedulePump();
    return true;
  }

  reserve(): Promise<Lease | null> {
    if (this.closed) return Promise.resolve(null);
    const s = this.takers.length === 0 ? this.take() : undefined;
    if (s) return Promise.resolve(lease(s.entry));
    return new Promise((resolve) => this.takers.push(resolve));
  }

  ack(l: Lease, _status: TerminalStatus): void {
    // the store holds the outcome; only the in-flight count changes here
    this.settle(l);
  }

  retry(l: Lease, delayMs: number): void {
    this.settle(l);
    if (this.closed) return;
    const entry: QueueEntry = { job: l.job, source: l.source, cancel: l.cancel, rerun: l.rerun };
    if (delayMs <= 0) {
      this.fair.push(this.hold(entry));
      this.schedulePump();
      return;
    }
    // counted as waiting during the back-off (queue depth, drain gives it back)
    const slot = this.hold(entry);
    this.delayed.set(
      slot.jobId,
      setTimeout(() => {
        this.delayed.delete(slot.jobId);
        if (slot.dead || this.closed) return;
        this.fair.push(slot);
        this.schedulePump();
      }, delayMs),
    );
  }

  drop(l: Lease): void {
    this.settle(l);
  }

  release(l: Lease): void {
    // the intake that owns the job gives it back to its source (spool file back in jobs/)
    this.settle(l);
  }

  remove(jobId: string): QueueEntry | undefined {
    const s = this.waiting.get(jobId);
    if (!s) return undefined;
    s.dead = true;
    this.waiting.delete(jobId);
    const t = this.delayed.get(jobId);
    if (t) clearTimeout(t);
    this.delayed.delete(jobId);
    this.fair.dropped(s);
    return s.entry;
  }

  peek(jobId: string): QueueEntry | undefined {
    return this.waiting.get(jobId)?.entry;
  }

  close(): QueueEntry[] {
    this.closed = true;
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
    const left = [...this.waiting.values()].map((s) => s.entry);
    for (const s of this.waiting.values()) s.dead = true;
    this.waiting.clear();
    this.fair.clear();
    for (const take of this.takers.splice(0)) take(null);
    return left;
  }

  /** A new slot for the entry, counted as waiting. */
  private hold(entry: QueueEntry): Waiting {
    const job = entry.job;
    const slot: Waiting = { entry, jobId: job.job_id, namespace: namespaceOf(job), priority: job.execution.priority, seq: this.seq++, dead: false };
    this.waiting.set(slot.jobId, slot);
    return slot;
  }

  private settle(l: Lease): void {
    if (this.fair.settle(l.jobId)) this.schedulePump();
  }

  /** Hands jobs to waiting takers on a microtask: cancels applied in the same turn win. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.takers.length === 0) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      while (this.takers.length > 0) {
        const s = this.take();
        if (!s) break;
        this.takers.shift()!(lease(s.entry));
      }
    });
  }

  private take(): Waiting | undefined {
    const s = this.fair.take() as Waiting | undefined;
    if (s) this.waiting.delete(s.jobId);
    return s;
  }
}

function lease(entry: QueueEntry): Lease {
  return { ...entry, jobId: entry.job.job_id };
}
