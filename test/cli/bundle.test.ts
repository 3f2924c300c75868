import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BUNDLED } from '../../src/cli/launch.js';
import { fixture } from '../helpers/fixtures.js';
import { repoRoot, runCli } from '../helpers/cli.js';

// `guestkit inspect` runs from one CommonJS bundle compiled through a per-user V8 code cache
// (src/cli/launch.ts). These tests build the bundle into a folder of their own, so that they check
// today's sources whether they run from TypeScript or compiled.
let work: string;
let bundles: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gk-bundle-'));
  bundles = join(work, 'bundles');
  execFileSync(process.execPath, [join(repoRoot(), 'scripts', 'build-cli.mjs'), '--outdir', bundles], { stdio: 'inherit' });
});
after(() => rmSync(work, { recursive: true, force: true }));

const debian = () => fixture('inspect', 'debian.qcow2');
const withBundle = (cache: string) => ({ GUESTKIT_CLI_BUNDLES: bundles, GUESTKIT_CODE_CACHE: cache, GUESTKIT_DEBUG_CODE_CACHE: '1' });
const cacheLine = (stderr: string) => /guestkit: code cache (\w+)/.exec(stderr)?.[1];
/** The inspection without its timings (stats), which differ from run to run. */
const facts = (stdout: string) => {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  delete doc.stats;
  return doc;
};

test('scripts/build-cli.mjs builds exactly the bundles src/cli/launch.ts runs commands from', () => {
  assert.deepEqual(readdirSync(bundles).sort(), [...new Set(Object.values(BUNDLED))].map((b) => `${b}.cjs`).sort());
  // the launcher reads them as latin1 and compiles them as they are: ASCII, one CommonJS function
  for (const name of readdirSync(bundles)) {
    const bytes = readFileSync(join(bundles, name));
    assert.equal(bytes.findIndex((b) => b > 0x7f), -1, `${name} is ASCII`);
    assert.match(bytes.toString('latin1'), /^\(function \(exports, require, module, __filename, __dirname\) \{[^]*\n\}\)$/);
  }
});

test('the bundled inspect gives the same inspection as the ES modules, and its code cache is written once, then accepted', async () => {
  const cache = join(work, 'cache-a');
  const first = await runCli(['inspect', '--json', debian()], undefined, { env: withBundle(cache) });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(cacheLine(first.stderr), 'none');
  const files = readdirSync(cache);
  assert.equal(files.length, 1);
  assert.match(files[0]!, /^inspect-\d+-\d+-\d+-v\d+\.\d+\.\d+-\w+\.bin$/);

  const second = await runCli(['inspect', '--json', debian()], undefined, { env: withBundle(cache) });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(cacheLine(second.stderr), 'accepted');

  const modules = await runCli(['inspect', '--json', debian()], undefined, { env: { GUESTKIT_NO_BUNDLE: '1', GUESTKIT_DEBUG_CODE_CACHE: '1' } });
  assert.equal(modules.code, 0, modules.stderr);
  assert.equal(cacheLine(modules.stderr), undefined, 'GUESTKIT_NO_BUNDLE=1 runs the ES modules');
  assert.deepEqual(facts(second.stdout), facts(modules.stdout));
  assert.deepEqual(facts(first.stdout), facts(modules.stdout));
});

test('from an accepted code cache, the bundle still loads the native SQLite addon (rpmdb.sqlite of the RPM guest)', async () => {
  const cache = join(work, 'cache-rpm');
  const rpm = fixture('inspect', 'rpm-guest.qcow2');
  for (const expected of ['none', 'accepted']) {
    const r = await runCli(['inspect', '--json', rpm], undefined, { env: withBundle(cache) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(cacheLine(r.stderr), expected);
    const doc = JSON.parse(r.stdout) as { operating_systems: { applications?: unknown[]; warnings?: string[] }[] };
    assert.equal(doc.operating_systems[0]!.applications?.length, 7, JSON.stringify(doc.operating_systems[0]!.warnings));
  }
});

test('a damaged code cache is rejected by V8, the command still works, and the cache is rewritten', async () => {
  const cache = join(work, 'cache-b');
  const first = await runCli(['inspect', '--json', debian()], undefined, { env: withBundle(cache) });
  assert.equal(first.code, 0, first.stderr);
  const file = join(cache, readdirSync(cache)[0]!);
  const good = readFileSync(file);
  const bad = Buffer.from(good);
  bad.fill(0x5a, 16);
  writeFileSync(file, bad);
  const damaged = await runCli(['inspect', '--json', debian()], undefined, { env: withBundle(cache) });
  assert.equal(damaged.code, 0, damaged.stderr);
  assert.equal(cacheLine(damaged.stderr), 'rejected');
  assert.deepEqual(facts(damaged.stdout), facts(first.stdout));
  const again = await runCli(['inspect', '--json', debian()], undefined, { env: withBundle(cache) });
  assert.equal(cacheLine(again.stderr), 'accepted');
});

test('GUESTKIT_CODE_CACHE=0 turns the cache off; usage and image errors read the same from the bundle', async () => {
  const off = await runCli(['inspect', '--json', debian()], undefined, { env: withBundle('0') });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(cacheLine(off.stderr), 'off');

  const env = { GUESTKIT_CLI_BUNDLES: bundles, GUESTKIT_CODE_CACHE: '0' };
  const usage = await runCli(['inspect', '--bogus', debian()], undefined, { env });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^guestkit: USAGE_ERROR: unknown option '--bogus'/);
  assert.equal(usage.stderr.trimEnd().split('\n').length, 1);
  const missing = await runCli(['inspect', join(work, 'nope.qcow2')], undefined, { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^guestkit: IMAGE_NOT_FOUND: /);
  const version = await runCli(['inspect', '--version'], undefined, { env });
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version);
});

test('a reader that closes the pipe early (`| head -c 100`) ends the command quietly with status 0, bundled or not', () => {
  const compiled = import.meta.url.includes('/dist/test/');
  const entry = compiled ? [join(repoRoot(), 'dist', 'src', 'cli', 'run.js')] : ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'run.ts')];
  const cmd = [process.execPath, ...entry, 'inspect', '--json', debian()].map((a) => `'${a}'`).join(' ');
  for (const env of [withBundle(join(work, 'cache-pipe')), { GUESTKIT_NO_BUNDLE: '1' }]) {
    // the JSON (~88 KB) is more than a pipe's 64 KiB buffer: the writer is mid-write when head exits
    const r = spawnSync('bash', ['-c', `set -o pipefail; ${cmd} | head -c 100 > /dev/null`], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|at /);
  }
});
