import { existsSync } from 'node:fs';
import type { Logger } from '../../observability/logger.js';
import type { WorkerMetrics } from '../../observability/metrics.js';
import type { JobResult } from '../../protocol/index.js';
import type { SpoolClaim } from './claim.js';
import type { ResultWriter, SpoolLayout } from './layout.js';

/** A result recorded in the store that could not be written to the results folder yet. */
interface Unpublished {
  /** The claimed job file to archive once written (none for orphans). */
  claim?: SpoolClaim;
  result: JobResult;
  error: string;
}

/**
 * Writes results/<job_id>-result.json and archives the job file. A results folder that
 * fails (full, gone, the name taken by a folder) keeps the result in memory and the job
 * file in claimed/; writing is retried with back-off and readiness reports it meanwhile.
 */
export class ResultPublisher {
  private readonly unpublished = new Map<string, Unpublished>();
  private timer?: NodeJS.Timeout;
  private delayMs = 0;
  /** The retry pass running (or done): the next one starts after it. */
  private retrying: Promise<void> = Promise.resolve();

  constructor(
    private readonly layout: SpoolLayout,
    private readonly o: {
      logger: Logger;
      metrics: WorkerMetrics;
      durable?: boolean;
      archive(claim: SpoolClaim, to: 'done' | 'failed'): void;
      recreateFolders(what: string): boolean;
      /** Why the results folder must not be written now (swapped for a symlink), checked before each write. */
      folderProblem?(): string | undefined;
      /** The file writer (default: tmp + rename); a seam for tests. */
      writer?: ResultWriter;
    },
  ) {}

  get count(): number {
    return this.unpublished.size;
  }

  /** The first write error while results wait, for readiness. */
  get firstError(): string | undefined {
    return this.unpublished.values().next().value?.error;
  }

  async publish(claim: SpoolClaim | undefined, result: JobResult): Promise<void> {
    try {
      await this.write(result);
    } catch (err) {
      const first = this.unpublished.size === 0;
      this.unpublished.set(result.job_id, { claim, result, error: String(err) });
      this.o.metrics.unpublished.set(this.unpublished.size);
      this.o.logger[first ? 'error' : 'warn'](
        { job_id: result.job_id, file: claim?.source, results_dir: this.layout.resultsDir, err: String(err), why: whyUnwritable(err) },
        'could not write the result; kept and retried (the job file stays claimed)',
      );
      if (first) this.delayMs = 100;
      this.schedule();
      return;
    }
    if (claim) this.o.archive(claim, result.status === 'completed' ? 'done' : 'failed');
  }

  /** A last try at shutdown (the rest stay claimed; the next start writes them from the store). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unpublished.size) await this.retry(false);
    if (this.unpublished.size) this.o.logger.warn({ jobs: [...this.unpublished.keys()] }, 'results still not written at shutdown; the next start writes them from the store');
  }

  /** A results folder removed at run time is created again (once per failure, not in a loop). */
  private async write(result: JobResult): Promise<void> {
    const swapped = this.o.folderProblem?.();
    if (swapped) throw Object.assign(new Error(swapped), { code: 'ESWAPPED' });
    try {
      await this.layout.writeResult(result.job_id, result, this.o.durable, this.o.writer);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || existsSync(this.layout.resultsDir) || !this.o.recreateFolders('results folder')) throw err;
      await this.layout.writeResult(result.job_id, result, this.o.durable, this.o.writer);
    }
  }

  private schedule(): void {
    if (this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, 30_000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry(true);
    }, delay);
    this.timer.unref();
  }

  /** One pass at a time (the timer's and close()'s would write and archive the same results twice). */
  private retry(reschedule: boolean): Promise<void> {
    const run = this.retrying.then(() => this.retryPass(reschedule));
    this.retrying = run.catch(() => undefined);
    return run;
  }

  private async retryPass(reschedule: boolean): Promise<void> {
    for (const [id, u] of [...this.unpublished]) {
      try {
        await this.write(u.result);
      } catch (err) {
        u.error = String(err);
        continue;
      }
      this.unpublished.delete(id);
      if (u.claim) this.o.archive(u.claim, u.result.status === 'completed' ? 'done' : 'failed');
    }
    this.o.metrics.unpublished.set(this.unpublished.size);
    if (this.unpublished.size === 0) {
      this.o.logger.info({ results_dir: this.layout.resultsDir }, 'results folder writable again; pending results written');
      return;
    }
    if (reschedule) this.schedule();
  }
}

/** What an operator should do about a failed result write, by errno. */
export function whyUnwritable(err: unknown): string {
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the results folder is full: free space there';
    case 'EROFS':
      return 'the results folder is on a read-only filesystem: remount it read-write';
    case 'EACCES':
    case 'EPERM':
      return 'the results folder is not writable by this worker (permissions, or an immutable attribute)';
    case 'ESWAPPED':
      return 'the results folder was replaced by a link to another place: restore the folder';
    case 'EISDIR':
      return 'a folder takes the result file\'s name: remove it';
    default:
      return 'the results folder cannot take the file';
  }
}
