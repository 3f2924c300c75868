import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { dropJob, echoJob, job, listDir, makeSpool, resultPath, sleep, startDaemon, waitFor, waitForResult, type Daemon, type SpoolDirs } from './helpers/daemon.js';

// Faults from outside the worker at run time: each ends as a typed job result or a logged,
// recoverable condition (readiness says why), never a dead worker.
let spool: SpoolDirs;
let d: Daemon;
let port: number;

before(async () => {
  spool = makeSpool();
  d = startDaemon(spool, ['--worker-id', 'w-hard', '--max-concurrent', '2', '--metrics-port', '0']);
  port = (await d.ready()).metrics_port as number;
});

after(async () => {
  const r = await d.stop();
  assert.equal(r.code, 0, `worker exits 0 after SIGTERM; stderr: ${d.stderr.join('')}`);
  assert.ok(!d.logs.some((l) => l.level === 'fatal'), 'no uncaught exception');
});

async function readyz(): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, text: await res.text() };
}

test('a handler thread that dies (throw, process.exit, uncaught, unhandled rejection, stack overflow, native RangeError) gives a typed failure; the worker keeps serving', async () => {
  const modes = ['throw', 'exit', 'uncaught', 'reject', 'stack', 'buffer'];
  for (const mode of modes) dropJob(spool, job(`crash-${mode}-01`, 'test.crash', { mode }));
  for (const mode of modes) {
    const r = await waitForResult(spool, `crash-${mode}-01`, 30_000);
    assert.equal(r.status, 'failed', mode);
    assert.equal(r.error?.code, 'EXECUTION_ERROR', `${mode}: ${JSON.stringify(r.error)}`);
    assert.ok(r.error!.message.length > 0);
  }
  assert.match((await waitForResult(spool, 'crash-exit-01')).error!.message, /handler thread exited \(code 3\)/);
  dropJob(spool, echoJob('after-crash-01'));
  assert.equal((await waitForResult(spool, 'after-crash-01')).status, 'completed');
  // a thread that throws after its job ended belongs to no job: logged, the thread replaced
  dropJob(spool, job('crash-late-01', 'test.crash', { mode: 'late' }));
  assert.equal((await waitForResult(spool, 'crash-late-01')).status, 'completed');
  await d.waitForLog((l) => /handler thread failed outside any job/.test(l.msg) && /thrown after the job ended/.test(String(l.err)));
  dropJob(spool, job('after-late-01', 'test.sleep', { seconds: 0.1 }));
  assert.equal((await waitForResult(spool, 'after-late-01')).status, 'completed');
  assert.equal(d.proc.exitCode, null);
});

test('a result path taken by a folder: the result is kept and retried, readiness says why, and it is written once the folder is gone', async () => {
  const blocked = resultPath(spool, 'blocked-res-01');
  mkdirSync(blocked);
  dropJob(spool, echoJob('blocked-res-01'));
  await d.waitForLog((l) => l.job_id === 'blocked-res-01' && /could not write the result/.test(l.msg));
  const r = await readyz();
  assert.equal(r.status, 503);
  assert.match(r.text, /1 result\(s\) not written/);
  assert.ok(listDir(join(spool.jobs, 'claimed', 'w-hard')).includes('blocked-res-01.json'), 'the job file stays claimed');
  // other jobs are not held up
  dropJob(spool, echoJob('unblocked-01'));
  assert.equal((await waitForResult(spool, 'unblocked-01')).status, 'completed');
  const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(m, /guestkit_results_unpublished\{[^}]*\} 1/);

  rmSync(blocked, { recursive: true });
  await waitFor(() => existsSync(blocked) && statSync(blocked).isFile(), 10_000, 'result written after the folder was removed');
  assert.equal(JSON.parse(readFileSync(blocked, 'utf8')).status, 'completed');
  await waitFor(() => listDir(join(spool.jobs, 'done')).includes('blocked-res-01.json'), 5000, 'job archived');
  assert.equal((await readyz()).status, 200);
});

test('the jobs folder deleted at run time is created again and jobs flow on', async () => {
  rmSync(spool.jobs, { recursive: true, force: true });
  await d.waitForLog((l) => /jobs folder was missing and was created again/.test(l.msg));
  dropJob(spool, echoJob('after-rmdir-01'));
  assert.equal((await waitForResult(spool, 'after-rmdir-01')).status, 'completed');
});

test('the jobs folder replaced by a file: not ready with the reason; ready again once the folder is back', async () => {
  // the worker recreates a missing folder at once: retry until the file wins the race
  const file = join(spool.root, 'jobs-as-file');
  writeFileSync(file, 'not a folder');
  for (let i = 0; ; i++) {
    rmSync(spool.jobs, { recursive: true, force: true });
    try {
      renameSync(file, spool.jobs);
      break;
    } catch (err) {
      if (i > 50) throw err;
    }
  }
  await d.waitForLog((l) => /cannot read the jobs folder/.test(l.msg) && /ENOTDIR/.test(String(l.err)));
  const r = await readyz();
  assert.equal(r.status, 503);
  assert.match(r.text, /jobs folder .* unreadable \(ENOTDIR\)/);
  unlinkSync(spool.jobs); // now missing: the worker recreates it
  await waitFor(() => existsSync(join(spool.jobs, 'claimed')), 5000, 'folders recreated');
  dropJob(spool, echoJob('after-file-01'));
  assert.equal((await waitForResult(spool, 'after-file-01')).status, 'completed');
  await d.waitForLog((l) => l.msg === 'jobs folder readable again');
  assert.equal((await readyz()).status, 200);
});

test('malformed cancel files: a bad job id is removed with a warning, odd contents still cancel, a JSON reason is used, a folder is ignored', async () => {
  writeFileSync(join(spool.jobs, 'x.cancel'), 'garbage');
  await d.waitForLog((l) => l.file === 'x.cancel' && /does not name a valid job id/.test(l.msg));
  await waitFor(() => !existsSync(join(spool.jobs, 'x.cancel')), 5000, 'bad cancel removed');

  mkdirSync(join(spool.jobs, 'folder-job-01.cancel'));
  // cancelled while waiting behind two sleepers on a 2-slot worker
  dropJob(spool, job('cancel-hold-01', 'test.sleep', { seconds: 1 }));
  dropJob(spool, job('cancel-hold-02', 'test.sleep', { seconds: 1 }));
  await sleep(200);
  writeFileSync(join(spool.jobs, 'cancel-bin-01.cancel'), Buffer.from([0xff, 0x00, 0xfe, 0x7b]));
  writeFileSync(join(spool.jobs, 'cancel-why-01.cancel'), JSON.stringify({ reason: 'operator: wrong image' }));
  dropJob(spool, echoJob('cancel-bin-01'));
  dropJob(spool, echoJob('cancel-why-01'));
  const bin = await waitForResult(spool, 'cancel-bin-01');
  assert.equal(bin.status, 'cancelled');
  const why = await waitForResult(spool, 'cancel-why-01');
  assert.equal(why.status, 'cancelled');
  assert.match(why.error!.message, /operator: wrong image/);
  assert.ok(statSync(join(spool.jobs, 'folder-job-01.cancel')).isDirectory(), 'a folder named *.cancel is left alone');
  rmSync(join(spool.jobs, 'folder-job-01.cancel'), { recursive: true });
  for (const id of ['cancel-hold-01', 'cancel-hold-02']) assert.equal((await waitForResult(spool, id)).status, 'completed');
});

test('an output.destination that is a folder is refused before the image is opened', async () => {
  const image = fixture('worker', 'allowed', 'inside-overlay.qcow2');
  const outDir = join(spool.root, 'out-is-a-dir');
  mkdirSync(outDir);
  dropJob(spool, job('dest-dir-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' }, output: { format: 'json', destination: outDir } }));
  const r = await waitForResult(spool, 'dest-dir-01', 30_000);
  assert.equal(r.status, 'failed');
  assert.equal(r.error?.code, 'VALIDATION_ERROR');
  assert.equal(r.error?.phase, 'validation');
  assert.match(r.error!.message, /is a directory/);
});

test('a refused file that carries the id of a finished job never overwrites its result', async () => {
  dropJob(spool, echoJob('clobber-id-01', {}, 'original'));
  const first = await waitForResult(spool, 'clobber-id-01');
  dropJob(spool, echoJob('clobber-id-01', { kind: 'Nope' }), 'clobber-bad.json');
  await waitFor(() => listDir(join(spool.jobs, 'failed')).includes('clobber-bad.json.duplicate'), 5000, 'archived as duplicate');
  assert.deepEqual(JSON.parse(readFileSync(resultPath(spool, 'clobber-id-01'), 'utf8')), first);
});

test('the claimed folder or the results folder removed at run time is created again; no job is stuck', async () => {
  rmSync(join(spool.jobs, 'claimed'), { recursive: true, force: true });
  dropJob(spool, echoJob('no-claimed-dir-01'));
  assert.equal((await waitForResult(spool, 'no-claimed-dir-01')).status, 'completed');
  await d.waitForLog((l) => /the claimed folder was missing and was created again/.test(l.msg));
  rmSync(spool.results, { recursive: true, force: true });
  dropJob(spool, echoJob('no-results-dir-01'));
  assert.equal((await waitForResult(spool, 'no-results-dir-01')).status, 'completed');
  await d.waitForLog((l) => /the results folder was missing and was created again/.test(l.msg));
  assert.equal((await readyz()).status, 200);
});
