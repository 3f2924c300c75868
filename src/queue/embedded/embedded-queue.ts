import type { TerminalStatus } from '../../protocol/status.js';
import type { JobQueue, Lease, QueueEntry } from '../../ports/job-queue.js';
import { Heap } from './heap.js';

interface Slot {
  entry: QueueEntry;
  priority: number;
  seq: number;
  /** Taken out (removed or handed out) while still in the heap. */
  dead: boolean;
}

/**
 * The embedded queue: the jobs this process's intakes accepted, handed out by priority
 * then arrival, with retries held back for their back-off. Durability is the store's:
 * what waits here is `pending` there and is found again by restart recovery.
 */
export class EmbeddedQueue implements JobQueue {
  private readonly heap = new Heap<Slot>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq));
  private readonly waiting = new Map<string, Slot>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly takers: ((l: Lease | null) => void)[] = [];
  private seq = 0;
  private closed = false;
  private pumpScheduled = false;

  get size(): number {
    return this.waiting.size;
  }

  enqueue(entry: QueueEntry): boolean {
    if (this.closed || this.waiting.has(entry.job.job_id)) return false;
    this.push(entry);
    return true;
  }

  reserve(): Promise<Lease | null> {
    if (this.closed) return Promise.resolve(null);
    const s = this.takers.length === 0 ? this.popLive() : undefined;
    if (s) return Promise.resolve(lease(s.entry));
    return new Promise((resolve) => this.takers.push(resolve));
  }

  ack(_lease: Lease, _status: TerminalStatus): void {
    // the store holds the outcome; nothing is kept here for a reserved job
  }

  retry(l: Lease, delayMs: number): void {
    if (this.closed) return;
    const entry: QueueEntry = { job: l.job, source: l.source, cancel: l.cancel, rerun: l.rerun };
    if (delayMs <= 0) {
      this.push(entry);
      return;
    }
    // counted as waiting during the back-off (queue depth, drain gives it back)
    const slot: Slot = { entry, priority: entry.job.execution.priority, seq: this.seq++, dead: false };
    this.waiting.set(l.jobId, slot);
    this.delayed.set(
      l.jobId,
      setTimeout(() => {
        this.delayed.delete(l.jobId);
        if (slot.dead || this.closed) return;
        this.heap.push(slot);
        this.schedulePump();
      }, delayMs),
    );
  }

  release(_lease: Lease): void {
    // the intake that owns the job gives it back to its source (spool file back in jobs/)
  }

  remove(jobId: string): QueueEntry | undefined {
    const s = this.waiting.get(jobId);
    if (!s) return undefined;
    s.dead = true;
    this.waiting.delete(jobId);
    const t = this.delayed.get(jobId);
    if (t) clearTimeout(t);
    this.delayed.delete(jobId);
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
    for (const take of this.takers.splice(0)) take(null);
    return left;
  }

  private push(entry: QueueEntry): void {
    const slot: Slot = { entry, priority: entry.job.execution.priority, seq: this.seq++, dead: false };
    this.waiting.set(entry.job.job_id, slot);
    this.heap.push(slot);
    this.schedulePump();
  }

  /** Hands jobs to waiting takers on a microtask: cancels applied in the same turn win. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.takers.length === 0) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      while (this.takers.length > 0) {
        const s = this.popLive();
        if (!s) break;
        this.takers.shift()!(lease(s.entry));
      }
    });
  }

  private popLive(): Slot | undefined {
    for (;;) {
      const s = this.heap.pop();
      if (!s) return undefined;
      if (s.dead) continue;
      s.dead = true;
      this.waiting.delete(s.entry.job.job_id);
      return s;
    }
  }
}

function lease(entry: QueueEntry): Lease {
  return { ...entry, jobId: entry.job.job_id };
}
