import { accessSync, closeSync, constants, existsSync, fstatSync, linkSync, lstatSync, openSync, opendirSync, readSync, renameSync, statSync, watch, type Dir, type Dirent, type FSWatcher } from 'node:fs';
import type { Logger } from '../../observability/logger.js';
import type { WorkerMetrics } from '../../observability/metrics.js';
import {
  EXECUTION_DEFAULTS,
  failedResult,
  GuestkitError,
  jobIdProblems,
  MAX_JOB_TEXT_BYTES,
  validateJob,
  validationError,
  type JobDocument,
  type JobResult,
} from '../../protocol/index.js';
import { duplicateReason, isStoreUnavailable } from '../../ports/job-store.js';
import type { Intake, IntakeSink } from '../../ports/intake.js';
import { SpoolClaim, type ClaimHost } from './claim.js';
import { endsWithCancel, endsWithJson, JOB_OPEN_FLAGS, nameProblem, quarantineName, rawPath, shownName, specialKind } from './entries.js';
import { cancelReason, jobIdFor, observabilityOf, operationOf, statSafe, unlinkQuiet } from './files.js';
import { FolderGuard } from './folder-guard.js';
import { SpoolLayout, type ResultWriter } from './layout.js';
import { ResultPublisher } from './publisher.js';
import { adoptStale, recoverClaims } from './recovery.js';

export interface SpoolOptions {
  jobsDir: string;
  resultsDir: string;
  sink: IntakeSink;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Fallback scan interval (fs.watch misses events on network filesystems). */
  pollIntervalMs?: number;
  /** A file that does not parse as JSON is given this long without changing before it is refused. */
  settleMs?: number;
  /** Parsed-but-waiting jobs kept in memory; beyond it files wait in the folder unread. */
  maxQueued?: number;
  /** fsync result files (slower; default off, like synchronous=NORMAL). */
  durableResults?: boolean;
  /** Adopt the claims of workers whose heartbeat went stale (workers sharing a store). */
  adoptStale?: boolean;
  /** The worker's concurrency (claim-ahead sizing while peers share the spool). */
  slots?: number;
  /** ms a job file waits for its parents' files (default PARENT_GRACE_MS). */
  parentGraceMs?: number;
  /**
   * Entries of jobs/ listed per scan (default GUESTKIT_SPOOL_LIST_BATCH or 4096): a folder of
   * 100,000 files is walked in slices, one open listing cursor carried from scan to scan.
   */
  listBatch?: number;
  /** How result files are written (a seam for tests: ENOSPC, EROFS). */
  resultWriter?: ResultWriter;
}


/** How long a job file waits for the files of its parents (execution.depends_on) before it is refused. */
export const PARENT_GRACE_MS = 60_000;

/** Files in jobs/ this worker looked at and left there: still being written, or routed elsewhere. */
interface Seen {
  state: 'partial' | 'foreign' | 'linked';
  jobId?: string;
  size?: number;
  since?: number;
}

/** A job file claimed in this scan, on its way to the store. */
interface Claimed {
  claim: SpoolClaim;
  job: JobDocument;
}

/**
 * The file spool intake (the earlier worker's v1). Jobs are claimed by an atomic rename
 * into claimed/<worker>/, so two workers on one folder never run a file twice; then
 * submitted (durable `pending` in the store) and queued. Results come back as job events
 * and are written tmp + rename. The hot path uses synchronous fs calls: a few
 * microseconds each on a local disk, far cheaper than a libuv round trip per call.
 */
export class SpoolIntake implements Intake, ClaimHost {
  readonly name = 'spool';
  readonly layout: SpoolLayout;
  /** Claimed jobs this intake answers for, by job id. */
  readonly held = new Map<string, SpoolClaim>();
  private readonly seen = new Map<string, Seen>();
  /** Job ids submitted but not yet answered by the store. */
  private readonly submitting = new Set<string>();
  /** Jobs whose parents (execution.depends_on) were not in the store yet: when first seen. */
  private readonly awaitingParents = new Map<string, number>();
  private watcher?: FSWatcher;
  private watchedIno?: number;
  private poll?: NodeJS.Timeout;
  /** errno code while the jobs folder cannot be read (logged once per code). */
  private folderError?: string;
  private readonly publisher: ResultPublisher;
  /** Claims' file writes in flight (events, results, archives). */
  private readonly writing = new Set<Promise<void>>();
  /** The last scan stopped at the claim-ahead limit: rescan once the queue has drained. */
  private limitedAt = 0;
  private scanTimer?: NodeJS.Timeout;
  private scanning = false;
  private rescan = false;
  private stopped = true;
  private readonly pollMs: number;
  private readonly settleMs: number;
  private readonly maxQueued: number;
  private readonly unsubscribe: (() => void)[] = [];
  private peers = { at: 0, n: 0, refreshing: false };
  private readonly listBatch: number;
  /** The listing cursor of the current pass over jobs/ (scans read `listBatch` entries of it each). */
  private cursor?: Dir;
  /** Names of `seen` met in the current pass: the rest are forgotten when the pass ends. */
  private readonly passNames = new Set<string>();
  private readonly jobsGuard: FolderGuard;
  private readonly resultsGuard: FolderGuard;
  /** The swap problem last logged, per folder (logged once). */
  private swapLogged = new Map<string, string>();
  /** The most entries one scan listed (for tests and the flood bench). */
  maxListed = 0;

  constructor(private readonly o: SpoolOptions) {
    this.layout = new SpoolLayout(o.jobsDir, o.resultsDir, o.sink.workerId);
    this.pollMs = o.pollIntervalMs ?? 500;
    this.settleMs = o.settleMs ?? 1000;
    this.maxQueued = o.maxQueued ?? 20_000;
    this.listBatch = Math.max(16, o.listBatch ?? (Number(process.env.GUESTKIT_SPOOL_LIST_BATCH) || 4096));
    this.jobsGuard = new FolderGuard(o.jobsDir, 'jobs folder');
    this.resultsGuard = new FolderGuard(o.resultsDir, 'results folder');
    this.publisher = new ResultPublisher(this.layout, {
      logger: o.logger,
      metrics: o.metrics,
      durable: o.durableResults,
      archive: (c, to) => this.archive(c, to),
      recreateFolders: (what) => this.recreateFolders(what),
      folderProblem: () => this.swapped(this.resultsGuard),
      writer: o.resultWriter,
    });
  }

  get logger(): Logger {
    return this.o.logger;
  }

  get sink(): IntakeSink {
    return this.o.sink;
  }

  /** Creates the folders, recovers this worker's claims from a previous run, starts watching. */
  async start(): Promise<void> {
    this.layout.ensure();
    this.jobsGuard.pin();
    this.resultsGuard.pin();
    this.listen();
    await recoverClaims(this);
    this.stopped = false;
    this.watch();
    this.poll = setInterval(() => this.scan(), this.pollMs);
    if (this.o.adoptStale) await adoptStale(this);
    this.scan();
  }

  /** Stops watching and claiming (the worker drains what it holds). */
  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.closeCursor();
  }

  /** After the worker drained: the writes in flight end, then a last try at unwritten results. */
  async close(): Promise<void> {
    await this.flushed();
    await this.publisher.close();
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** Heartbeat tick: claims of workers that died are taken over. */
  async tick(): Promise<void> {
    if (this.o.adoptStale && !this.stopped) await adoptStale(this);
  }

  problem(): string | undefined {
    const swapped = this.swapLogged.get(this.jobsGuard.what) ?? this.swapLogged.get(this.resultsGuard.what);
    if (swapped) return swapped;
    if (this.folderError) return `jobs folder ${this.o.jobsDir} unreadable (${this.folderError})`;
    if (this.publisher.count) return `${this.publisher.count} result(s) not written to ${this.o.resultsDir}: ${this.publisher.firstError}`;
    try {
      accessSync(this.o.jobsDir, constants.W_OK);
      accessSync(this.o.resultsDir, constants.W_OK);
    } catch (err) {
      return `spool folders not writable: ${String(err)}`;
    }
    return undefined;
  }

  /** Results waiting for the results folder to take them. */
  get unpublishedCount(): number {
    return this.publisher.count;
  }

  /** Progress lines, results, give-backs and duplicates of the jobs this spool holds. */
  private listen(): void {
    const ev = this.o.sink.events;
    this.unsubscribe.push(
      ev.on('progress', ({ event }) => this.held.get(event.job_id)?.event(event)),
      ev.on('finished', ({ job, result, partial }) => {
        const c = this.held.get(job.job_id);
        if (c) {
          this.held.delete(job.job_id);
          if (partial) this.finishFromStore(c, job.job_id, result);
          else c.finish(result);
        }
        // the last scan left files behind: look again once the queue is half empty
        if (this.limitedAt > 0 && this.o.sink.queued <= this.limitedAt / 2) {
          this.limitedAt = 0;
          this.scheduleScan();
        }
      }),
      ev.on('released', ({ job }) => {
        const c = this.held.get(job.job_id);
        if (c) {
          this.held.delete(job.job_id);
          c.release();
        }
      }),
      ev.on('duplicate', ({ job }) => {
        const c = this.held.get(job.job_id);
        if (c) {
          this.held.delete(job.job_id);
          this.o.metrics.spoolRejected.inc({ reason: 'duplicate_job_id' });
          c.duplicate();
        }
      }),
    );
  }

  /** A job that ended in another process: its result file gets the whole result, read from the store. */
  private finishFromStore(c: SpoolClaim, jobId: string, partial: JobResult): void {
    const read = this.o.sink.result(jobId).then(
      (whole) => c.finish(whole ?? partial),
      (err: unknown) => {
        // the store is away: the partial result (status, error, metrics) is better than none
        this.o.logger.warn({ job_id: jobId, err: String(err) }, 'could not read the whole result from the store; the result file lacks its data');
        c.finish(partial);
      },
    );
    this.track(read);
  }

  /** (Re)watches jobs/: at start, after a watcher error, and when the folder was replaced. */
  private watch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedIno = undefined;
    try {
      const w = watch(this.o.jobsDir, { persistent: false }, () => this.scheduleScan());
      w.on('error', (err) => {
        // a dead watcher is replaced at the next successful scan; polling covers the gap
        this.o.logger.warn({ err: String(err) }, 'fs.watch failed; polling until the jobs folder can be watched again');
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
      this.watchedIno = statSync(this.o.jobsDir).ino;
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, 'fs.watch unavailable; polling only');
      // the folder vanished between listing and watching: the next scan recreates it
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.scheduleLater();
    }
  }

  private scheduleScan(): void {
    if (this.stopped || this.scanTimer) return;
    // coalesce bursts of watch events (1,000 files dropped at once = one or a few scans)
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      this.scan();
    }, 5);
  }

  /** One pass over jobs/: new files are claimed and submitted, cancels applied. One at a time. */
  scan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    this.scanOnce()
      .catch((err: unknown) => {
        // never let a scan (run from timers and the watcher) take the worker down
        this.o.logger.error({ err: String((err as Error)?.stack ?? err) }, 'spool scan failed; retried at the next poll');
      })
      .finally(() => {
        this.scanning = false;
        if (this.rescan) {
          this.rescan = false;
          this.scheduleScan();
        }
      });
  }

  private async scanOnce(): Promise<void> {
    if (this.swapped(this.jobsGuard)) {
      this.closeCursor();
      return;
    }
    const slice = this.listSlice();
    if (!slice) return;
    const { entries, whole } = slice;
    if (this.folderError) {
      this.o.logger.info({ jobs_dir: this.o.jobsDir }, 'jobs folder readable again');
      this.folderError = undefined;
    }
    if (!this.watcher || statSafe(this.o.jobsDir)?.ino !== this.watchedIno) this.watch();
    const cancels = new Map<string, string>();
    const claimed: Claimed[] = [];
    const batchIds = new Set<string>();
    const now = Date.now();
    const limit = Math.min(this.maxQueued, this.claimAhead());
    this.limitedAt = 0;
    const names: (string | undefined)[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const d = entries[i]!;
      const raw = d.name;
      if (raw[0] === 0x2e) continue; // dotfiles: a submitter's temporary file
      const job = endsWithJson(raw);
      const cancel = !job && endsWithCancel(raw);
      if (!job && !cancel) continue;
      const bad = nameProblem(raw);
      if (bad) {
        this.refuseBadName(raw, bad, cancel);
        continue;
      }
      const name = raw.toString('utf8');
      if (cancel) {
        if (d.isFile()) cancels.set(name.slice(0, -'.cancel'.length), name);
        continue;
      }
      names[i] = name;
    }
    // workers sharing the folder start at different places: fewer lost claim races
    const start = entries.length > 1 ? Math.floor(Math.random() * entries.length) : 0;
    for (let i = 0; i < entries.length; i++) {
      const k = (start + i) % entries.length;
      const name = names[k];
      if (name === undefined || name.endsWith('.tmp')) continue;
      const d = entries[k]!;
      const special = specialKind(d);
      if (special === 'a directory') continue; // a folder is no job file; left alone
      if (special) {
        // never opened: a FIFO would block, a device could act, a link would be followed
        this.refuseSpecial(name, `is ${special}`, 'not_regular', special);
        continue;
      }
      const s = this.seen.get(name);
      if (s) this.passNames.add(name);
      if (s && s.state === 'foreign') continue;
      // no claims while the store fails (nothing could start) or the queue is full
      if (!this.o.sink.accepting) continue;
      if (this.o.sink.queued + this.submitting.size + claimed.length >= limit) {
        this.limitedAt = limit;
        continue;
      }
      try {
        const c = this.consider(name, s, now, batchIds);
        if (c) {
          claimed.push(c);
          batchIds.add(c.job.job_id);
        }
      } catch (err) {
        // one file must not cost the claims already made in this scan
        this.o.logger.error({ file: name, err: String((err as Error)?.stack ?? err) }, 'could not consider job file');
      }
      if (this.seen.has(name)) this.passNames.add(name);
    }
    if (this.limitedAt > 0) {
      // the rest of this pass is read again once the queue drained, from the start
      this.closeCursor();
    } else if (!this.cursor) {
      // a pass ended: what was not met in it is gone
      for (const name of this.seen.keys()) if (!this.passNames.has(name)) this.seen.delete(name);
      this.passNames.clear();
    } else {
      this.scheduleScan(); // more of the folder to list
    }
    // a cancel listed in another slice than its job: looked up by name
    if (!whole) for (const c of claimed) if (!cancels.has(c.job.job_id) && existsSync(this.layout.incoming(`${c.job.job_id}.cancel`))) cancels.set(c.job.job_id, `${c.job.job_id}.cancel`);
    // a job and its cancel seen in the same scan is cancelled, never started
    await Promise.all(claimed.map((c) => this.submit(c, cancels)));
    for (const [jobId, file] of cancels) {
      try {
        this.applyCancel(jobId, file);
      } catch (err) {
        this.o.logger.error({ file, err: String(err) }, 'cancel request failed; retried at the next scan');
      }
    }
  }

  /** The claimed job goes to the store (durable `pending`), then the queue; on failure the file goes back. */
  private async submit(c: Claimed, cancels: Map<string, string>): Promise<void> {
    const id = c.job.job_id;
    // a cancel seen with its job goes with it: the job cannot start before it is applied
    const cancelFile = cancels.get(id);
    const cancel = cancelFile ? (cancelReason(this.layout.incoming(cancelFile)) ?? `cancel requested by ${cancelFile}`) : undefined;
    this.submitting.add(id);
    this.held.set(id, c.claim);
    try {
      const out = await this.o.sink.submit(c.job, { source: c.claim.source, owner: this.o.sink.workerId, ...(cancel !== undefined ? { cancel } : {}) });
      this.awaitingParents.delete(id);
      if (out.kind === 'duplicate') {
        this.held.delete(id);
        const why = duplicateReason(id, out.state);
        this.o.logger.warn({ job_id: id, file: c.claim.source, existing_status: out.state.status }, why);
        this.o.metrics.spoolRejected.inc({ reason: 'duplicate_job_id' });
        c.claim.duplicate();
        return;
      }
      if (cancelFile) {
        cancels.delete(id);
        if (!c.job.execution.cancellable) this.o.logger.warn({ job_id: id }, 'cancel refused: the job is not cancellable');
        unlinkQuiet(this.layout.incoming(cancelFile));
      }
    } catch (err) {
      this.held.delete(id);
      if (err instanceof GuestkitError && err.details?.unknown_parents) {
        // parent files may come in later, or in this very scan: waited for, then refused
        const first = this.awaitingParents.get(id) ?? Date.now();
        this.awaitingParents.set(id, first);
        if (Date.now() - first < (this.o.parentGraceMs ?? PARENT_GRACE_MS)) {
          c.claim.release();
          return;
        }
        this.awaitingParents.delete(id);
        this.refuse(c.claim, c.job, err, 'unknown_parent');
        return;
      }
      if (err instanceof GuestkitError && !isStoreUnavailable(err)) {
        // a job the pipeline will never accept (not a passing fault): answered, not retried
        this.refuse(c.claim, c.job, err, 'refused');
        return;
      }
      if (!isStoreUnavailable(err)) this.o.logger.error({ job_id: id, file: c.claim.source, err: String(err) }, 'could not submit the job; it goes back to the spool');
      // not accepted: back into jobs/ for the next scan (or another worker)
      c.claim.release();
    } finally {
      this.submitting.delete(id);
    }
  }

  /** Alone on a spool: claim a whole backlog; with live peers about a second of work. */
  private claimAhead(): number {
    const now = Date.now();
    if (now - this.peers.at > 1000 && !this.peers.refreshing) {
      this.peers.refreshing = true;
      this.o.sink.livePeers().then(
        (n) => (this.peers = { at: Date.now(), n, refreshing: false }),
        () => (this.peers = { ...this.peers, at: Date.now(), refreshing: false }),
      );
    }
    // fast jobs keep rescans rare, slow ones are left for idle peers
    return this.peers.n > 0 ? Math.max(16, (this.o.slots ?? 1) * 8, Math.ceil(this.o.sink.recentRate)) : this.maxQueued;
  }

  /**
   * The next slice of the current pass over jobs/ (at most `listBatch` entries, raw names):
   * listing cost and memory per scan stay bounded however many files were dropped.
   * `whole`: the slice is the whole folder (the pass began and ended in it).
   */
  private listSlice(): { entries: RawDirent[]; whole: boolean } | undefined {
    let fresh = false;
    if (!this.cursor) {
      try {
        this.cursor = opendirSync(this.o.jobsDir, { encoding: 'buffer', bufferSize: 256 } as unknown as Parameters<typeof opendirSync>[1]);
      } catch (err) {
        this.folderFailed(err as NodeJS.ErrnoException);
        return undefined;
      }
      fresh = true;
    }
    const entries: RawDirent[] = [];
    try {
      while (entries.length < this.listBatch) {
        const d = this.cursor!.readSync() as unknown as RawDirent | null;
        if (!d) {
          this.closeCursor(false);
          break;
        }
        entries.push(d);
      }
    } catch (err) {
      this.closeCursor();
      this.folderFailed(err as NodeJS.ErrnoException);
      return undefined;
    }
    if (entries.length > this.maxListed) this.maxListed = entries.length;
    return { entries, whole: fresh && !this.cursor };
  }

  /** Ends the current pass (`reset`: before its end, so what it met so far counts for nothing). */
  private closeCursor(reset = true): void {
    const c = this.cursor;
    this.cursor = undefined;
    if (reset) this.passNames.clear();
    try {
      c?.closeSync();
    } catch {
      /* already closed */
    }
  }

  /** A spool folder swapped for a link elsewhere: logged once when seen and once when restored. */
  private swapped(g: FolderGuard): string | undefined {
    const why = g.problem();
    const before = this.swapLogged.get(g.what);
    if (why && why !== before) {
      this.swapLogged.set(g.what, why);
      const doing = g === this.jobsGuard ? 'no job files are read or claimed' : 'results and events are held (kept in the store) and retried';
      this.o.logger.error({ folder: g.path, what: g.what, problem: why }, `spool folder swapped for a link to another place; not followed: ${doing} until it is restored`);
    } else if (!why && before) {
      this.swapLogged.delete(g.what);
      this.o.logger.info({ folder: g.path, what: g.what }, 'spool folder restored; resumed');
    }
    return why;
  }

  /** A *.json or *.cancel whose name has control characters or is not UTF-8: never opened. */
  private refuseBadName(raw: Buffer, problem: string, cancel: boolean): void {
    const shown = shownName(raw);
    const path = rawPath(this.o.jobsDir, raw);
    if (cancel) {
      this.o.logger.warn({ file: shown, file_hex: raw.toString('hex'), problem }, 'cancel file name ' + problem + '; removed');
      unlinkQuiet(path as unknown as string);
      return;
    }
    const safe = quarantineName(raw);
    this.quarantine(path, safe, `job file name ${shown} ${problem}; not read, moved to failed/${safe}`, 'bad_name', { file: shown, file_hex: raw.toString('hex'), problem });
  }

  /** A *.json that is a symlink, FIFO, socket or device (or a hard link): moved out by rename, never opened or read. */
  private refuseSpecial(name: string, what: string, reason: string, kind: string): void {
    const advice = reason === 'hard_link'
      ? 'a job file must have exactly one link (a hard link can expose another file)'
      : 'job files must be regular files (write them beside and rename them in)';
    this.quarantine(this.layout.incoming(name), name, `job file ${name} ${what}; it was not ${reason === 'hard_link' ? 'read' : 'opened or followed'}: ${advice}`, reason, { file: name, file_type: kind });
  }

  /**
   * Moves a jobs/ entry into our claimed folder by rename (the entry itself, whatever it
   * is or points at) under a safe name, then refuses it like any broken job file: a failed
   * result named after the file and the entry in failed/.
   */
  private quarantine(from: string | Buffer, safe: string, message: string, reason: string, details: Record<string, unknown>, retried = false): void {
    const held = this.heldName(safe);
    try {
      renameSync(from, this.layout.claimed(held));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !retried && lexists(from) && this.recreateFolders('claimed folder')) return this.quarantine(from, safe, message, reason, details, true);
      if (code !== 'ENOENT') this.o.logger.warn({ file: details.file, err: String(err) }, 'could not move a refused entry out of the jobs folder');
      return;
    }
    const claim = new SpoolClaim(this, safe, held);
    this.refuse(claim, undefined, new GuestkitError('VALIDATION_ERROR', message, { phase: 'validation', details }), reason);
  }

  /** jobs/ cannot be listed: logged once per cause; a missing folder tree is recreated. */
  private folderFailed(err: NodeJS.ErrnoException): void {
    const code = err.code ?? 'EIO';
    if (this.folderError !== code) {
      this.folderError = code;
      this.o.logger.error({ jobs_dir: this.o.jobsDir, err: String(err) }, 'cannot read the jobs folder; retrying at every poll');
    }
    if (code === 'ENOENT') {
      try {
        this.layout.ensure();
        this.o.logger.warn({ jobs_dir: this.o.jobsDir }, 'the jobs folder was missing and was created again');
        this.watch();
      } catch {
        /* e.g. a parent is not a folder: still failing, still reported by readiness */
      }
    }
  }

  /**
   * Reads one new file and, once it is complete JSON, claims it (atomic rename) before
   * validating it: of several workers on one folder only the winner pays for validation,
   * routing and the answer. Files still being written are never claimed (their writer
   * may still append by path). Returns the claimed job, or undefined when answered.
   */
  private consider(name: string, s: Seen | undefined, now: number, batch: ReadonlySet<string>): Claimed | undefined {
    let text: string;
    let size: number;
    let ino: number;
    try {
      // no symlink followed, no wait on a FIFO put under the name since the listing
      const fd = openSync(this.layout.incoming(name), JOB_OPEN_FLAGS);
      try {
        const st = fstatSync(fd);
        size = st.size;
        ino = st.ino;
        const special = specialKind(st);
        if (special) {
          this.refuseSpecial(name, `is ${special}`, 'not_regular', special);
          return;
        }
        if (st.nlink > 1) {
          // another worker's give-back links for a moment: refused only if it stays linked
          if (s?.state !== 'linked' || now - (s.since ?? now) < this.settleMs) {
            if (s?.state !== 'linked') this.seen.set(name, { state: 'linked', size, since: now });
            this.scheduleLater();
            return;
          }
          this.refuseSpecial(name, `has ${st.nlink} hard links`, 'hard_link', 'hard link');
          return;
        }
        if (size > MAX_JOB_TEXT_BYTES) {
          const claim = this.claim(name, ino, size);
          if (claim) this.refuse(claim, undefined, new GuestkitError('VALIDATION_ERROR', `job file ${name} is ${size} bytes; the limit is ${MAX_JOB_TEXT_BYTES} (not read)`, { phase: 'validation', details: { file: name, size_bytes: size, limit_bytes: MAX_JOB_TEXT_BYTES } }), 'too_large');
          return;
        }
        text = readUpTo(fd, size);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // ELOOP: a symlink put under the name since the listing; ENXIO: a socket
      if (code === 'ELOOP') this.refuseSpecial(name, 'is a symbolic link', 'not_regular', 'a symbolic link');
      else if (code === 'ENXIO') this.refuseSpecial(name, 'is a socket or device without a reader', 'not_regular', 'unopenable');
      else if (code !== 'ENOENT') this.o.logger.warn({ file: name, err: String(err) }, 'cannot read job file');
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (err) {
      // maybe still being written: refuse only once it stopped changing for settleMs
      if (!s || s.size !== size) {
        this.seen.set(name, { state: 'partial', size, since: now });
        this.scheduleLater();
        return;
      }
      if (now - (s.since ?? now) < this.settleMs) {
        this.scheduleLater();
        return;
      }
      const claim = this.claim(name, ino, size);
      if (claim) this.refuse(claim, undefined, new GuestkitError('VALIDATION_ERROR', `job file ${name} is not valid JSON: ${(err as Error).message}`, { phase: 'validation', details: { file: name } }), 'bad_json');
      return;
    }
    const claim = this.claim(name, ino, size);
    if (!claim) return; // another worker was faster
    try {
      return this.checkClaimed(claim, doc, batch);
    } catch (err) {
      // a claimed file always gets an answer, even when checking it failed unexpectedly
      this.refuse(claim, doc, new GuestkitError('VALIDATION_ERROR', `job file ${name} could not be checked: ${(err as Error)?.message ?? String(err)}`, { phase: 'validation', details: { file: name } }), 'invalid');
      return undefined;
    }
  }

  /** Validation and routing of a file this worker claimed. */
  private checkClaimed(claim: SpoolClaim, doc: unknown, batch: ReadonlySet<string>): Claimed | undefined {
    const name = claim.source;
    const v = validateJob(doc);
    if (!v.ok || !v.job) {
      this.refuse(claim, doc, validationError(v.errors, `invalid job document ${name}`), 'invalid');
      return;
    }
    const job = v.job;
    if (v.warnings.length) this.o.logger.warn({ file: name, job_id: job.job_id, warnings: v.warnings }, 'job document warnings');
    const routed = this.o.sink.routedHere(job);
    if (!routed.ok) {
      if (this.giveBack(claim)) this.seen.set(name, { state: 'foreign', jobId: job.job_id });
      this.o.logger.info({ file: name, job_id: job.job_id, why: routed.why }, 'job is routed to another worker or pool; left in the spool');
      return;
    }
    if (this.o.sink.knows(job.job_id) || this.held.has(job.job_id) || batch.has(job.job_id)) {
      // the same job id already waits or runs here: a second file for it is a duplicate
      this.o.logger.debug({ file: name, job_id: job.job_id }, 'duplicate archived');
      this.o.metrics.spoolRejected.inc({ reason: 'duplicate_job_id' });
      claim.duplicate();
      return;
    }
    return { claim, job };
  }

  private scheduleLater(): void {
    if (this.stopped) return;
    setTimeout(() => this.scheduleScan(), Math.min(this.settleMs, this.pollMs) + 5).unref();
  }

  /**
   * Atomic claim: rename into claimed/<worker>/. The file claimed must be the one read
   * (same inode and size): a new file dropped under an old name is given back unread.
   */
  private claim(name: string, ino: number, size: number, retried = false): SpoolClaim | null {
    const from = this.layout.incoming(name);
    const held = this.heldName(name);
    const to = this.layout.claimed(held);
    this.seen.delete(name);
    try {
      renameSync(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // the file is still there but our claimed folder is not (removed by hand): recreate it
      if (code === 'ENOENT' && !retried && existsSync(from) && this.recreateFolders('claimed folder')) return this.claim(name, ino, size, true);
      if (code !== 'ENOENT') this.o.logger.warn({ file: name, err: String(err) }, 'claim failed');
      return null;
    }
    const claim = new SpoolClaim(this, name, held);
    try {
      const st = statSync(to);
      if (st.ino !== ino || st.size !== size) {
        this.giveBack(claim);
        this.scheduleScan();
        return null;
      }
    } catch (err) {
      this.o.logger.warn({ file: name, err: String(err) }, 'claimed file vanished');
      return null;
    }
    return claim;
  }

  /**
   * The name a file takes in our claimed folder: its own, unless a job file of the same
   * name is still held there (a submitter reused the name): then `name~N`. Only this
   * process writes into its claimed folder, so the check cannot race.
   */
  heldName(name: string): string {
    if (!existsSync(this.layout.claimed(name))) return name;
    for (let i = 1; i < 1000; i++) if (!existsSync(this.layout.claimed(`${name}~${i}`))) return `${name}~${i}`;
    return `${name}~${Date.now()}`;
  }

  /** A claimed file that is not a runnable job: its failed result is written and it moves to failed/. */
  private refuse(claim: SpoolClaim, doc: unknown, err: GuestkitError, reason: string): void {
    const name = claim.source;
    const jobId = jobIdFor(doc, name);
    if (this.o.sink.knows(jobId) || this.held.has(jobId) || existsSync(this.layout.resultPath(jobId))) {
      // a broken file must not overwrite the result of the job whose id it carries
      this.o.metrics.spoolRejected.inc({ reason: 'duplicate_job_id' });
      this.o.logger.warn({ file: name, job_id: jobId, reason, error: err.message }, 'refused job file names a job id that already has a result or is running; archived as duplicate');
      claim.duplicate();
      return;
    }
    const result = failedResult({
      job: { job_id: jobId, execution: { ...EXECUTION_DEFAULTS }, observability: observabilityOf(doc) },
      workerId: this.o.sink.workerId,
      startedAt: new Date(),
      error: err,
    });
    (result as Record<string, unknown>).source_file = name;
    this.o.metrics.spoolRejected.inc({ reason });
    this.o.metrics.jobs.inc({ operation: operationOf(doc), status: 'failed' });
    this.o.logger.warn({ file: name, job_id: jobId, reason, error: err.message }, 'job file refused');
    claim.finish(result as JobResult);
  }

  private applyCancel(jobId: string, name: string): void {
    const path = this.layout.incoming(name);
    if (jobIdProblems(jobId).length > 0) {
      this.o.logger.warn({ file: name, problems: jobIdProblems(jobId) }, 'cancel request does not name a valid job id; removed');
      unlinkQuiet(path);
      return;
    }
    if (this.submitting.has(jobId)) return; // answered once the store accepted it
    const out = this.o.sink.cancel(jobId, cancelReason(path) ?? `cancel requested by ${name}`);
    if (out === 'cancelled' || out === 'cancelling' || out === 'refused') {
      if (out === 'refused') this.o.logger.warn({ job_id: jobId }, 'cancel refused: the job is not cancellable');
      unlinkQuiet(path);
      return;
    }
    // unknown here: another worker's job, or one that already ended (then the request is stale)
    if (existsSync(this.layout.resultPath(jobId)) && ![...this.seen.values()].some((s) => s.jobId === jobId)) unlinkQuiet(path);
  }

  // ClaimHost: what a claim asks of its spool

  eventsPath(jobId: string): string {
    const swapped = this.swapped(this.resultsGuard);
    if (swapped) throw new Error(swapped);
    return this.layout.eventsPath(jobId);
  }

  publish(claim: SpoolClaim | undefined, result: JobResult): Promise<void> {
    return this.publisher.publish(claim, result);
  }

  track(writes: Promise<void>): void {
    this.writing.add(writes);
    void writes.finally(() => this.writing.delete(writes));
  }

  /** Until every claim's file writes in flight have ended. */
  async flushed(): Promise<void> {
    while (this.writing.size) await Promise.allSettled([...this.writing]);
  }

  warn(fields: Record<string, unknown>, msg: string): void {
    this.o.logger.warn(fields, msg);
  }

  /** Moves a claimed file to done/ or failed/ under its original name. */
  archive(claim: SpoolClaim, to: 'done' | 'failed', suffix = ''): void {
    try {
      this.layout.archive(claim.held, to, suffix, claim.source);
    } catch (err) {
      // the result is out; a claimed file someone removed by hand is no reason to fail
      this.o.logger.warn({ file: claim.source, err: String(err) }, 'could not archive the job file');
    }
  }

  /**
   * Puts a claimed file back into jobs/ under its name. A link, not a rename: a newer file
   * dropped under the same name meanwhile is never overwritten (then the claimed one
   * stays for restart recovery). Returns whether it went back.
   */
  giveBack(claim: SpoolClaim): boolean {
    const from = this.layout.claimed(claim.held);
    const to = this.layout.incoming(claim.source);
    try {
      linkSync(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        this.o.logger.warn({ file: claim.source }, 'a newer file took the name meanwhile; the job stays claimed until restart recovery');
        return false;
      }
      if (code === 'ENOENT') return false;
      try {
        renameSync(from, to); // filesystems without hard links
        return true;
      } catch (err2) {
        this.o.logger.error({ file: claim.source, err: String(err2) }, 'could not give the job back to the spool');
        return false;
      }
    }
    unlinkQuiet(from);
    this.scheduleScan();
    return true;
  }

  /** Recreates the spool's folders after one was removed; false when that fails too. */
  recreateFolders(what: string): boolean {
    try {
      this.layout.ensure();
    } catch {
      return false;
    }
    this.o.logger.warn({ jobs_dir: this.o.jobsDir, results_dir: this.o.resultsDir }, `the ${what} was missing and was created again`);
    return true;
  }
}

/** A listing entry with its raw name (names need not be UTF-8). */
type RawDirent = Omit<Dirent, 'name'> & { name: Buffer };

/** Reads at most `size` bytes (the fstat size): a file grown since is never read past it. */
function readUpTo(fd: number, size: number): string {
  const buf = Buffer.allocUnsafe(size);
  let n = 0;
  while (n < size) {
    const got = readSync(fd, buf, n, size - n, n);
    if (got === 0) break;
    n += got;
  }
  return buf.toString('utf8', 0, n);
}

function lexists(p: string | Buffer): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
