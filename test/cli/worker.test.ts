import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, runCli, assertUsage as assertUsageLine, type CliResult } from '../helpers/cli.js';

/* `guestkit worker` option errors: reported before the daemon starts, one USAGE_ERROR line, exit 2. */

const assertUsage = (r: CliResult, message: RegExp) => assertUsageLine(r, message);

test('worker: a non-number option value names the flag as typed (--max-concurrent, not --maxConcurrent)', async () => {
  const cases: [string[], RegExp][] = [
    [['--max-concurrent', 'zero'], /^guestkit: USAGE_ERROR: --max-concurrent: expected a number, got "zero"$/],
    [['--metrics-port', 'http'], /^guestkit: USAGE_ERROR: --metrics-port: expected a number, got "http"$/],
    [['--drain-timeout', 'soon'], /^guestkit: USAGE_ERROR: --drain-timeout: expected a number, got "soon"$/],
    [['--memory-limit-mb', 'lots'], /^guestkit: USAGE_ERROR: --memory-limit-mb: expected a number, got "lots"$/],
  ];
  for (const [args, message] of cases) assertUsage(await runCli(['worker', ...args], undefined, { timeoutMs: 10_000 }), message);
});

test('worker --jobs-dir: the jobs folder may be missing, its parent may not (no whole tree created)', async () => {
  const base = mkdtempSync(join(tmpdir(), 'guestkit-cli-worker-'));
  const missing = join(base, 'no-such', 'deeper');
  const r = await runCli(['worker', '--jobs-dir', join(missing, 'jobs')], undefined, { timeoutMs: 10_000 });
  assertUsage(r, new RegExp(`jobs folder ${join(missing, 'jobs')}: its parent ${missing} does not exist`));
  assert.equal(existsSync(join(base, 'no-such')), false, 'nothing created');
  const env = await runCli(['worker'], undefined, { timeoutMs: 10_000, env: { GUESTKIT_JOBS_DIR: join(missing, 'jobs') } });
  assertUsage(env, /its parent .* does not exist/);
  writeFileSync(join(base, 'file'), '');
  assertUsage(await runCli(['worker', '--jobs-dir', join(base, 'file')], undefined, { timeoutMs: 10_000 }), /is not a folder/);
  assertUsage(await runCli(['worker', '--jobs-dir', join(base, 'file', 'jobs')], undefined, { timeoutMs: 10_000 }), /parent .*file is not a folder/);
  // parent exists, jobs folder missing: the worker starts and creates it (and its subfolders) itself.
  const jobs = join(base, 'jobs');
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'src', 'cli', 'run.js'), 'worker', '--jobs-dir', jobs, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker not ready: ${out}`)), 20_000);
      const onData = (b: Buffer) => {
        out += b.toString();
        if (/worker ready/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited ${code}: ${out}`));
      });
    });
    assert.ok(statSync(jobs).isDirectory());
  } finally {
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
});
