// `guestkit sbom` (CycloneDX and SPDX JSON) of the debootstrapped Debian fixture as a cold CLI
// process, side by side with a cold `guestkit inspect --json` of the same image in the same run.
// Target (issue 15): sbom within 10 % of inspect. Medians of N alternating runs; the machine is printed.
// Run: npm run build && node --import tsx bench/sbom.ts [runs=9] [image] [--guestkit-root=DIR]
// (--guestkit-root: the compiled checkout to run, e.g. `git archive HEAD | tar -x -C DIR` + tsc there)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const flag = args.find((a) => a.startsWith('--guestkit-root='));
const [runsArg, imageArg] = args.filter((a) => !a.startsWith('--'));
const repo = join(import.meta.dirname, '..');
const root = flag ? flag.slice('--guestkit-root='.length) : repo;
const runs = Number(runsArg ?? 9);
const image = imageArg ?? join(repo, 'test/fixtures/out/inspect/debian.qcow2');
const cli = join(root, 'dist/src/cli/run.js');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
if (!existsSync(cli)) throw new Error(`missing ${cli}: run npm run build`);
if (!existsSync('/usr/bin/time')) throw new Error('needs /usr/bin/time (Debian package "time")');

/** One cold process under /usr/bin/time: wall ms, and CPU ms (user + sys), which other work on the machine disturbs less. */
function once(argv: string[]): { wall: number; cpu: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S', process.execPath, cli, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`guestkit ${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { wall: wall * 1000, cpu: (user + sys) * 1000 };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const commands: [string, string[]][] = [
  ['inspect --json', ['inspect', '--json', image]],
  ['sbom (cyclonedx-json)', ['sbom', image]],
  ['sbom --format spdx-json', ['sbom', '--format', 'spdx-json', image]],
];
for (const [, argv] of commands) once(argv); // warm the page cache for all alike
const times = commands.map(() => [] as { wall: number; cpu: number }[]);
const loads: number[] = [];
// Alternating, so that load drift from other work hits every command alike.
for (let i = 0; i < runs; i++) {
  commands.forEach(([, argv], k) => times[k]!.push(once(argv)));
  loads.push(loadavg()[0]!);
}
const wall = (k: number) => median(times[k]!.map((t) => t.wall));
const cpu = (k: number) => median(times[k]!.map((t) => t.cpu));
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load during the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
console.log(`image: ${image}; ${runs} runs each, medians`);
commands.forEach(([label], k) => {
  const ratio = k === 0 ? '' : `  ratio to inspect: wall ${(wall(k) / wall(0)).toFixed(2)}, CPU ${(cpu(k) / cpu(0)).toFixed(2)} (target <= 1.10)`;
  console.log(`${label.padEnd(24)} wall ${wall(k).toFixed(0)} ms, CPU ${cpu(k).toFixed(0)} ms  (wall ${times[k]!.map((x) => x.wall.toFixed(0)).join(' ')})${ratio}`);
});
