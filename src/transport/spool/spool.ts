import {
  accessSync,
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  linkSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  watch,
  type FSWatcher,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
  type ProgressEvent,
} from '../../protocol/index.js';
import type { ClaimedJob, Executor, JobOffer } from '../../worker/executor.js';
import type { Logger } from '../../worker/logger.js';
import type { WorkerMetrics } from '../../worker/metrics.js';
import { SpoolLayout } from './layout.js';

export interface SpoolOptions {
  jobsDir: string;
  resultsDir: string;
  workerId: string;
  executor: Executor;
  logger: Logger;
  metrics: WorkerMetrics;
  /** Fallback scan interval (fs.watch misses events on network filesystems). */
  pollIntervalMs?: number;
  /** A file that does not parse as JSON is given this long without changing before it is refused. */
  settleMs?: number;
  /** Parsed-but-waiting jobs kept in memory; beyond it files wait in the folder unread. */
  maxQueued?: number;
  /** Whether the worker whose claimed folder has this name is dead (stale heartbeat); enables adoption. */
  isWorkerDead?: (claimedDirName: string) => boolean;
  /** fsync result files (slower; default off, like synchronous=NORMAL). */
  durableResults?: boolean;
  /**
   * How many claimed jobs this worker may hold waiting (asked at every scan). Alone on a
   * spool it takes a whole backlog (which then runs in priority order); with peers it
   * takes a few slots' worth, so idle peers find work. Default: maxQueued.
   */
  claimAhead?: () => number;
}

/** A result recorded in the store that could not be written to the results folder yet. */
interface Unpublished {
  /** The claimed job file to archive once written (none for orphans). */
  claim?: SpoolClaim;
  result: JobResult;
  error: string;
}

/** Files in jobs/ this worker looked at and left there: still being written, or routed elsewhere. */
interface Seen {
  state: 'partial' | 'foreign';
  jobId?: string;
  size?: number;
  since?: number;
}

/**
 * The file spool transport (earlier worker's v1). Jobs are claimed by an atomic rename
 * into claimed/<worker>/, so two workers on one folder never run a file twice; results
 * are written tmp + rename. The hot path uses synchronous fs calls: they are a few
 * microseconds each on a local disk, much cheaper than a libuv round trip per call.
 */
export class SpoolTransport {
  readonly layout: SpoolLayout;
  private readonly seen = new Map<string, Seen>();
  private watcher?: FSWatcher;
  private watchedIno?: number;
  private poll?: NodeJS.Timeout;
  /** errno code while the jobs folder cannot be read (logged once per code). */
  private folderError?: string;
  private readonly unpublished = new Map<string, Unpublished>();
  private publishTimer?: NodeJS.Timeout;
  private publishDelayMs = 0;
  /** The last scan stopped at the claim-ahead limit: rescan once the queue has drained. */
  private limitedAt = 0;
  private scanTimer?: NodeJS.Timeout;
  private stopped = true;
  private readonly pollMs: number;
  private readonly settleMs: number;
  private readonly maxQueued: number;

  constructor(private readonly o: SpoolOptions) {
    this.layout = new SpoolLayout(o.jobsDir, o.resultsDir, o.workerId);
    this.pollMs = o.pollIntervalMs ?? 500;
    this.settleMs = o.settleMs ?? 1000;
    this.maxQueued = o.maxQueued ?? 20_000;
  }

  /** Creates the folders, recovers this worker's claims from a previous run, starts watching. */
  start(): void {
    this.layout.ensure();
    this.recover();
    this.stopped = false;
    this.watch();
    this.poll = setInterval(() => this.scan(), this.pollMs);
    this.adoptStale();
    this.scan();
  }

  /** Stops watching and claiming (the executor drains what it holds; unwritten results get one last try). */
  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    if (this.scanTimer) clearTimeout(this.scanTimer);
  }

  /** After the executor drained: a last try at unwritten results (the rest stay claimed for restart recovery). */
  close(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    if (this.unpublished.size) this.retryPublications(false);
    if (this.unpublished.size) {
      this.o.logger.warn({ jobs: [...this.unpublished.keys()] }, 'results still not written at shutdown; the next start writes them from the store');
    }
  }

  /** Readiness: why this transport cannot serve now, or undefined. */
  problem(): string | undefined {
    if (this.folderError) return `jobs folder ${this.o.jobsDir} unreadable (${this.folderError})`;
    if (this.unpublished.size) {
      const first = this.unpublished.values().next().value!;
      return `${this.unpublished.size} result(s) not written to ${this.o.resultsDir}: ${first.error}`;
    }
    try {
      accessSync(this.o.jobsDir, constants.W_OK);
      accessSync(this.o.resultsDir, constants.W_OK);
    } catch (err) {
      return `spool folders not writable: ${String(err)}`;
    }
    return undefined;
  }

  /** The executor freed a slot: when the last scan left files behind, look again once the queue is half empty. */
  slotFree(queued: number): void {
    if (this.limitedAt > 0 && queued <= this.limitedAt / 2) {
      this.limitedAt = 0;
      this.scheduleScan();
    }
  }

  /** Results waiting for the results folder to take them. */
  get unpublishedCount(): number {
    return this.unpublished.size;
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

  /** One pass over jobs/: new files are parsed and offered, vanished ones withdrawn, cancels applied. */
  scan(): void {
    if (this.stopped) return;
    try {
      this.scanOnce();
    } catch (err) {
      // never let a scan (run from timers and the watcher) take the worker down
      this.o.logger.error({ err: String((err as Error)?.stack ?? err) }, 'spool scan failed; retried at the next poll');
    }
  }

  private scanOnce(): void {
    let entries;
    try {
      entries = readdirSync(this.o.jobsDir, { withFileTypes: true });
    } catch (err) {
      this.folderFailed(err as NodeJS.ErrnoException);
      return;
    }
    if (this.folderError) {
      this.o.logger.info({ jobs_dir: this.o.jobsDir }, 'jobs folder readable again');
      this.folderError = undefined;
    }
    if (!this.watcher || statSafe(this.o.jobsDir)?.ino !== this.watchedIno) this.watch();
    const present = new Set<string>();
    const cancels: string[] = [];
    const offers: JobOffer[] = [];
    const batchIds = new Set<string>();
    const now = Date.now();
    const limit = Math.min(this.maxQueued, this.o.claimAhead?.() ?? this.maxQueued);
    this.limitedAt = 0;
    // workers sharing the folder start at different places: fewer lost claim races
    const start = entries.length > 1 ? Math.floor(Math.random() * entries.length) : 0;
    for (let i = 0; i < entries.length; i++) {
      const d = entries[(start + i) % entries.length]!;
      const name = d.name;
      if (name.startsWith('.') || name.endsWith('.tmp')) continue;
      if (name.endsWith('.cancel')) {
        if (d.isFile()) cancels.push(name);
        continue;
      }
      if (!name.endsWith('.json') || !d.isFile()) continue;
      present.add(name);
      const s = this.seen.get(name);
      if (s && s.state !== 'partial') continue;
      // no claims while the store fails (nothing could start) or the queue is full
      if (!this.o.executor.storeAvailable) continue;
      if (this.o.executor.queued + offers.length >= limit) {
        this.limitedAt = limit;
        continue;
      }
      let offer: JobOffer | undefined;
      try {
        offer = this.consider(name, s, now, batchIds);
      } catch (err) {
        // one file must not cost the offers already claimed in this scan
        this.o.logger.error({ file: name, err: String((err as Error)?.stack ?? err) }, 'could not consider job file');
      }
      if (offer) {
        offers.push(offer);
        batchIds.add(offer.job.job_id);
      }
    }
    // cancels first: a job and its cancel seen in the same scan is cancelled, never started
    if (offers.length) this.o.executor.offerMany(offers, { dispatch: false });
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);
    for (const c of cancels) {
      try {
        this.applyCancel(c);
      } catch (err) {
        this.o.logger.error({ file: c, err: String(err) }, 'cancel request failed; retried at the next scan');
      }
    }
    this.o.executor.kick();
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
   * may still append by path). Returns the offer to make, or undefined when answered.
   */
  private consider(name: string, s: Seen | undefined, now: number, batch: ReadonlySet<string>): JobOffer | undefined {
    let text: string;
    let size: number;
    let ino: number;
    try {
      const fd = openSync(this.layout.incoming(name), 'r');
      try {
        const st = fstatSync(fd);
        size = st.size;
        ino = st.ino;
        if (size > MAX_JOB_TEXT_BYTES) {
          const claim = this.claim(name, ino, size);
          if (claim) this.refuse(claim, undefined, new GuestkitError('VALIDATION_ERROR', `job file is ${size} bytes; the limit is ${MAX_JOB_TEXT_BYTES}`, { phase: 'validation' }), 'too_large');
          return;
        }
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.o.logger.warn({ file: name, err: String(err) }, 'cannot read job file');
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
      return this.admitClaimed(claim, doc, batch);
    } catch (err) {
      // a claimed file always gets an answer, even when checking it failed unexpectedly
      this.refuse(claim, doc, new GuestkitError('VALIDATION_ERROR', `job file ${name} could not be checked: ${(err as Error)?.message ?? String(err)}`, { phase: 'validation', details: { file: name } }), 'invalid');
      return undefined;
    }
  }

  /** Validation and routing of a file this worker claimed. */
  private admitClaimed(claim: SpoolClaim, doc: unknown, batch: ReadonlySet<string>): JobOffer | undefined {
    const name = claim.source;
    const v = validateJob(doc);
    if (!v.ok || !v.job) {
      this.refuse(claim, doc, validationError(v.errors, `invalid job document ${name}`), 'invalid');
      return;
    }
    const job = v.job;
    if (v.warnings.length) this.o.logger.warn({ file: name, job_id: job.job_id, warnings: v.warnings }, 'job document warnings');
    const routed = this.o.executor.routedHere(job);
    if (!routed.ok) {
      if (claim.giveBack()) this.seen.set(name, { state: 'foreign', jobId: job.job_id });
      this.o.logger.info({ file: name, job_id: job.job_id, why: routed.why }, 'job is routed to another worker or pool; left in the spool');
      return;
    }
    if (this.o.executor.knows(job.job_id) || batch.has(job.job_id)) {
      // the same job id already waits or runs here: a second file for it is a duplicate
      claim.duplicate(`job_id ${job.job_id} is already queued or running on this worker`);
      return;
    }
    return { job, held: claim, claim: () => claim };
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
        claim.giveBack();
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
  private heldName(name: string): string {
    if (!existsSync(this.layout.claimed(name))) return name;
    for (let i = 1; i < 1000; i++) if (!existsSync(this.layout.claimed(`${name}~${i}`))) return `${name}~${i}`;
    return `${name}~${Date.now()}`;
  }

  /** A claimed file that is not a runnable job: its failed result is written and it moves to failed/. */
  private refuse(claim: SpoolClaim, doc: unknown, err: GuestkitError, reason: string): void {
    const name = claim.source;
    const jobId = jobIdFor(doc, name);
    if (this.o.executor.knows(jobId) || existsSync(this.layout.resultPath(jobId))) {
      // a broken file must not overwrite the result of the job whose id it carries
      this.o.metrics.spoolRejected.inc({ reason: 'duplicate_job_id' });
      this.o.logger.warn({ file: name, job_id: jobId, reason, error: err.message }, 'refused job file names a job id that already has a result or is running; archived as duplicate');
      claim.duplicate(`refused (${reason}) and job_id ${jobId} is taken`);
      return;
    }
    const result = failedResult({
      job: { job_id: jobId, execution: { ...EXECUTION_DEFAULTS }, observability: observabilityOf(doc) },
      workerId: this.o.workerId,
      startedAt: new Date(),
      error: err,
    });
    (result as Record<string, unknown>).source_file = name;
    this.o.metrics.spoolRejected.inc({ reason });
    this.o.metrics.jobs.inc({ operation: operationOf(doc), status: 'failed' });
    this.o.logger.warn({ file: name, job_id: jobId, reason, error: err.message }, 'job file refused');
    claim.finish(result as JobResult);
  }

  private applyCancel(name: string): void {
    const jobId = name.slice(0, -'.cancel'.length);
    const path = this.layout.incoming(name);
    if (jobIdProblems(jobId).length > 0) {
      this.o.logger.warn({ file: name, problems: jobIdProblems(jobId) }, 'cancel request does not name a valid job id; removed');
      unlinkQuiet(path);
      return;
    }
    const out = this.o.executor.cancel(jobId, cancelReason(path) ?? `cancel requested by ${name}`);
    if (out === 'cancelled' || out === 'cancelling' || out === 'refused') {
      if (out === 'refused') this.o.logger.warn({ job_id: jobId }, 'cancel refused: the job is not cancellable');
      unlinkQuiet(path);
      return;
    }
    // unknown here: another worker's job, or one that already ended (then the request is stale)
    if (existsSync(this.layout.resultPath(jobId)) && ![...this.seen.values()].some((s) => s.jobId === jobId)) unlinkQuiet(path);
  }

  /** Start-up: every file left in claimed/<this worker>/ is resolved against the store. */
  private recover(): void {
    const names = listFiles(this.layout.claimedDir);
    const recovered = new Set<string>();
    for (const name of names) recovered.add(this.recoverOne(name));
    for (const result of this.o.executor.failOrphans(recovered)) this.publish(undefined, result);
    if (names.length) this.o.logger.info({ files: names.length }, 'recovered claims of a previous run');
  }

  /** One claimed file of a dead run: given back, finished WORKER_LOST, or archived. Returns its job id. */
  private recoverOne(held: string): string {
    let job: JobDocument | null = null;
    let doc: unknown;
    const name = held.replace(/~\d+$/, '');
    try {
      doc = JSON.parse(readFileSync(this.layout.claimed(held), 'utf8'));
      job = validateJob(doc).job ?? null;
    } catch {
      job = null;
    }
    const jobId = job?.job_id ?? jobIdFor(doc, name);
    const claim = new SpoolClaim(this, name, held);
    if (!job) {
      // refused before the crash, or garbage: the scan answers it again
      claim.giveBack();
      return jobId;
    }
    const act = this.o.executor.recover(job, jobId);
    if (act.action === 'release') claim.release();
    else if (act.result) claim.finish(act.result);
    else this.archiveClaimed(claim, 'failed');
    return jobId;
  }

  /**
   * Claims of other workers that stopped heartbeating (per the shared store) are taken
   * over by renaming them into our claimed folder (atomic: one adopter per file) and
   * recovered like our own: re-queued with attempt + 1, or WORKER_LOST.
   */
  adoptStale(): void {
    const isDead = this.o.isWorkerDead;
    if (!isDead || this.stopped) return;
    const base = dirname(this.layout.claimedDir);
    const mine = basename(this.layout.claimedDir);
    for (const dir of listFiles(base)) {
      if (dir === mine) continue;
      const files = listFiles(join(base, dir));
      if (files.length === 0 || !isDead(dir)) continue;
      let n = 0;
      for (const f of files) {
        const held = this.heldName(f);
        try {
          renameSync(join(base, dir, f), this.layout.claimed(held));
        } catch {
          continue; // another worker adopted it first
        }
        try {
          this.recoverOne(held);
        } catch (err) {
          // e.g. the store is failing: the file stays in our claimed folder for our own recovery
          this.o.logger.error({ file: f, dead_worker: dir, err: String(err) }, 'could not recover an adopted claim; kept for restart recovery');
        }
        n++;
      }
      if (n) this.o.logger.warn({ dead_worker: dir, files: n }, 'adopted the claims of a worker that stopped heartbeating');
    }
  }


  /**
   * Writes a result and archives its job file. A results folder that fails (full, gone,
   * the name taken by a folder) keeps the result in memory and the job file in claimed/;
   * writing is retried with back-off and readiness reports it meanwhile.
   */
  publish(claim: SpoolClaim | undefined, result: JobResult): void {
    try {
      this.writeResult(result);
    } catch (err) {
      const first = this.unpublished.size === 0;
      this.unpublished.set(result.job_id, { claim, result, error: String(err) });
      this.o.metrics.unpublished.set(this.unpublished.size);
      this.o.logger[first ? 'error' : 'warn']({ job_id: result.job_id, file: claim?.source, err: String(err) }, 'could not write the result; kept and retried (the job file stays claimed)');
      if (first) this.publishDelayMs = 100;
      this.schedulePublishRetry();
      return;
    }
    if (claim) this.archiveClaimed(claim, result.status === 'completed' ? 'done' : 'failed');
  }

  /** A results folder removed at run time is created again (once per failure, not in a loop). */
  private writeResult(result: JobResult): void {
    try {
      this.layout.writeResult(result.job_id, result, this.o.durableResults);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(this.o.resultsDir) || !this.recreateFolders('results folder')) throw err;
      this.layout.writeResult(result.job_id, result, this.o.durableResults);
    }
  }

  /** Recreates the spool's folders after one was removed; false when that fails too. */
  private recreateFolders(what: string): boolean {
    try {
      this.layout.ensure();
    } catch {
      return false;
    }
    this.o.logger.warn({ jobs_dir: this.o.jobsDir, results_dir: this.o.resultsDir }, `the ${what} was missing and was created again`);
    return true;
  }

  /** @internal Moves a claimed file to done/ or failed/ under its original name. */
  archiveClaimed(claim: SpoolClaim, to: 'done' | 'failed', suffix = ''): void {
    try {
      this.layout.archive(claim.held, to, suffix, claim.source);
    } catch (err) {
      // the result is out; a claimed file someone removed by hand is no reason to fail
      this.o.logger.warn({ file: claim.source, err: String(err) }, 'could not archive the job file');
    }
  }

  /**
   * @internal Puts a claimed file back into jobs/ under its name. A link, not a rename:
   * a newer file dropped under the same name meanwhile is never overwritten (then the
   * claimed one stays for restart recovery). Returns whether it went back.
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
    return true;
  }

  private schedulePublishRetry(): void {
    if (this.publishTimer) return;
    const delay = this.publishDelayMs;
    this.publishDelayMs = Math.min(delay * 2, 30_000);
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.retryPublications(true);
    }, delay);
    this.publishTimer.unref();
  }

  private retryPublications(reschedule: boolean): void {
    for (const [id, u] of [...this.unpublished]) {
      try {
        this.writeResult(u.result);
      } catch (err) {
        u.error = String(err);
        continue;
      }
      this.unpublished.delete(id);
      if (u.claim) this.archiveClaimed(u.claim, u.result.status === 'completed' ? 'done' : 'failed');
    }
    this.o.metrics.unpublished.set(this.unpublished.size);
    if (this.unpublished.size === 0) {
      this.o.logger.info({ results_dir: this.o.resultsDir }, 'results folder writable again; pending results written');
      return;
    }
    if (reschedule) this.schedulePublishRetry();
  }

  /** @internal */
  get options(): SpoolOptions {
    return this.o;
  }
}

class SpoolClaim implements ClaimedJob {
  private pending = '';
  private pendingJob = '';
  private flushScheduled = false;
  private eventWriteFailed = false;

  /**
   * @param source the file's name in jobs/ (recorded with the job, used for archives)
   * @param held its name in claimed/<worker>/ (the same unless that name was taken)
   */
  constructor(
    private readonly t: SpoolTransport,
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
    this.pending = '';
    try {
      appendFileSync(this.t.layout.eventsPath(this.pendingJob), text);
    } catch (err) {
      // events are also in the store; say so once per job, not per line
      if (!this.eventWriteFailed) this.t.options.logger.warn({ file: this.source, err: String(err) }, 'could not write progress events');
      this.eventWriteFailed = true;
    }
  }

  finish(result: JobResult): void {
    this.flush();
    this.t.publish(this, result);
  }

  release(): void {
    this.flush();
    this.t.giveBack(this);
  }

  /** Back into jobs/ unread by this worker (routed elsewhere, or not the file that was read). */
  giveBack(): boolean {
    return this.t.giveBack(this);
  }

  duplicate(reason: string): void {
    this.t.options.logger.debug({ file: this.source, reason }, 'duplicate archived');
    this.t.archiveClaimed(this, 'failed', '.duplicate');
  }
}

/** A cancel file may hold `{"reason": "..."}`; anything else (empty, text, bad JSON) is just a cancel. */
function cancelReason(path: string): string | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(1024);
      const n = readSync(fd, buf, 0, buf.length, 0);
      if (n === 0 || n === buf.length) return undefined;
      const doc = JSON.parse(buf.subarray(0, n).toString('utf8')) as unknown;
      const reason = isObj(doc) ? doc.reason : undefined;
      return typeof reason === 'string' && reason.trim() !== '' ? reason.slice(0, 500) : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

function statSafe(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function unlinkQuiet(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* already gone */
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The document's job_id when usable as a file name, else the file name without .json. */
function jobIdFor(doc: unknown, file: string): string {
  const id = isObj(doc) ? doc.job_id : undefined;
  if (typeof id === 'string' && jobIdProblems(id).length === 0) return id;
  return file.replace(/\.json$/, '');
}

function operationOf(doc: unknown): string {
  return isObj(doc) && typeof doc.operation === 'string' && doc.operation.length < 100 ? doc.operation : 'unknown';
}

function observabilityOf(doc: unknown): { trace_id?: string | null; span_id?: string | null } | undefined {
  const o = isObj(doc) ? doc.observability : undefined;
  if (!isObj(o)) return undefined;
  return { trace_id: typeof o.trace_id === 'string' ? o.trace_id : undefined, span_id: typeof o.span_id === 'string' ? o.span_id : undefined };
}
