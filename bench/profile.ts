// The full profile (security, compliance, hardening, performance) of the debootstrapped Debian
// fixture as a cold CLI process, against `guestkit inspect --json` alone on the same image.
// Target (issue 14): profile <= 1.5x inspect, in wall time and in CPU time (user + sys).
// Medians of N alternating runs; the machine is printed.
// Run: npm run build && node --import tsx bench/profile.ts [runs=9] [image] [--guestkit-root=DIR ...]
// Each --guestkit-root is another compiled checkout (tsc + scripts/build-cli.mjs there), run in the
// same alternation as the others (e.g. before/after a change); default: this checkout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const repo = join(import.meta.dirname, '..');
const roots = args.filter((a) => a.startsWith('--guestkit-root=')).map((a) => resolve(a.slice('--guestkit-root='.length)));
if (roots.length === 0) roots.push(repo);
const [runsArg, imageArg] = args.filter((a) => !a.startsWith('--'));
const runs = Number(runsArg ?? 9);
const image = imageArg ?? join(repo, 'test/fixtures/out/inspect/debian.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
for (const r of roots) if (!existsSync(join(r, 'dist/src/cli/run.js'))) throw new Error(`missing ${r}/dist: run npm run build there`);

interface Sample {
  wall: number;
  cpu: number;
}

/**
 * One cold process, timed by bash's `time` (getrusage of the child: ms resolution). Each checkout
 * gets its own code cache folder: the launcher keeps one cache per bundle name and drops the
 * others, so two checkouts sharing the user's folder would evict each other's every run.
 */
function once(root: string, argv: string[]): Sample {
  const cache = join(repo, 'bench/out/code-cache', root.replace(/[^A-Za-z0-9]+/g, '_'));
  mkdirSync(cache, { recursive: true });
  const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>/dev/null', 'bench', process.execPath, join(root, 'dist/src/cli/run.js'), ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, GUESTKIT_CODE_CACHE: cache },
  });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [wall, user, sys] = last.split(' ').map(Number) as [number, number, number];
  if (r.status !== 0 || !(wall >= 0)) throw new Error(`guestkit ${argv.join(' ')} (${root}): exit ${r.status}: ${r.stderr}`);
  return { wall: wall * 1000, cpu: (user + sys) * 1000 };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const commands: [string, string[]][] = [
  ['inspect --json', ['inspect', '--json', image]],
  ['profile all --json', ['profile', image, '--profile', 'all', '--json']],
];
// warm-up: the page cache, and each bundle's code cache (written by its first run)
for (const root of roots) for (const [, argv] of commands) once(root, argv);
const times = roots.map(() => commands.map(() => [] as Sample[]));
const loads: number[] = [];
// Alternating, so that load drift from other work hits every command and checkout alike.
for (let i = 0; i < runs; i++) {
  roots.forEach((root, k) => commands.forEach(([, argv], c) => times[k]![c]!.push(once(root, argv))));
  loads.push(loadavg()[0]!);
}
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load during the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
console.log(`image: ${image}; ${runs} runs each, alternating, medians`);
roots.forEach((root, k) => {
  const m = (c: number, f: keyof Sample) => median(times[k]![c]!.map((s) => s[f]));
  console.log(`${root}:`);
  commands.forEach(([label], c) => {
    console.log(`  ${label.padEnd(20)} wall ${m(c, 'wall').toFixed(0)} ms, CPU ${m(c, 'cpu').toFixed(0)} ms  (wall ${times[k]![c]!.map((s) => s.wall.toFixed(0)).join(' ')}; CPU ${times[k]![c]!.map((s) => s.cpu.toFixed(0)).join(' ')})`);
  });
  console.log(`  ratio profile/inspect: wall ${(m(1, 'wall') / m(0, 'wall')).toFixed(2)}, CPU ${(m(1, 'cpu') / m(0, 'cpu')).toFixed(2)} (target <= 1.5)`);
  // each profile run against the inspect run just before it: drift in the machine's load cancels
  const paired = (f: keyof Sample) => median(times[k]![1]!.map((s, i) => s[f] / times[k]![0]![i]![f]));
  console.log(`  median of paired ratios: wall ${paired('wall').toFixed(2)}, CPU ${paired('cpu').toFixed(2)}`);
});
