import { randomUUID } from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { JobDocument } from '../protocol/envelope.js';
import type { GuestkitError } from '../protocol/errors.js';
import type { JobQueue, QueueEntry, QueueTarget } from '../ports/job-queue.js';
import { workerIsLive, type HeldCursor, type Hold, type HoldKind, type JobRecord, type JobStore, type WorkerRecord } from '../ports/job-store.js';
import { checkParents, dependencyVerdict } from './dependencies.js';
import { placeJob } from './placement.js';

/** What admission decided for a new job: held (not queued yet), or queued on a target. */
export interface Admission {
  hold?: Hold;
  target?: QueueTarget;
}

/** How a held job that will not run is ended (through the worker, so every listener hears it). */
export type EndUnstarted = (entry: QueueEntry, end: { cancel: string } | { error: GuestkitError }) => void;

export interface HoldSchedulerOptions {
  store: JobStore;
  queue: JobQueue;
  logger: Logger;
  /** This node's pool: the default target. */
  pool: string;
  /** This node's worker id. */
  workerId: string;
  /**
   * False for the embedded queue: what this node queues only this node runs, so only its own
   * registration decides (a job another worker could run is left to that worker's release).
   */
  shared: boolean;
  endUnstarted: EndUnstarted;
  /**
   * Shared queues: takes the jobs waiting in one worker's own queue out of it (a worker that is
   * gone: nobody else reads its queue). They are placed again, once per death seen here.
   */
  reclaim?: (workerId: string) => Promise<QueueEntry[]>;
  /** ms between sweeps of held jobs (the safety net behind the event-driven releases). */
  sweepMs?: number;
  /** Held jobs looked at per sweep (each sweep goes on where the last one stopped). */
  sweepLimit?: number;
  now?: () => number;
}

/** How long placement reuses one read of the worker registrations (heartbeats come every few seconds). */
const CANDIDATES_TTL_MS = 100;

/**
 * Jobs accepted but not queued yet: those waiting for their parents (execution.depends_on)
 * and those no live worker can run yet (routing.wait_for_capacity). A job is released by a
 * compare-and-set on its hold (store.swapHold), so among all the nodes of a cluster exactly
 * one queues it. Releases follow parents' ends as they happen here; a periodic sweep catches
 * those that ended on other nodes, capacity that appeared, and a node that died mid-release.
 */
export class HoldScheduler {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  /** Whether any job may wait for parents (skips a store read per finished job otherwise). */
  private dependantsPossible = false;
  private readonly now: () => number;
  /** Workers seen dead whose own queue was emptied (again only after they came back). */
  private readonly reclaimed = new Set<string>();
  /** Draining: nothing more is released (a queue that closes would lose it; the hold keeps it). */
  private stopped = false;
  private registrations?: { at: number; read: Promise<WorkerRecord[]> };
  /** Where the last sweep stopped: the next one goes on from there, so every held job is looked at in turn. */
  private sweptTo?: HeldCursor;

  constructor(private readonly o: HoldSchedulerOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.o.sweepMs ?? 5000);
    this.timer.unref();
    void this.sweep();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.sweeping;
  }

  /**
   * Admission of a job about to be submitted: its parents must exist in its namespace
   * (VALIDATION_ERROR otherwise); with parents not all completed it is held. With `place`,
   * the live workers' registrations decide where it goes, or refuse it (CAPABILITY_MISMATCH,
   * thrown) unless it asked to wait for capacity.
   */
  async admit(job: JobDocument, opts: { place: boolean }): Promise<Admission> {
    if (job.execution.depends_on?.length) {
      this.dependantsPossible = true;
      // a job the store holds already (restart recovery, a resubmitted file) keeps its own state
      if (await this.o.store.get(job.job_id)) return {};
      const parents = await this.parentsOf(job);
      const bad = checkParents(job, parents);
      if (bad) throw bad;
      const v = dependencyVerdict(job, parents);
      // a failed parent also holds it: evaluate() ends it after the store recorded it
      if (v.kind === 'wait') return { hold: { kind: 'dependencies', reason: v.reason } };
      if (v.kind === 'failed') return { hold: { kind: 'dependencies', reason: v.error.message } };
    }
    if (!opts.place) return {};
    let p = placeJob(job, await this.candidates(), this.now(), this.o.pool);
    // a refusal or a hold is never made on a cached view: a worker may have registered since
    if (p.kind !== 'queue') p = placeJob(job, await this.candidates(true), this.now(), this.o.pool);
    if (p.kind === 'refuse') throw p.error;
    if (p.kind === 'hold') return { hold: { kind: 'capacity', reason: p.reason } };
    return { target: p.target };
  }

  /** A job just recorded as held: looked at once more (a parent may have ended meanwhile). */
  async recheck(jobId: string): Promise<void> {
    const rec = await this.o.store.get(jobId);
    if (rec) await this.evaluate(rec);
  }

  /** A job ended: its dependants may go now (or fail with it). */
  async onFinished(jobId: string): Promise<void> {
    if (!this.dependantsPossible || this.stopped) return;
    for (const child of await this.o.store.dependants(jobId)) {
      const rec = await this.o.store.get(child);
      if (rec) await this.evaluate(rec);
    }
  }

  /** Cancels a held job (it is in no queue). False when it is not held (any more). */
  async cancelHeld(jobId: string, reason: string): Promise<boolean> {
    const rec = await this.o.store.get(jobId);
    if (!rec?.hold || rec.status !== 'pending' || !rec.job.execution.cancellable) return false;
    if (!(await this.o.store.swapHold(jobId, rec.hold.kind, null, randomUUID()))) return false;
    this.o.endUnstarted(entryOf(rec), { cancel: reason });
    return true;
  }

  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        const held = await this.nextHeld(this.o.sweepLimit ?? 500);
        if (held.some((r) => r.hold?.kind === 'dependencies')) this.dependantsPossible = true;
        for (const rec of held) await this.evaluate(rec);
        if (this.o.reclaim && !this.stopped) await this.reclaimDead();
      } catch (err) {
        this.o.logger.warn({ err: String(err) }, 'held jobs: sweep failed; trying again later');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /**
   * The next page of held jobs after the last sweep's, from the oldest again once a page runs
   * out: jobs that wait long (for a pool nobody serves) never keep newer ones from being looked at.
   */
  private async nextHeld(limit: number): Promise<JobRecord[]> {
    let page = await this.o.store.heldJobs(limit, this.sweptTo);
    if (page.length === 0 && this.sweptTo) page = await this.o.store.heldJobs(limit);
    const last = page.at(-1);
    this.sweptTo = page.length < limit || !last ? undefined : { queuedAt: last.queuedAt, jobId: last.job.job_id };
    return page;
  }

  /** One held job: released onto a queue, moved to the other hold, ended, or left waiting. */
  private async evaluate(rec: JobRecord): Promise<void> {
    const hold = rec.hold;
    if (!hold || rec.status !== 'pending' || this.stopped) return;
    const job = rec.job;
    const id = job.job_id;
    try {
      if (hold.kind === 'dependencies') {
        const v = dependencyVerdict(job, await this.parentsOf(job));
        if (v.kind === 'wait') return;
        if (v.kind === 'failed') {
          if (await this.swap(id, hold.kind, null)) this.o.endUnstarted(entryOf(rec), { error: v.error });
          return;
        }
      }
      // parents done (or a capacity hold): where can it run now?
      const place = rec.source === 'http' || hold.kind === 'capacity';
      if (!place) {
        if (await this.swap(id, hold.kind, null)) this.o.queue.enqueue(entryOf(rec));
        return;
      }
      let p = placeJob(job, await this.candidates(), this.now(), this.o.pool);
      if (p.kind !== 'queue') p = placeJob(job, await this.candidates(true), this.now(), this.o.pool);
      if (p.kind === 'queue') {
        if (await this.swap(id, hold.kind, null)) this.o.queue.enqueue({ ...entryOf(rec), target: p.target });
      } else if (p.kind === 'hold') {
        if (hold.kind === 'dependencies') await this.swap(id, hold.kind, { kind: 'capacity', reason: p.reason });
      } else if (await this.swap(id, hold.kind, null)) {
        this.o.endUnstarted(entryOf(rec), { error: p.error });
      }
    } catch (err) {
      this.o.logger.warn({ job_id: id, hold: hold.kind, err: String(err) }, 'held job: could not look at it now; the sweep tries again');
    }
  }

  /**
   * Jobs placed on the own queue of a worker that died: placed again where a live worker can
   * run them. A job pinned to that worker (routing.worker_id) goes back to its queue and waits
   * for it; one nobody can run now goes to its pool's queue, where a worker answers it.
   */
  private async reclaimDead(): Promise<void> {
    const now = this.now();
    const all = await this.o.store.workers();
    for (const w of all) {
      if (w.workerId === this.o.workerId) continue;
      if (workerIsLive(w, now)) {
        this.reclaimed.delete(w.workerId);
        continue;
      }
      if (this.reclaimed.has(w.workerId)) continue;
      const entries = await this.o.reclaim!(w.workerId);
      this.reclaimed.add(w.workerId);
      for (const e of entries) {
        const pinned = e.job.routing?.worker_id === w.workerId;
        const p = pinned ? undefined : placeJob(e.job, all, now, this.o.pool);
        const target = pinned ? { workerId: w.workerId } : p?.kind === 'queue' ? p.target : { pool: e.job.routing?.worker_pool ?? this.o.pool };
        this.o.queue.enqueue({ ...e, target });
      }
      if (entries.length) this.o.logger.warn({ worker_id: w.workerId, jobs: entries.length }, 'worker is gone: the jobs waiting in its own queue were placed again');
    }
  }

  /**
   * The registrations placement chooses from. Read once per CANDIDATES_TTL_MS at most: every
   * submit places its job, and reading and parsing every registration per submit was a tenth of
   * POST /jobs. Liveness is still judged at the moment of placement.
   */
  private async candidates(fresh = false): Promise<WorkerRecord[]> {
    const now = this.now();
    if (fresh || !this.registrations || now - this.registrations.at > CANDIDATES_TTL_MS || now < this.registrations.at) {
      const read = this.o.store.workers();
      this.registrations = { at: now, read };
      read.catch(() => {
        if (this.registrations?.read === read) this.registrations = undefined;
      });
    }
    const all = await this.registrations.read;
    return this.o.shared ? all : all.filter((w) => w.workerId === this.o.workerId);
  }

  private async swap(jobId: string, from: HoldKind, to: Hold | null): Promise<boolean> {
    const won = await this.o.store.swapHold(jobId, from, to, randomUUID());
    if (won) this.o.logger.info({ job_id: jobId, from, to: to?.kind ?? 'released' }, to ? 'held job now waits for capacity' : 'held job released');
    return won;
  }

  private async parentsOf(job: JobDocument): Promise<Map<string, JobRecord | undefined>> {
    const ids = job.execution.depends_on ?? [];
    const recs = await Promise.all(ids.map((id) => this.o.store.get(id)));
    return new Map(ids.map((id, i) => [id, recs[i]]));
  }
}

function entryOf(rec: JobRecord): QueueEntry {
  return { job: rec.job, source: rec.source ?? undefined };
}
