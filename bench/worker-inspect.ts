// guestkit.inspect jobs of N distinct images (qcow2 overlays of the Debian fixture, so each job
// opens a new image file) through one `guestkit worker` on the file spool: inspections/s from the
// first job file dropped to the last result written, the worker's RSS (all its threads) sampled
// over the run, its CPU per job, and failures. Target (issue 18): ≥ 100/s on 2 cores, RSS flat.
// Run: node --import tsx bench/worker-inspect.ts [jobs=1000] [--concurrency=N] [--dist[=DIR]] [--root=DIR]
// (--dist runs dist/src/cli/run.js, npm run build first, or DIR/src/cli/run.js of another tsc outDir
// inside the checkout; without it the worker runs src/ with tsx). BENCH_WORKER_NODE_ARGS adds node
// options to the worker (besides the flags of bin/guestkit.js's shebang; BENCH_BIN_FLAGS=0 leaves those out), e.g. "--cpu-prof --cpu-prof-dir=bench/out/prof" (one profile per thread).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const conc = args.find((a) => a.startsWith('--concurrency='))?.slice(14);
const distArg = args.find((a) => a === '--dist' || a.startsWith('--dist='));
const dist = distArg === undefined ? undefined : distArg.length > 7 ? distArg.slice(7) : join(repo, 'dist');
const base = join(repo, 'test/fixtures/out/inspect/debian.qcow2');
if (!existsSync(base)) throw new Error(`missing ${base}: run bash test/fixtures/build-all.sh`);
const out = join(repo, 'bench/out');
const overlays = join(out, 'overlays');
// --root=DIR puts the spool and the store elsewhere (e.g. a tmpfs, to take the disk's journal out)
const root = args.find((a) => a.startsWith('--root='))?.slice(7) ?? join(out, 'worker-inspect');
const WARM = 10;

// Overlays hold no data of their own: every job reads the base through a new image file.
mkdirSync(overlays, { recursive: true });
const images = Array.from({ length: N + WARM }, (_, i) => join(overlays, `ovl-${String(i).padStart(5, '0')}.qcow2`));
let made = 0;
for (const img of images) {
  if (existsSync(img)) continue;
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', img]);
  made++;
}

rmSync(root, { recursive: true, force: true });
const jobs = join(root, 'jobs');
const results = join(root, 'results');
const staging = join(root, 'staging');
for (const d of [jobs, results, staging]) mkdirSync(d, { recursive: true });

const doc = (id: string, image: string) =>
  JSON.stringify({
    version: '1.0',
    job_id: id,
    created_at: new Date().toISOString(),
    kind: 'VMOperation',
    operation: 'guestkit.inspect',
    execution: { attempt: 1, max_attempts: 1, timeout_seconds: 600, priority: 5, cancellable: true },
    payload: { type: 'guestkit.inspect.v1', data: { image: { path: image, format: 'qcow2' } } },
  });

const entry = dist ? [join(dist, 'src/cli/run.js')] : ['--import', 'tsx', join(repo, 'src/cli/run.ts')];
if (dist && !existsSync(entry[0]!)) throw new Error(`--dist: no ${entry[0]}: npm run build first`);
// the node flags the `guestkit` command runs with (its shebang), unless BENCH_BIN_FLAGS=0
const binFlags = process.env.BENCH_BIN_FLAGS === '0' ? [] : (/^#!.*?\bnode\b(.*)$/m.exec(readFileSync(join(repo, 'bin/guestkit.js'), 'utf8'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
const worker = spawn(
  process.execPath,
  [
    ...binFlags,
    ...(process.env.BENCH_WORKER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []),
    ...entry, 'worker', '--worker-id', 'bench-inspect', '--jobs-dir', jobs, '--results-dir', results, '--data-dir', join(root, 'state'),
    '--allow-path', out, '--allow-path', join(repo, 'test/fixtures/out'), '--log-level', 'warn', ...(conc ? ['--max-concurrent', conc] : []),
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const pid = worker.pid!;
let exited = false;
worker.on('exit', () => (exited = true));

/** RSS of the worker process (its threads share it) in MB, and its user+sys CPU seconds. */
function rssMb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
function cpuSec(): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
}
/** CPU seconds per thread kind: the main thread, and the others by name (handler threads, libuv, V8). */
function threadCpu(): Map<string, number> {
  const by = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}#${tid}`;
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      by.set(name, (by.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* a thread that ended meanwhile */
    }
  }
  return by;
}
const count = () => readdirSync(results).filter((f) => f.endsWith('-result.json')).length;
async function waitFor(n: number, ms: number, onTick?: () => void): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (exited) throw new Error(`worker exited with ${count()}/${n} results`);
    onTick?.();
    if (count() >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out with ${count()}/${n} results`);
}

try {
  for (let i = 0; i < WARM; i++) {
    writeFileSync(join(staging, `w${i}.json`), doc(`warmup-${String(i).padStart(6, '0')}`, images[N + i]!));
    renameSync(join(staging, `w${i}.json`), join(jobs, `w${i}.json`));
  }
  await waitFor(WARM, 120_000);
  const ids = Array.from({ length: N }, (_, i) => `inspect-${String(i).padStart(6, '0')}`);
  ids.forEach((id, i) => writeFileSync(join(staging, `${id}.json`), doc(id, images[i]!)));
  const rss: { done: number; mb: number }[] = [];
  const cpu0 = cpuSec();
  const threads0 = threadCpu();
  const t0 = performance.now();
  for (const id of ids) renameSync(join(staging, `${id}.json`), join(jobs, `${id}.json`));
  let last = 0;
  await waitFor(N + WARM, 600_000, () => {
    if (performance.now() - last >= 250) {
      last = performance.now();
      rss.push({ done: count() - WARM, mb: rssMb() });
    }
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuSec() - cpu0;
  const threads1 = threadCpu();
  rss.push({ done: N, mb: rssMb() });
  let failed = 0;
  for (const id of ids) {
    const r = JSON.parse(readFileSync(join(results, `${id}-result.json`), 'utf8')) as { status: string };
    if (r.status !== 'completed') failed++;
  }
  const at = (frac: number) => rss.find((s) => s.done >= frac * N)?.mb ?? NaN;
  console.log(`node flags: ${[...binFlags, ...(process.env.BENCH_WORKER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [])].join(' ') || '(none)'}`);
  console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(
    `worker-inspect: ${N} inspect jobs (distinct qcow2 overlays, ${made} made now), ${conc ?? 'default'} concurrency, ${dist ? 'dist' : 'tsx'}: ` +
      `${(N / secs).toFixed(1)} inspections/s (${secs.toFixed(1)} s), worker CPU ${((cpu * 1000) / N).toFixed(1)} ms/job, ${failed} not completed`,
  );
  // threads that ended during the run (idle timeout) are missing here: the split is a lower bound
  const split = [...threads1].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  console.log(`worker CPU by thread (name#tid), ms/job: ${split.slice(0, 8).map(([k, v]) => `${k} ${((v * 1000) / N).toFixed(1)}`).join(', ')}`);
  const steps = Array.from({ length: 10 }, (_, i) => at((i + 1) / 10).toFixed(0)).join(' ');
  console.log(`worker RSS MB at 10%, 20%, … 100% of the jobs: ${steps}; peak ${Math.max(...rss.map((s) => s.mb)).toFixed(0)}`);
} finally {
  worker.kill('SIGTERM');
  await new Promise((r) => (exited ? r(undefined) : worker.once('exit', r)));
}
