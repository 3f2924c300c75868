// Echo jobs through the file spool with 1 and 2 workers on one folder and one store:
//  burst  — N files appear at once (renamed in from a staging folder, so the submitter's own
//           writes do not compete with the workers for the cores): jobs/s until the last
//           result file exists, worker CPU per job, and drop→result latency (mostly queueing);
//  paced  — files arrive at a steady RATE per second: drop→result latency p50/p99 when the
//           workers keep up.
// Runs the worker from the sources (tsx) so it measures the code as it is; --dist runs the
// compiled worker (npm run build first). Median of RUNS runs each. Note the load average:
// other work on the machine moves these numbers a lot.
// Usage: node --import tsx bench/spool-throughput.ts [jobs=4000] [runs=3] [rate=500] [--dist] [--no-burst|--no-paced] [--one-only|--two-only]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 4000);
const RUNS = Number(args[1] ?? 3);
const RATE = Number(args[2] ?? 500);
const compiled = process.argv.includes('--dist') && existsSync(join(ROOT, 'dist', 'src', 'cli', 'run.js'));
const entry = compiled ? [join(ROOT, 'dist', 'src', 'cli', 'run.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'run.ts')];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function doc(id: string) {
  return JSON.stringify({
    version: '1.0',
    job_id: id,
    created_at: '2026-01-30T16:00:00Z',
    kind: 'VMOperation',
    operation: 'system.echo',
    payload: { type: 'system.echo.v1', data: { message: 'hello', id } },
  });
}

async function waitCount(dir: string, suffix: string, n: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (readdirSync(dir).filter((f) => f.endsWith(suffix)).length >= n) return;
    await sleep(5);
  }
  throw new Error(`only ${readdirSync(dir).filter((f) => f.endsWith(suffix)).length}/${n} in ${dir}`);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** User + system CPU time of a process so far (Linux /proc), in ms. */
function cpuMs(p: ChildProcess): number {
  try {
    const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

interface RunResult {
  jobsPerSec: number;
  p50: number;
  p99: number;
  cpuPerJob: number;
}

async function run(workers: number, mode: 'burst' | 'paced'): Promise<RunResult> {
  const root = join(ROOT, 'bench', 'out', `spool-${workers}w`);
  rmSync(root, { recursive: true, force: true });
  const jobs = join(root, 'jobs');
  const results = join(root, 'results');
  const staging = join(root, 'staging');
  for (const d of [jobs, results, staging]) mkdirSync(d, { recursive: true });
  const procs: ChildProcess[] = [];
  for (let w = 0; w < workers; w++) {
    procs.push(
      spawn(process.execPath, [...entry, 'worker', '--worker-id', `bench-${w}`, '--jobs-dir', jobs, '--results-dir', results, '--data-dir', join(root, 'state'), '--log-level', 'warn', '--max-concurrent', String(cpus().length)], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, GUESTKIT_SPOOL_POLL_MS: '200' },
      }),
    );
  }
  try {
    // warm-up: every worker is up once a few jobs came back
    for (let i = 0; i < 20; i++) writeFileSync(join(jobs, `warm-${i}.json`), doc(`warmup-${String(i).padStart(4, '0')}`));
    await waitCount(results, '-result.json', 20, 60_000);
    await sleep(300);
    const ids = Array.from({ length: N }, (_, i) => `job-${String(i).padStart(6, '0')}`);
    for (const id of ids) writeFileSync(join(staging, `${id}.json`), doc(id));
    const dropped = new Map<string, number>();
    const cpu0 = procs.map(cpuMs);
    const t0 = performance.now();
    if (mode === 'burst') {
      for (const id of ids) {
        renameSync(join(staging, `${id}.json`), join(jobs, `${id}.json`));
        dropped.set(id, Date.now());
      }
    } else {
      const start = Date.now();
      let i = 0;
      while (i < N) {
        const due = Math.min(N, Math.floor(((Date.now() - start) / 1000) * RATE) + 1);
        for (; i < due; i++) {
          renameSync(join(staging, `${ids[i]}.json`), join(jobs, `${ids[i]}.json`));
          dropped.set(ids[i]!, Date.now());
        }
        await sleep(2);
      }
    }
    await waitCount(results, '-result.json', N + 20, 180_000);
    const secs = (performance.now() - t0) / 1000;
    const cpuPerJob = procs.reduce((a, p, i) => a + cpuMs(p) - cpu0[i]!, 0) / N;
    const lat: number[] = [];
    for (const [id, at] of dropped) lat.push(statSync(join(results, `${id}-result.json`)).mtimeMs - at);
    return { jobsPerSec: N / secs, p50: pct(lat, 50), p99: pct(lat, 99), cpuPerJob };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.on('exit', r)))));
  }
}

const median = (xs: number[]) => pct(xs, 50);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

console.log(`spool: ${N} echo jobs per run, ${RUNS} runs, ${cpus().length} cores, worker ${compiled ? 'compiled (dist)' : 'tsx'}, load average ${load()}`);
const modes = (['burst', 'paced'] as const).filter((m) => !process.argv.includes(`--no-${m}`));
const workerCounts = process.argv.includes('--two-only') ? [2] : process.argv.includes('--one-only') ? [1] : [1, 2];
for (const mode of modes) {
  for (const workers of workerCounts) {
    const rs: RunResult[] = [];
    for (let i = 0; i < RUNS; i++) rs.push(await run(workers, mode));
    const what = mode === 'burst' ? `burst of ${N}` : `paced ${RATE}/s`;
    console.log(
      `${what}, ${workers} worker(s): median ${median(rs.map((r) => r.jobsPerSec)).toFixed(0)} jobs/s (runs ${rs.map((r) => r.jobsPerSec.toFixed(0)).join(', ')}); drop→result p50 ${median(rs.map((r) => r.p50)).toFixed(0)} ms, p99 ${median(rs.map((r) => r.p99)).toFixed(0)} ms; worker CPU ${median(rs.map((r) => r.cpuPerJob)).toFixed(3)} ms/job; load average ${load()}`,
    );
  }
}
