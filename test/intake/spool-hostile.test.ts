import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dropJob, echoJob, listDir, makeSpool, resultPath, sleep, startDaemon, waitFor, waitForResult, type Daemon, type SpoolDirs } from '../worker/helpers/daemon.js';

// Hostile entries in jobs/ and hostile changes to the spool's folders, against the real
// daemon: each entry is refused with a typed result and moved to failed/ without being
// opened, read or followed; the worker never blocks and keeps serving.
let spool: SpoolDirs;
let d: Daemon;
let port: number;
let secret: string;
const SECRET_TEXT = 'TOP-SECRET-d41d8cd98f00b204';

before(async () => {
  spool = makeSpool('gk-hostile-');
  secret = join(spool.root, 'secret.txt');
  writeFileSync(secret, `${SECRET_TEXT}\n`);
  d = startDaemon(spool, ['--worker-id', 'w-hostile', '--max-concurrent', '2', '--metrics-port', '0']);
  port = (await d.ready()).metrics_port as number;
});

after(async () => {
  const r = await d.stop();
  assert.equal(r.code, 0, `worker exits 0 after SIGTERM; stderr: ${d.stderr.join('')}`);
  assert.ok(!d.logs.some((l) => l.level === 'fatal'), 'no uncaught exception');
  // nothing the worker logged or wrote carries the secret it was pointed at
  assert.ok(!d.logs.some((l) => JSON.stringify(l).includes(SECRET_TEXT)), 'secret never in the logs');
  for (const f of listDir(spool.results)) assert.ok(!readFileSync(join(spool.results, f), 'utf8').includes(SECRET_TEXT), `secret never in ${f}`);
});

const failedDir = () => join(spool.jobs, 'failed');

async function refused(id: string, pattern: RegExp): Promise<void> {
  const r = await waitForResult(spool, id);
  assert.equal(r.status, 'failed', id);
  assert.equal(r.error?.code, 'VALIDATION_ERROR', JSON.stringify(r.error));
  assert.equal(r.error?.phase, 'validation');
  assert.match(r.error!.message, pattern);
}

/**
 * Moves a folder aside and puts a symlink to `target` in its place. The worker recreates a
 * missing folder at once, so a folder it made in between is removed and the link tried again.
 */
function swapForLink(path: string, target: string, kept: string): void {
  renameSync(path, kept);
  for (let i = 0; ; i++) {
    try {
      symlinkSync(target, path);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || i > 50) throw err;
      rmSync(path, { recursive: true, force: true });
    }
  }
}

function restore(path: string, kept: string): void {
  unlinkSync(path);
  for (let i = 0; ; i++) {
    try {
      renameSync(kept, path);
      return;
    } catch (err) {
      if (i > 50) throw err;
      rmSync(path, { recursive: true, force: true });
    }
  }
}

/** The worker still runs jobs (nothing blocked it). */
async function stillServing(id: string): Promise<void> {
  dropJob(spool, echoJob(id));
  assert.equal((await waitForResult(spool, id)).status, 'completed');
}

test('a job file that is a symlink (to a secret outside the spool, to a valid job) is moved to failed/ as the link itself, never followed', async () => {
  const staging = join(spool.root, 'staging');
  mkdirSync(staging);
  writeFileSync(join(staging, 'real.json'), JSON.stringify(echoJob('link-target-01')));
  symlinkSync(secret, join(spool.jobs, 'link-secret-01.json'));
  symlinkSync(join(staging, 'real.json'), join(spool.jobs, 'link-valid-01.json'));
  await refused('link-secret-01', /link-secret-01\.json is a symbolic link; it was not opened or followed/);
  await refused('link-valid-01', /is a symbolic link/);
  for (const n of ['link-secret-01.json', 'link-valid-01.json']) assert.ok(lstatSync(join(failedDir(), n)).isSymbolicLink(), `${n} archived as the link`);
  assert.equal(readFileSync(secret, 'utf8'), `${SECRET_TEXT}\n`);
  assert.ok(existsSync(join(staging, 'real.json')), 'the link target is left alone');
  await stillServing('after-links-01');
  assert.ok(!existsSync(resultPath(spool, 'link-target-01')), 'the job behind the link never ran');
});

test('a FIFO named *.json never blocks the worker; it is refused and moved to failed/', async () => {
  execFileSync('mkfifo', [join(spool.jobs, 'fifo-job-01.json')]);
  await refused('fifo-job-01', /is a FIFO \(named pipe\)/);
  assert.ok(lstatSync(join(failedDir(), 'fifo-job-01.json')).isFIFO());
  await stillServing('after-fifo-01');
});

test('a device node named *.json is refused without being opened (created with mknod when root)', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('mknod needs root; the refusal path is the FIFO one above');
    return;
  }
  execFileSync('mknod', [join(spool.jobs, 'device-job-01.json'), 'c', '1', '3']); // /dev/null's numbers
  execFileSync('mknod', [join(spool.jobs, 'blockdev-job-01.json'), 'b', '7', '200']); // a loop device number
  await refused('device-job-01', /is a character device/);
  await refused('blockdev-job-01', /is a block device/);
  assert.ok(lstatSync(join(failedDir(), 'device-job-01.json')).isCharacterDevice());
  await stillServing('after-device-01');
});

test('a hard link to a secret file (st_nlink > 1) is refused unread once it stays linked past the settle time', async () => {
  linkSync(secret, join(spool.jobs, 'hardlink-job-01.json'));
  await refused('hardlink-job-01', /has 2 hard links; it was not read: a job file must have exactly one link/);
  assert.ok(existsSync(join(failedDir(), 'hardlink-job-01.json')));
  assert.equal(readFileSync(secret, 'utf8'), `${SECRET_TEXT}\n`);
  await stillServing('after-hardlink-01');
});

test('a 2 GiB job file (sparse) is refused by its fstat size, never read', async () => {
  const big = join(spool.root, 'big.json');
  closeSync(openSync(big, 'w'));
  truncateSync(big, 2 ** 31);
  renameSync(big, join(spool.jobs, 'huge-job-01.json'));
  const r = await waitForResult(spool, 'huge-job-01');
  assert.equal(r.error?.code, 'VALIDATION_ERROR');
  assert.match(r.error!.message, /is 2147483648 bytes; the limit is 4194304 \(not read\)/);
  assert.ok(existsSync(join(failedDir(), 'huge-job-01.json')));
  const log = d.logs.find((l) => l.file === 'huge-job-01.json' && l.msg === 'job file refused');
  assert.equal(log?.reason, 'too_large');
});

test('file names with a newline or bytes that are not UTF-8 are quarantined under a safe name with a clear message; bad cancel names are removed', async () => {
  const jobs = Buffer.from(spool.jobs + '/');
  const nl = Buffer.from('newline\nname-01.json');
  const bad = Buffer.concat([Buffer.from('latin1-'), Buffer.from([0xe9, 0xff]), Buffer.from('-name-01.json')]);
  writeFileSync(Buffer.concat([jobs, nl]), JSON.stringify(echoJob('inside-newline-01')));
  writeFileSync(Buffer.concat([jobs, bad]), JSON.stringify(echoJob('inside-latin1-01')));
  writeFileSync(Buffer.concat([jobs, Buffer.from([0x63, 0xff, 0x0a]), Buffer.from('.cancel')]), '');
  await refused('newline_name-01', /job file name "newline\\nname-01\.json" contains control characters .*moved to failed\/newline_name-01\.json/);
  const r = await waitForResult(spool, 'latin1-__-name-01');
  assert.match(r.error!.message, /is not valid UTF-8/);
  assert.equal((r.error!.details as { file_hex: string }).file_hex, bad.toString('hex'), 'the exact bytes are reported');
  assert.ok(listDir(failedDir()).includes('newline_name-01.json'));
  assert.ok(listDir(failedDir()).includes('latin1-__-name-01.json'));
  await d.waitForLog((l) => /cancel file name .*removed/.test(l.msg));
  // nothing with a bad name is left behind, nothing lost
  const left = (readdirSync(spool.jobs, { encoding: 'buffer' }) as Buffer[]).filter((n) => n.some((b) => b < 0x20 || b >= 0x80));
  assert.deepEqual(left, []);
  await stillServing('after-names-01');
  assert.ok(!existsSync(resultPath(spool, 'inside-newline-01')) && !existsSync(resultPath(spool, 'inside-latin1-01')), 'never read, never run');
});

test('the jobs folder swapped for a symlink mid-run: not followed (no claims, not ready) until the folder is restored', async () => {
  const elsewhere = join(spool.root, 'elsewhere-jobs');
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'victim-01.json'), JSON.stringify(echoJob('swap-victim-01')));
  const kept = join(spool.root, 'jobs.kept');
  swapForLink(spool.jobs, elsewhere, kept);
  try {
    await d.waitForLog((l) => /spool folder swapped for a link to another place; not followed: no job files are read or claimed/.test(l.msg) && l.what === 'jobs folder');
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /jobs folder .* now resolves to .*elsewhere-jobs/);
    await sleep(500); // several polls at 100 ms
    assert.deepEqual(readdirSync(elsewhere), ['victim-01.json'], 'nothing read, claimed or created in the target');
  } finally {
    restore(spool.jobs, kept);
  }
  await d.waitForLog((l) => l.msg === 'spool folder restored; resumed' && l.what === 'jobs folder');
  await stillServing('after-jobs-swap-01');
  assert.ok(!existsSync(resultPath(spool, 'swap-victim-01')));
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
});

test('the results folder swapped for a symlink mid-run: no result is written into the target; held and written once restored', async () => {
  const elsewhere = join(spool.root, 'elsewhere-results');
  mkdirSync(elsewhere);
  const kept = join(spool.root, 'results.kept');
  swapForLink(spool.results, elsewhere, kept);
  try {
    dropJob(spool, echoJob('swap-result-01'));
    await d.waitForLog((l) => /spool folder swapped .*results and events are held/.test(l.msg) && l.what === 'results folder');
    await d.waitForLog((l) => l.job_id === 'swap-result-01' && /could not write the result/.test(l.msg) && /replaced by a link/.test(String(l.why)));
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing written through the link');
    assert.ok(listDir(join(spool.jobs, 'claimed', 'w-hostile')).includes('swap-result-01.json'), 'the job file stays claimed');
  } finally {
    restore(spool.results, kept);
  }
  const r = await waitForResult(spool, 'swap-result-01', 40_000); // retried with back-off
  assert.equal(r.status, 'completed');
  assert.deepEqual(readdirSync(elsewhere), []);
  await waitFor(() => listDir(join(spool.jobs, 'done')).includes('swap-result-01.json'), 5000, 'archived');
});
