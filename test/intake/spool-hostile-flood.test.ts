import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobEvents } from '../../src/events/job-events.js';
import { SpoolIntake } from '../../src/intake/spool/spool-intake.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import type { IntakeSink } from '../../src/ports/intake.js';
import { completedResult, type JobDocument } from '../../src/protocol/index.js';
import { jobDoc } from '../store/contract.js';
import { echoJob, makeSpool, startDaemon, waitFor } from '../worker/helpers/daemon.js';

// Thousands of files dropped at once, work bounded by counts (bench/spool-flood.ts measures
// 100,000): each scan lists a bounded slice of jobs/, parsed jobs in memory stay under the
// queue limit, and every file ends as a result (run or refused), none lost or run twice.

const N = 4000;
const BATCH = 256;
const QUEUE = 500;

test(`spool intake: ${N} files dropped at once are listed ${BATCH} per scan, queued at most ${QUEUE} at a time, and every one is answered once`, async () => {
  const root = mkdtempSync(join(tmpdir(), 'gk-flood-'));
  const jobs = join(root, 'jobs');
  const results = join(root, 'results');
  const staging = join(root, 'staging');
  mkdirSync(jobs);
  mkdirSync(staging);
  const events = new JobEvents();
  const submitted = new Map<string, number>();
  let outstanding = 0;
  let maxOutstanding = 0;
  const sink: IntakeSink = {
    workerId: 'w-flood',
    events,
    submit: async (job: JobDocument) => {
      submitted.set(job.job_id, (submitted.get(job.job_id) ?? 0) + 1);
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      // "runs" a moment later, like a busy worker
      setTimeout(() => {
        outstanding--;
        events.emit('finished', { job, status: 'completed', result: completedResult({ job, workerId: 'w-flood', startedAt: new Date(), data: {} }) });
      }, 2);
      return { kind: 'accepted', state: { jobId: job.job_id, status: 'pending', attempt: 0, workerId: 'w-flood', source: null }, resumed: false };
    },
    cancel: () => 'unknown',
    cancelHeld: async () => false,
    knows: () => false,
    routedHere: () => ({ ok: true }),
    accepting: true,
    get queued() {
      return outstanding;
    },
    recentRate: 0,
    recover: async () => ({ action: 'release' }),
    failOrphans: async () => [],
    isWorkerDead: async () => false,
    livePeers: async () => 0,
    result: async () => undefined,
  };
  const spool = new SpoolIntake({
    jobsDir: jobs,
    resultsDir: results,
    sink,
    logger: createLogger({ level: 'silent', workerId: 'w-flood' }),
    metrics: new WorkerMetrics(),
    pollIntervalMs: 50,
    settleMs: 50,
    listBatch: BATCH,
    maxQueued: QUEUE,
  });
  const ids = Array.from({ length: N }, (_, i) => `flood-${String(i).padStart(6, '0')}`);
  for (const id of ids) writeFileSync(join(staging, `${id}.json`), JSON.stringify(jobDoc(id)));
  // hostile ones in the same flood: each must be answered too
  writeFileSync(join(staging, 'flood-badjson-01.json'), '{"job_id":');
  symlinkSync('/etc/passwd', join(staging, 'flood-link-01.json'));
  await spool.start();
  try {
    for (const n of readdirSync(staging)) renameSync(join(staging, n), join(jobs, n));
    await waitFor(() => readdirSync(results).filter((n) => n.endsWith('-result.json')).length >= N + 2, 60_000, 'every file answered');
    for (const id of ids) assert.ok(existsSync(join(results, `${id}-result.json`)), id);
    assert.equal(JSON.parse(readFileSync(join(results, 'flood-badjson-01-result.json'), 'utf8')).error.code, 'VALIDATION_ERROR');
    assert.match(JSON.parse(readFileSync(join(results, 'flood-link-01-result.json'), 'utf8')).error.message, /symbolic link/);
    assert.equal(submitted.size, N);
    assert.ok([...submitted.values()].every((n) => n === 1), 'none submitted twice');
    assert.ok(spool.maxListed <= BATCH, `a scan listed ${spool.maxListed} entries (bound ${BATCH})`);
    assert.ok(spool.maxListed === BATCH, 'the folder really was listed in slices');
    assert.ok(maxOutstanding <= QUEUE, `at most ${QUEUE} jobs held at once (saw ${maxOutstanding})`);
    await waitFor(() => readdirSync(jobs).filter((n) => n.endsWith('.json')).length === 0, 10_000, 'jobs/ emptied');
    // each job file is archived once its result is written (asynchronously)
    await waitFor(() => readdirSync(join(jobs, 'done')).length + readdirSync(join(jobs, 'failed')).length >= N + 2, 10_000, 'job files archived');
    assert.equal(readdirSync(join(jobs, 'done')).length, N);
    assert.equal(readdirSync(join(jobs, 'failed')).length, 2);
  } finally {
    spool.stop();
    await spool.close();
  }
});

/** Peak and current resident memory of a process, in MiB (/proc/<pid>/status). */
function memOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

test('the worker daemon: 3,000 echo jobs and hostile files dropped at once all end with a result; its memory stays bounded', async () => {
  const M = 3000;
  const spool = makeSpool('gk-flood-d-');
  const staging = join(spool.root, 'staging');
  mkdirSync(staging);
  for (let i = 0; i < M; i++) writeFileSync(join(staging, `fd-${i}.json`), JSON.stringify(echoJob(`flood-d-${String(i).padStart(6, '0')}`)));
  writeFileSync(join(staging, 'fd-bad.json'), 'not json');
  symlinkSync('/etc/passwd', join(staging, 'fd-link.json'));
  execFileSync('mkfifo', [join(staging, 'fd-fifo.json')]);
  const d = startDaemon(spool, ['--worker-id', 'w-flood-d', '--max-concurrent', '4'], { GUESTKIT_SPOOL_LIST_BATCH: '256' });
  let peak = 0;
  try {
    await d.ready();
    const pid = d.proc.pid!;
    for (const n of readdirSync(staging)) renameSync(join(staging, n), join(spool.jobs, n));
    await waitFor(() => {
      peak = Math.max(peak, memOf(pid).hwm);
      return existsSync(spool.results) && readdirSync(spool.results).filter((n) => n.endsWith('-result.json')).length >= M + 3;
    }, 120_000, `${M + 3} results`);
    peak = Math.max(peak, memOf(pid).hwm);
    const statuses = new Map<string, number>();
    for (const n of readdirSync(spool.results).filter((f) => f.endsWith('-result.json'))) {
      const s = (JSON.parse(readFileSync(join(spool.results, n), 'utf8')) as { status: string }).status;
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(statuses), { completed: M, failed: 3 });
    assert.deepEqual(readdirSync(spool.jobs).filter((n) => n.endsWith('.json')), [], 'nothing left behind');
    // generous: the worker's own heap and SQLite, not the flood's size
    assert.ok(peak < 1024, `worker peak RSS ${peak.toFixed(0)} MiB`);
    console.log(`# flood: ${M + 3} files, worker VmHWM ${peak.toFixed(0)} MiB`);
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});
