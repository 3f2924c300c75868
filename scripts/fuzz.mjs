#!/usr/bin/env node
/**
 * Coverage-guided fuzzing of one parser entry point with Jazzer.js (libFuzzer for Node).
 *
 *   npm run fuzz -- --list
 *   npm run fuzz -- --target fs-ext4 --time 10m        (or --runs 100000)
 *   npm run fuzz -- --target fs-ext4 --keep .cache/fuzz/artifacts/fs-ext4/crash-…
 *
 * Targets are fuzz/targets/*.ts, run compiled (dist/fuzz). The corpus grows in
 * .cache/fuzz/corpus/NAME, seeded from the real fixtures; findings land in
 * .cache/fuzz/artifacts/NAME, and --keep copies one into fuzz/regressions/NAME, which
 * `npm test` replays. Outside the normal test run on purpose: it runs for minutes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name) => args.includes(`--${name}`);

function fail(msg) {
  process.stderr.write(`fuzz: ${msg}\n`);
  process.exit(2);
}

/** "90s", "10m", "1h", or seconds. */
function seconds(s) {
  const m = /^(\d+)([smh]?)$/.exec(s ?? '');
  if (!m) fail(`--time ${s}: expected e.g. 90s, 10m, 1h`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600 }[m[2]];
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
  if (r.status !== 0) fail(`${cmd} ${argv.join(' ')} exited ${r.status}`);
  return r.stdout;
}

const target = opt('target');
const dist = join(root, 'dist', 'fuzz');

if (!flag('no-build')) {
  process.stderr.write('fuzz: compiling (tsc)…\n');
  // tsc emits even with type errors; those are reported, and fuzzing goes on with what compiled
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.stderr.write('fuzz: tsc reported type errors (above); fuzzing what it emitted\n');
}
if (!existsSync(join(dist, 'entry.js'))) fail('dist/fuzz/entry.js is missing: run without --no-build');

if (flag('list') || !target) {
  const names = readdirSync(join(dist, 'targets')).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3));
  const out = run(process.execPath, ['--input-type=module', '-e', `
    const { loadTarget } = await import(${JSON.stringify(join(dist, 'lib', 'target.js'))});
    for (const n of ${JSON.stringify(names)}) console.log(n.padEnd(18), (await loadTarget(n)).describe);`]);
  process.stdout.write(out);
  if (!target) process.stderr.write('fuzz: pick one with --target NAME\n');
  process.exit(flag('list') ? 0 : 2);
}

const cache = join(root, '.cache', 'fuzz');
const corpus = join(cache, 'corpus', target);
const seeds = join(cache, 'seeds', target);
const artifacts = join(cache, 'artifacts', target) + '/';
const regressions = join(root, 'fuzz', 'regressions', target);
for (const d of [corpus, artifacts, regressions]) mkdirSync(d, { recursive: true });

const keep = opt('keep');
if (keep) {
  const to = join(regressions, basename(keep));
  copyFileSync(keep, to);
  process.stdout.write(`kept ${keep} as ${to}: npm test now replays it\n`);
  process.exit(0);
}

if (!existsSync(seeds) || flag('reseed')) {
  process.stderr.write(`fuzz: seeds for ${target} from the fixtures: `);
  process.stderr.write(run(process.execPath, [join(dist, 'seeds.js'), target, seeds]));
}
const sizes = [seeds, corpus].flatMap((d) => readdirSync(d).map((f) => statSync(join(d, f)).size));
const maxLen = Math.max(4096, ...sizes);

const [loader, libdir] = run('bash', [join(root, 'scripts', 'fuzz-runtime.sh')]).trim().split('\n');
const time = seconds(opt('time') ?? '60s');
const runs = opt('runs');
const jazzer = join(root, 'node_modules', '@jazzer.js', 'core', 'dist', 'cli.js');
const argv = [
  '--library-path', libdir, process.execPath, '--max-old-space-size=2048', '--stack-size=4000', jazzer,
  join(dist, 'entry.js'), corpus, seeds, regressions,
  '--disable_bug_detectors=.*', // our own findings only: untyped errors, hangs, memory
  '-i', `${join('dist', 'src')}/`,
  '--timeout', String(Number(opt('timeout-ms') ?? 10_000)),
  '--',
  `-max_total_time=${time}`, ...(runs ? [`-runs=${runs}`] : []),
  `-max_len=${maxLen}`, '-rss_limit_mb=3072', `-artifact_prefix=${artifacts}`, '-print_final_stats=1',
];
process.stderr.write(`fuzz: ${target} for ${runs ? `${runs} runs or ` : ''}${time} s, max_len ${maxLen}\n`);
const started = Date.now();
const child = spawn(loader, argv, { cwd: root, env: { ...process.env, GUESTKIT_FUZZ_TARGET: target }, stdio: ['ignore', 'inherit', 'pipe'] });
let tail = '';
child.stderr.on('data', (c) => {
  process.stderr.write(c);
  tail = (tail + c).slice(-400_000);
});
child.on('exit', (code) => {
  const stat = (k) => Number(new RegExp(`stat::${k}:\\s*(\\d+)`).exec(tail)?.[1] ?? NaN);
  const cov = [...tail.matchAll(/cov: (\d+) ft: (\d+)/g)].pop();
  const found = readdirSync(artifacts);
  const report = {
    target,
    exit_code: code,
    // the final stats can be interleaved with the dictionary dump: libFuzzer's "Done N runs" or "#N DONE" lines too
    executions: stat('number_of_executed_units') || Number([...tail.matchAll(/Done (\d+) runs|#(\d+)\s+DONE/g)].map((m) => m[1] ?? m[2]).pop() ?? NaN) || null,
    wall_seconds: Math.round((Date.now() - started) / 100) / 10,
    coverage_edges: cov ? Number(cov[1]) : null,
    features: cov ? Number(cov[2]) : null,
    corpus_inputs: readdirSync(corpus).length,
    findings: found,
  };
  mkdirSync(join(cache, 'reports'), { recursive: true });
  writeFileSync(join(cache, 'reports', `${target}.json`), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(JSON.stringify(report) + '\n');
  if (found.length) process.stdout.write(`findings in ${artifacts}; after the fix keep each: npm run fuzz -- --target ${target} --keep ${artifacts}${found[0]}\n`);
  process.exit(code ?? 1);
});
