import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { JobResult } from '../../protocol/result.js';
import { resultJsonPretty } from '../../protocol/result-json.js';

/**
 * The spool's folders (the earlier worker's v1 layout, extended):
 *   jobs/<any>.json            dropped in by submitters (written directly or renamed in)
 *   jobs/<job_id>.cancel       a cancel request
 *   jobs/claimed/<worker>/     jobs a worker holds (claimed by an atomic rename)
 *   jobs/done/, jobs/failed/   archived job files
 *   results/<job_id>-result.json, results/<job_id>-events.jsonl
 */
export class SpoolLayout {
  readonly claimedDir: string;
  readonly doneDir: string;
  readonly failedDir: string;

  constructor(
    readonly jobsDir: string,
    readonly resultsDir: string,
    readonly workerId: string,
  ) {
    this.claimedDir = join(jobsDir, 'claimed', safeName(workerId));
    this.doneDir = join(jobsDir, 'done');
    this.failedDir = join(jobsDir, 'failed');
  }

  ensure(): void {
    for (const d of [this.jobsDir, this.resultsDir, this.claimedDir, this.doneDir, this.failedDir]) mkdirSync(d, { recursive: true });
  }

  incoming(name: string): string {
    return join(this.jobsDir, name);
  }

  claimed(name: string): string {
    return join(this.claimedDir, name);
  }

  resultPath(jobId: string): string {
    return join(this.resultsDir, `${jobId}-result.json`);
  }

  eventsPath(jobId: string): string {
    return join(this.resultsDir, `${jobId}-events.jsonl`);
  }

  /** Moves a claimed file to done/ or failed/ (as `asName`), never overwriting an older archive of the same name. */
  archive(held: string, to: 'done' | 'failed', suffix = '', asName = held): void {
    const dir = to === 'done' ? this.doneDir : this.failedDir;
    let target = join(dir, asName + suffix);
    if (existsSync(target)) target = join(dir, `${asName}${suffix}.${Date.now()}-${process.pid}`);
    renameSync(this.claimed(held), target);
  }

  /** tmp + rename in the same folder: readers see the whole result or none. */
  async writeResult(jobId: string, doc: JobResult, durable = false, writer: ResultWriter = atomicWriter): Promise<void> {
    await writer(this.resultPath(jobId), resultJsonPretty(doc) + '\n', durable);
  }
}

/** How a result file is written (a seam: tests inject ENOSPC, EROFS, …). Must be atomic. */
export type ResultWriter = (path: string, text: string, durable: boolean) => void | Promise<void>;

// synchronous, like the claim's rename and read: a promise-based open/write/close costs ~10x
// the syscalls themselves on the job hot path
const atomicWriter: ResultWriter = (path, text, durable) => writeFileAtomic(path, text, { fsync: durable });

/** A worker id as one safe path segment. */
export function safeName(s: string): string {
  const out = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return out === '' ? '_' : out.slice(0, 200);
}
