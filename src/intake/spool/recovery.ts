import { closeSync, fstatSync, openSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MAX_JOB_TEXT_BYTES, validateJob, type JobDocument } from '../../protocol/index.js';
import { SpoolClaim } from './claim.js';
import { JOB_OPEN_FLAGS } from './entries.js';
import { jobIdFor, listFiles } from './files.js';
import type { SpoolIntake } from './spool-intake.js';

/** Start-up: every file left in claimed/<this worker>/ is resolved against the store. */
export async function recoverClaims(spool: SpoolIntake): Promise<void> {
  const names = listFiles(spool.layout.claimedDir);
  const recovered = new Set<string>();
  for (const name of names) recovered.add(await recoverOne(spool, name));
  for (const result of await spool.sink.failOrphans((id) => recovered.has(id) || spool.sink.knows(id))) await spool.publish(undefined, result);
  if (names.length) spool.logger.info({ files: names.length }, 'recovered claims of a previous run');
}

/** One claimed file of a dead run: given back, finished WORKER_LOST, or archived. Returns its job id. */
async function recoverOne(spool: SpoolIntake, held: string): Promise<string> {
  let job: JobDocument | null = null;
  let doc: unknown;
  const name = held.replace(/~\d+$/, '');
  try {
    doc = JSON.parse(readClaimed(spool.layout.claimed(held)));
    job = validateJob(doc).job ?? null;
  } catch {
    job = null;
  }
  const jobId = job?.job_id ?? jobIdFor(doc, name);
  const claim = new SpoolClaim(spool, name, held);
  if (!job) {
    // refused before the crash, or garbage: the scan answers it again
    spool.giveBack(claim);
    return jobId;
  }
  const act = await spool.sink.recover(job, jobId);
  if (act.action === 'release') claim.release();
  else if (act.result) claim.finish(act.result);
  else spool.archive(claim, 'failed');
  return jobId;
}

/**
 * Claims of other workers that stopped heartbeating (per the shared store) are taken
 * over by renaming them into our claimed folder (atomic: one adopter per file) and
 * recovered like our own: re-queued with attempt + 1, or WORKER_LOST.
 */
export async function adoptStale(spool: SpoolIntake): Promise<void> {
  const base = dirname(spool.layout.claimedDir);
  const mine = basename(spool.layout.claimedDir);
  for (const dir of listFiles(base)) {
    if (dir === mine) continue;
    const files = listFiles(join(base, dir));
    if (files.length === 0 || !(await spool.sink.isWorkerDead(dir))) continue;
    let n = 0;
    for (const f of files) {
      const held = spool.heldName(f);
      try {
        renameSync(join(base, dir, f), spool.layout.claimed(held));
      } catch {
        continue; // another worker adopted it first
      }
      try {
        await recoverOne(spool, held);
      } catch (err) {
        // e.g. the store is failing: the file stays in our claimed folder for our own recovery
        spool.logger.error({ file: f, dead_worker: dir, err: String(err) }, 'could not recover an adopted claim; kept for restart recovery');
      }
      n++;
    }
    if (n) spool.logger.warn({ dead_worker: dir, files: n }, 'adopted the claims of a worker that stopped heartbeating');
  }
}

/**
 * A claimed file's text, read like the scan reads jobs/: no symlink followed, no wait on a
 * FIFO, nothing but a regular file within the size limit (a refused entry can still sit in
 * claimed/ when its result could not be written before a restart). Extra links are let be
 * here: a crash inside a give-back (link, then unlink) leaves a real job with two.
 */
function readClaimed(path: string): string {
  const fd = openSync(path, JOB_OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_JOB_TEXT_BYTES) throw new Error('not a plain job file');
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
