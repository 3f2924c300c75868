import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobEvents } from '../../src/events/job-events.js';
import type { ResultWriter } from '../../src/intake/spool/layout.js';
import { SpoolIntake } from '../../src/intake/spool/spool-intake.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import type { IntakeSink } from '../../src/ports/intake.js';
import { completedResult, type JobDocument } from '../../src/protocol/index.js';
import { jobDoc } from '../store/contract.js';
import { dropJob, echoJob, listDir, makeSpool, resultPath, startDaemon, waitFor, waitForResult } from '../worker/helpers/daemon.js';

// A results folder that is full (ENOSPC), read-only (EROFS) or not writable (EACCES, EPERM):
// the result is kept, the job file stays claimed, the error is logged with what to do, and
// the result is written once the folder takes it again. ENOSPC and EROFS come through the
// spool's injectable result writer (no mount needed); EPERM from a real `chattr +i` folder.

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, write '${code}'`), { code });
}

for (const code of ['ENOSPC', 'EROFS', 'EACCES']) {
  test(`results folder failing with ${code} (injected writer): kept, logged with the cause, retried until written; the job is not lost`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'gk-results-'));
    const jobs = join(root, 'jobs');
    const results = join(root, 'results');
    mkdirSync(jobs);
    const events = new JobEvents();
    const submitted: JobDocument[] = [];
    const sink: IntakeSink = {
      workerId: 'w-full',
      events,
      submit: async (job) => {
        submitted.push(job);
        return { kind: 'accepted', state: { jobId: job.job_id, status: 'pending', attempt: 0, workerId: 'w-full', source: null }, resumed: false };
      },
      cancel: () => 'unknown',
      cancelHeld: async () => false,
      knows: () => false,
      routedHere: () => ({ ok: true }),
      accepting: true,
      queued: 0,
      recentRate: 0,
      recover: async () => ({ action: 'release' }),
      failOrphans: async () => [],
      isWorkerDead: async () => false,
      livePeers: async () => 0,
    result: async () => undefined,
    };
    let failing = true;
    let calls = 0;
    const writer: ResultWriter = (path, text) => {
      calls++;
      if (failing) throw errno(code);
      writeFileSync(path, text);
    };
    const lines: Record<string, unknown>[] = [];
    const destination = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
    const spool = new SpoolIntake({ jobsDir: jobs, resultsDir: results, sink, logger: createLogger({ level: 'info', workerId: 'w-full', destination }), metrics: new WorkerMetrics(), pollIntervalMs: 20, settleMs: 50, resultWriter: writer });
    await spool.start();
    try {
      writeFileSync(join(jobs, 'full.json'), JSON.stringify(jobDoc('full-res-01')));
      await waitFor(() => submitted.length === 1, 5000, 'submitted');
      const job = submitted[0]!;
      events.emit('finished', { job, status: 'completed', result: completedResult({ job, workerId: 'w-full', startedAt: new Date(), data: { echo: 1 } }) });
      await waitFor(() => calls >= 3, 5000, 'retried');
      const err = lines.find((l) => /could not write the result/.test(String(l.msg)));
      assert.equal(err?.level, 'error', 'the first failure is an error');
      assert.match(String(err?.err), new RegExp(code));
      assert.match(String(err?.why), code === 'ENOSPC' ? /full: free space/ : code === 'EROFS' ? /read-only filesystem/ : /not writable/);
      assert.equal(spool.unpublishedCount, 1);
      assert.match(spool.problem() ?? '', new RegExp(`1 result\\(s\\) not written .*${code}`));
      assert.deepEqual(readdirSync(join(jobs, 'claimed', 'w-full')), ['full.json'], 'the job file stays claimed');
      assert.ok(!existsSync(join(results, 'full-res-01-result.json')));
      failing = false;
      await waitFor(() => existsSync(join(results, 'full-res-01-result.json')), 10_000, 'written once the folder takes it');
      assert.deepEqual(JSON.parse(readFileSync(join(results, 'full-res-01-result.json'), 'utf8')).data, { echo: 1 });
      await waitFor(() => listDir(join(jobs, 'done')).includes('full.json'), 5000, 'archived');
      assert.equal(spool.unpublishedCount, 0);
      assert.ok(lines.some((l) => l.msg === 'results folder writable again; pending results written'));
    } finally {
      spool.stop();
      await spool.close();
    }
  });
}

function canChattr(dir: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('a real immutable results folder (chattr +i, which stops root too): the result waits in the store; retried live, and written from the store by the next start', async (t) => {
  const spool = makeSpool('gk-immutable-');
  mkdirSync(spool.results);
  if (!canChattr(spool.results)) {
    t.skip('chattr +i not available here (needs root and ext2/3/4, XFS, Btrfs); the injected-writer tests cover the path');
    return;
  }
  const immutable = (on: boolean) => execFileSync('chattr', [on ? '+i' : '-i', spool.results]);
  let d = startDaemon(spool, ['--worker-id', 'w-immutable']);
  try {
    await d.ready();
    // live: written by a retry once the folder is writable again
    immutable(true);
    dropJob(spool, echoJob('immutable-live-01'));
    await d.waitForLog((l) => l.job_id === 'immutable-live-01' && /could not write the result/.test(l.msg));
    const line = d.logs.find((l) => l.job_id === 'immutable-live-01' && /could not write the result/.test(l.msg))!;
    assert.equal(line.level, 'error');
    assert.match(String(line.err), /EPERM|EACCES/);
    assert.match(String(line.why), /not writable by this worker/);
    immutable(false);
    assert.equal((await waitForResult(spool, 'immutable-live-01', 40_000)).status, 'completed');

    // across a restart: the worker stops while the folder still refuses the file
    immutable(true);
    dropJob(spool, echoJob('immutable-restart-01'));
    // a refused FIFO whose refusal cannot be written either stays in claimed/ over the restart
    execFileSync('mkfifo', [join(spool.jobs, 'fifo-restart-01.json')]);
    await d.waitForLog((l) => l.job_id === 'immutable-restart-01' && /could not write the result/.test(l.msg));
    await d.waitForLog((l) => l.job_id === 'fifo-restart-01' && /could not write the result/.test(l.msg));
    assert.equal((await d.stop()).code, 0, 'a stuck results folder does not crash the worker or its shutdown');
    assert.ok(d.logs.some((l) => /results still not written at shutdown/.test(l.msg)));
    assert.ok(!existsSync(resultPath(spool, 'immutable-restart-01')));
    assert.ok(listDir(join(spool.jobs, 'claimed', 'w-immutable')).includes('immutable-restart-01.json'), 'the job file stays claimed');
    immutable(false);
    d = startDaemon(spool, ['--worker-id', 'w-immutable']);
    await d.ready();
    const r = await waitForResult(spool, 'immutable-restart-01');
    assert.equal(r.status, 'completed', 'the stored result, not a re-run or WORKER_LOST');
    assert.deepEqual((r.data as { echo: unknown }).echo, { message: 'hello immutable-restart-01' });
    // recovery never opened the FIFO for a blocking read: it was given back and refused again
    assert.match((await waitForResult(spool, 'fifo-restart-01')).error!.message, /is a FIFO/);
    await waitFor(() => listDir(join(spool.jobs, 'done')).includes('immutable-restart-01.json'), 5000, 'archived');
  } finally {
    try {
      immutable(false);
    } catch {
      /* already writable */
    }
    assert.equal((await d.stop()).code, 0);
  }
});
