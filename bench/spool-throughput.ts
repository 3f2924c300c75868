// Echo jobs per second through the file spool (1 and 2 workers) and latency from file drop
// to result file. Runs the worker from the sources (tsx) so it measures the code as it is;
// --dist runs the compiled worker (npm run build first).
// Usage: node --import tsx bench/spool-throughput.ts [jobs=4000] [runs=3] [--dist]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 4000);
const RUNS = Number(args[1] ?? 3);
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

async function run(workers: number): Promise<{ jobsPerSec: number; p50: number; p99: number; dropPerSec: number; cpuPerJob: number }> {
  const root = join(ROOT, 'bench', 'out', `spool-${workers}w`);
  rmSync(root, { recursive: true, force: true });
  const jobs = join(root, 'jobs');
  const results = join(root, 'results');
  mkdirSync(jobs, { recursive: true });
  mkdirSync(results, { recursive: true });
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
    await waitCount(results, '-result.json', 20, 30_000);
    await sleep(300);
    // files are written beforehand into a staging folder on the same filesystem and renamed
    // in: the submitter's own writes would otherwise compete with the worker for the 2 cores
    const staging = join(root, 'staging');
    mkdirSync(staging, { recursive: true });
    for (let i = 0; i < N; i++) {
      const id = `job-${String(i).padStart(6, '0')}`;
      writeFileSync(join(staging, `${id}.json`), doc(id));
    }
    const dropped = new Map<string, number>();
    const t0 = performance.now();
    const wall0 = Date.now();
    for (let i = 0; i < N; i++) {
      const id = `job-${String(i).padStart(6, '0')}`;
      renameSync(join(staging, `${id}.json`), join(jobs, `${id}.json`));
      dropped.set(id, Date.now());
    }
    const cpu0 = procs.map(cpuMs);
    const dropSecs = (performance.now() - t0) / 1000;
    await waitCount(results, '-result.json', N + 20, 120_000);
    const cpuPerJob = procs.reduce((a, p, i) => a + cpuMs(p) - cpu0[i]!, 0) / N;
    const secs = (performance.now() - t0) / 1000;
    const lat: number[] = [];
    for (const [id, at] of dropped) lat.push(statSync(join(results, `${id}-result.json`)).mtimeMs - at);
    void wall0;
    return { jobsPerSec: N / secs, p50: pct(lat, 50), p99: pct(lat, 99), dropPerSec: N / dropSecs, cpuPerJob };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.on('exit', r)))));
  }
}

const median = (xs: number[]) => pct(xs, 50);

/** User + system CPU time of a process so far (Linux /proc), in ms. */
function cpuMs(p: ChildProcess): number {
  try {
    const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}
console.log(`spool throughput: ${N} echo jobs, ${RUNS} runs, ${cpus().length} cores, worker ${compiled ? 'compiled (dist)' : 'tsx'}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const workers of [1, 2]) {
  const rs = [];
  for (let i = 0; i < RUNS; i++) rs.push(await run(workers));
  console.log(
    `${workers} worker(s): median ${median(rs.map((r) => r.jobsPerSec)).toFixed(0)} jobs/s, latency drop→result p50 ${median(rs.map((r) => r.p50)).toFixed(0)} ms, p99 ${median(rs.map((r) => r.p99)).toFixed(0)} ms  (runs: ${rs.map((r) => r.jobsPerSec.toFixed(0)).join(', ')} jobs/s; the submitter dropped ${median(rs.map((r) => r.dropPerSec)).toFixed(0)} files/s; worker CPU ${median(rs.map((r) => r.cpuPerJob)).toFixed(3)} ms/job = ${(1000 / median(rs.map((r) => r.cpuPerJob))).toFixed(0)} jobs/s per core; load average ${loadavg()[0]!.toFixed(1)})`,
  );
}
