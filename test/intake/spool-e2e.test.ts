import assert from 'node:assert/strict';
import { appendFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { dropJob, echoJob, job, listDir, makeSpool, resultPath, sleep, startDaemon, waitFor, waitForResult } from '../worker/helpers/daemon.js';

test('spool: a file written slowly in place is read only once complete; dotfiles and *.tmp are ignored', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-spool'], { GUESTKIT_SPOOL_SETTLE_MS: '1500' });
  try {
    await d.ready();
    const text = JSON.stringify(echoJob('slow-writer-01', {}, { big: 'x'.repeat(1000) }));
    const path = join(spool.jobs, 'slow-writer.json');
    writeFileSync(path, text.slice(0, 100));
    await sleep(400); // several polls see the half-written file
    appendFileSync(path, text.slice(100, 600));
    await sleep(400);
    appendFileSync(path, text.slice(600));
    const r = await waitForResult(spool, 'slow-writer-01');
    assert.equal(r.status, 'completed');
    assert.deepEqual((r.data as { echo: unknown }).echo, { big: 'x'.repeat(1000) });

    writeFileSync(join(spool.jobs, '.hidden.json'), JSON.stringify(echoJob('hidden-job-01')));
    writeFileSync(join(spool.jobs, 'partial.json.tmp'), JSON.stringify(echoJob('tmp-job-0001')));
    writeFileSync(join(spool.jobs, 'notes.txt'), 'not a job');
    dropJob(spool, echoJob('marker-job-01'));
    await waitForResult(spool, 'marker-job-01');
    await sleep(300);
    assert.ok(!existsSync(resultPath(spool, 'hidden-job-01')));
    assert.ok(!existsSync(resultPath(spool, 'tmp-job-0001')));
    assert.deepEqual(listDir(spool.jobs).sort(), ['claimed', 'done', 'failed', 'notes.txt', 'partial.json.tmp']);

    // truncated for good: refused once it stopped changing for the settle time
    writeFileSync(join(spool.jobs, 'truncated-01.json'), text.slice(0, 200));
    const t0 = Date.now();
    const bad = await waitForResult(spool, 'truncated-01');
    assert.equal(bad.error?.code, 'VALIDATION_ERROR');
    assert.ok(Date.now() - t0 >= 1000, 'waited for the file to settle');
  } finally {
    await d.stop();
  }
});

test('spool: a cancel file for a job that has not arrived yet cancels it on arrival', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-precancel']);
  try {
    await d.ready();
    writeFileSync(join(spool.jobs, 'early-cancel-01.cancel'), '');
    await sleep(300);
    dropJob(spool, echoJob('early-cancel-01'));
    const r = await waitForResult(spool, 'early-cancel-01');
    assert.equal(r.status, 'cancelled');
    assert.equal(r.error?.code, 'CANCELLED');
    await sleep(300);
    assert.ok(!existsSync(join(spool.jobs, 'early-cancel-01.cancel')));
  } finally {
    await d.stop();
  }
});

test('spool: a file name reused while the first job still runs gets its own claim; both run, both are archived', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-reuse', '--max-concurrent', '2']);
  try {
    await d.ready();
    dropJob(spool, job('reuse-first-01', 'test.sleep', { seconds: 0.8 }), 'reused.json');
    await waitFor(() => listDir(join(spool.jobs, 'claimed', 'w-reuse')).includes('reused.json'), 5000, 'first claimed');
    dropJob(spool, job('reuse-second-01', 'test.sleep', { seconds: 0.2 }), 'reused.json');
    await waitFor(() => listDir(join(spool.jobs, 'claimed', 'w-reuse')).includes('reused.json~1'), 5000, 'second held under another name');
    const [a, b] = await Promise.all([waitForResult(spool, 'reuse-first-01'), waitForResult(spool, 'reuse-second-01')]);
    assert.equal(a.status, 'completed');
    assert.equal(b.status, 'completed');
    await waitFor(() => listDir(join(spool.jobs, 'done')).filter((n) => n.startsWith('reused.json')).length === 2, 5000, 'both archived');
    assert.deepEqual(listDir(join(spool.jobs, 'claimed', 'w-reuse')), []);
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('spool: with polling all but off, the file watch alone sees jobs, survives the jobs folder being removed and re-watches the new one', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-watch'], { GUESTKIT_SPOOL_POLL_MS: '600000' });
  try {
    await d.ready();
    dropJob(spool, echoJob('watch-before-01'));
    assert.equal((await waitForResult(spool, 'watch-before-01', 5000)).status, 'completed');
    rmSync(spool.jobs, { recursive: true, force: true });
    await d.waitForLog((l) => /jobs folder was missing and was created again/.test(l.msg), 5000);
    await waitFor(() => existsSync(join(spool.jobs, 'claimed')), 5000, 'folders recreated');
    dropJob(spool, echoJob('watch-after-01'));
    assert.equal((await waitForResult(spool, 'watch-after-01', 5000)).status, 'completed');
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});
