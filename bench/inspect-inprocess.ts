// In-process `inspect()` of the debootstrapped Debian fixture (2 GiB qcow2), each run a fresh open
// (image, filesystems and caches new; modules loaded and JIT warm): median wall and CPU time,
// bytes and reads pulled from the image, and each stage's median. Target (issue 18): ≤ 25 ms, ≤ 1 MiB.
// Run: node --import tsx bench/inspect-inprocess.ts [runs=41] [--dist[=DIR]] [--image=PATH]
// --dist measures the compiled code (npm run build first; DIR: another tsc outDir) rather than tsx's
// transform of src/ (whose keep-names helpers cost ~10 % here).
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repo = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 41);
const distArg = args.find((a) => a === '--dist' || a.startsWith('--dist='));
const dist = distArg === undefined ? undefined : distArg.length > 7 ? distArg.slice(7) : join(repo, 'dist');
const image = args.find((a) => a.startsWith('--image='))?.slice(8) ?? join(repo, 'test/fixtures/out/inspect/debian.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
const entry = dist ? join(dist, 'src/inspect/index.js') : join(repo, 'src/inspect/index.ts');
if (!existsSync(entry)) throw new Error(`missing ${entry}: npm run build`);
const { inspect } = (await import(pathToFileURL(entry).href)) as typeof import('../src/inspect/index.js');
type Inspection = Awaited<ReturnType<typeof inspect>>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;

console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
// Warm-up: module loading and first compiles are the cold CLI's business (bench/inspect.ts).
for (let i = 0; i < 5; i++) await inspect({ disks: [image] });

// CPU time (every thread of the process) beside wall time: on a loaded machine it moves less.
const results: { ms: number; cpu: number; r: Inspection }[] = [];
for (let i = 0; i < runs; i++) {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await inspect({ disks: [image] });
  const ms = performance.now() - t;
  const d = process.cpuUsage(c);
  results.push({ ms, cpu: (d.user + d.system) / 1000, r });
}
const ms = results.map((x) => x.ms);
const bytes = median(results.map((x) => x.r.stats.bytes_read));
const reads = median(results.map((x) => x.r.stats.reads));
const os = results[0]!.r.operating_systems[0];
console.log(
  `inspect() in process (${dist ? 'dist' : 'tsx'}): median ${median(ms).toFixed(1)} ms (p10 ${pct(ms, 0.1).toFixed(1)}, p90 ${pct(ms, 0.9).toFixed(1)}), ` +
    `CPU ${median(results.map((x) => x.cpu)).toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB in ${reads} reads, ${runs} fresh opens; ` +
    `${os?.applications?.length ?? 0} packages found`,
);
const stages = Object.keys(results[0]!.r.stats.stages_ms);
console.log(`stages (median ms): ${stages.map((s) => `${s} ${median(results.map((x) => x.r.stats.stages_ms[s] ?? 0)).toFixed(1)}`).join(', ')}`);
