// The full profile (security, compliance, hardening, performance) of the debootstrapped Debian
// fixture as a cold CLI process, against `guestkit inspect --json` alone on the same image.
// Target (issue 14): profile <= 1.5x inspect. Medians of N alternating runs; the machine is printed.
// Run: npm run build && node --import tsx bench/profile.ts [runs=7] [image]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 7);
const image = process.argv[3] ?? join(repo, 'test/fixtures/out/inspect/debian.qcow2');
const cli = join(repo, 'dist/src/cli/run.js');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
if (!existsSync(cli)) throw new Error('missing dist/: run npm run build');

function once(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`guestkit ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const inspect = ['inspect', '--json', image];
const profile = ['profile', image, '--profile', 'all', '--json'];
once(inspect);
once(profile);
const ti: number[] = [];
const tp: number[] = [];
for (let i = 0; i < runs; i++) {
  ti.push(once(inspect));
  tp.push(once(profile));
}
const mi = median(ti);
const mp = median(tp);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`image: ${image}`);
console.log(`inspect --json     median ${mi.toFixed(0)} ms  (${ti.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`profile all --json median ${mp.toFixed(0)} ms  (${tp.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`ratio profile/inspect ${(mp / mi).toFixed(2)} (target <= 1.5)`);
