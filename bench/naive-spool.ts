// Not a benchmark by itself (bench/run.sh skips it): the naive reference spool that
// bench/spool-throughput.ts runs next to `guestkit worker`. No store, no queue, no state:
// watch the jobs folder, claim each `*.json` by renaming it into jobs/claimed/<worker>/,
// JSON.parse it, write results/<job_id>-result.json (tmp + rename), move the claimed file to
// jobs/done/. The files named by a turn's watch events are claimed in a random rotation (so
// instances sharing a folder do not go through them in lockstep); the folder is listed at
// start, on a nameless event and on a poll (missed events). Several instances can share one
// folder: the claim rename is atomic, the loser gets ENOENT and moves on. Echo jobs only (anything else gets a
// failed result); it trusts submitters to drop files atomically (rename in): a half-written
// file is refused, not waited for. Nothing is fsynced. It is the upper bound a durable spool
// can hope to approach on the same folder.
// Usage: node --import tsx bench/naive-spool.ts --jobs-dir DIR --results-dir DIR [--worker-id ID] [--poll-ms 200]
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, watch, writeSync } from 'node:fs';
import { join } from 'node:path';

function opt(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : dflt;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

const jobsDir = opt('jobs-dir');
const resultsDir = opt('results-dir');
const workerId = opt('worker-id', `naive-${process.pid}`);
const pollMs = Number(opt('poll-ms', '200'));
const claimedDir = join(jobsDir, 'claimed', workerId.replace(/[^A-Za-z0-9._-]/g, '_'));
const doneDir = join(jobsDir, 'done');
const failedDir = join(jobsDir, 'failed');
for (const d of [jobsDir, resultsDir, claimedDir, doneDir, failedDir]) mkdirSync(d, { recursive: true });

interface JobDoc {
  job_id?: unknown;
  operation?: unknown;
  payload?: { data?: unknown };
}

const now = () => new Date().toISOString();

function writeResult(jobId: string, doc: unknown): void {
  const tmp = join(resultsDir, `.${jobId}-result.json.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(doc, null, 2) + '\n');
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(resultsDir, `${jobId}-result.json`));
}

/** Claims and answers one file; false when another instance took it first. */
function handle(name: string): boolean {
  const held = join(claimedDir, name);
  try {
    renameSync(join(jobsDir, name), held);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const started = now();
  let job: JobDoc;
  try {
    job = JSON.parse(readFileSync(held, 'utf8')) as JobDoc;
  } catch {
    renameSync(held, join(failedDir, name));
    return true;
  }
  const jobId = typeof job.job_id === 'string' && /^[A-Za-z0-9._-]{1,200}$/.test(job.job_id) ? job.job_id : name.slice(0, -'.json'.length);
  const ok = job.operation === 'system.echo';
  const finished = now();
  writeResult(jobId, {
    job_id: jobId,
    status: ok ? 'completed' : 'failed',
    ...(ok ? { completed_at: finished } : { failed_at: finished }),
    worker_id: workerId,
    execution_summary: { started_at: started, duration_seconds: 0, attempt: 1 },
    ...(ok
      ? { data: { echo: job.payload?.data } }
      : { error: { code: 'UNSUPPORTED_OPERATION', message: `naive spool runs system.echo only`, phase: 'validation', recoverable: false, retry_recommended: false } }),
  });
  renameSync(held, join(ok ? doneDir : failedDir, name));
  return true;
}

let scanning = false;
let again = false;

/** Drains the folder; events that arrive meanwhile make it list again. */
function scan(): void {
  if (scanning) {
    again = true;
    return;
  }
  scanning = true;
  try {
    do {
      again = false;
      const names = readdirSync(jobsDir).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
      // start at a random place so instances sharing a folder rarely race for the same file
      const from = Math.floor(Math.random() * names.length);
      let took = 0;
      for (let i = 0; i < names.length; i++) if (handle(names[(from + i) % names.length]!)) took++;
      if (took) again = true;
    } while (again);
  } finally {
    scanning = false;
  }
}

// events name the files: claim just those, once per turn (the moves out of jobs/ come back as
// events too and cost one failed rename each); a nameless event lists the folder
let pending: NodeJS.Immediate | undefined;
let named = new Set<string>();
let listAll = false;
watch(jobsDir, (_event, name) => {
  if (typeof name === 'string' && name.endsWith('.json') && !name.startsWith('.') && !name.includes('/')) named.add(name);
  else listAll = true;
  pending ??= setImmediate(() => {
    pending = undefined;
    const names = [...named];
    named = new Set();
    if (listAll) {
      listAll = false;
      scan();
      return;
    }
    const from = Math.floor(Math.random() * names.length);
    for (let i = 0; i < names.length; i++) handle(names[(from + i) % names.length]!);
  });
});
setInterval(scan, pollMs);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
scan();
