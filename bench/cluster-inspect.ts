// guestkit.inspect jobs through cluster mode: one `guestkit serve` (API only, --max-concurrent 0)
// and 2 `guestkit worker` processes (--max-concurrent 1 each, one per core) on a private Redis
// (the BullMQ queue) and a private PostgreSQL (the store). First the time of one inspection
// alone (jobs submitted one at a time: the median of their run times), then N jobs of the same
// Debian fixture submitted in one batch: wall time from the POST to the last completion against
// the ideal N × one inspection / 2 workers.
// Run: npm run build && node --import tsx bench/cluster-inspect.ts [jobs=1000] [--root=DIR]
// (--root: another checkout whose dist/ runs, e.g. a clean clone built apart).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { cpuMsOf, load, machine, median, pct, ROOT, sleep, startServe, track } from './lib/serve-proc.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1000);
const root = args.find((a) => a.startsWith('--root='))?.slice(7) ?? ROOT;
const image = join(ROOT, 'test/fixtures/out/inspect/debian.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
const SOLO = 15;

const out = join(ROOT, 'bench/out/cluster-inspect');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const redis = await startRedis();
const pg = await startPostgres();
const db = await pg.createDatabase('bench');
const procs: ChildProcess[] = [];
try {
  const common = ['--store', db, '--queue', redis.url, '--allow-path', dirname(image)];
  const serve = await startServe({ root, dataDir: join(out, 'serve', 'data'), outDir: join(out, 'serve'), logLevel: 'warn', maxConcurrent: 0, extraArgs: common, cpuProf: process.env.BENCH_SERVE_PROF === '1' });
  for (const id of ['w1', 'w2']) {
    const dir = mkdtempSync(join(tmpdir(), `gk-bench-${id}-`));
    const fd = openSync(join(out, `${id}.log`), 'w');
    const p = spawn(process.execPath, [join(root, 'bin', 'guestkit.js'), 'worker', ...common, '--worker-id', id, '--max-concurrent', '1', '--log-level', 'warn', '--jobs-dir', join(dir, 'jobs'), '--results-dir', join(dir, 'results'), '--data-dir', join(dir, 'data')], { stdio: ['ignore', fd, fd], cwd: root });
    closeSync(fd);
    track(p);
    procs.push(p);
  }
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${serve.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${serve.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const j = (await r.json()) as T;
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
  for (let i = 0; ; i++) {
    const ws = await api<{ items: { worker_id: string; live: boolean }[] }>('GET', '/workers');
    if (ws.items.filter((w) => w.live && w.worker_id.startsWith('w')).length === 2) break;
    if (i > 600) throw new Error('the 2 workers did not register');
    await sleep(100);
  }
  const doc = (id: string) => ({ version: '1.0', kind: 'VMOperation', job_id: id, operation: 'guestkit.inspect', payload: { type: 'guestkit.inspect.v1', data: { image: { path: image, format: 'qcow2' } } } });
  const final = new Set(['completed', 'failed', 'cancelled', 'timeout']);

  // one at a time: what one inspection costs in a worker
  const solo: number[] = [];
  const soloWall: number[] = [];
  for (let i = 0; i < SOLO; i++) {
    const id = `solo-${String(i).padStart(4, '0')}`;
    const t0 = performance.now();
    await api('POST', '/jobs', doc(id));
    for (;;) {
      const j = await api<{ status: string }>('GET', `/jobs/${id}`);
      if (final.has(j.status)) break;
      await sleep(5);
    }
    soloWall.push(performance.now() - t0);
    const r = await api<{ status: string; execution_summary: { duration_seconds: number } }>('GET', `/jobs/${id}/result`);
    if (r.status !== 'completed') throw new Error(`${id} ended ${r.status}`);
    if (i >= 3) solo.push(r.execution_summary.duration_seconds * 1000); // the first ones warm the threads
  }
  const one = median(solo);

  // the batch
  const cpu0 = [serve.pid, ...procs.map((p) => p.pid!)].map(cpuMsOf);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) await api('POST', '/jobs', { jobs: Array.from({ length: Math.min(1000, N - i) }, (_, k) => doc(`batch-${String(i + k).padStart(5, '0')}`)) });
  const posted = performance.now() - t0;
  let counts: Record<string, number> = {};
  for (;;) {
    counts = (await api<{ counts: Record<string, number> }>('GET', '/stats/counts?q=batch-')).counts;
    if ((counts.completed ?? 0) + (counts.failed ?? 0) + (counts.timeout ?? 0) + (counts.cancelled ?? 0) >= N) break;
    await sleep(100);
  }
  const wall = performance.now() - t0;
  const cpu = [serve.pid, ...procs.map((p) => p.pid!)].map((pid, i) => cpuMsOf(pid) - cpu0[i]!);
  const ideal = (N * one) / 2;
  console.log(`machine: ${machine()}; load ${load()}`);
  console.log(`one inspection alone in a worker: median ${one.toFixed(1)} ms run (p90 ${pct(solo, 90).toFixed(1)}), submit→complete ${median(soloWall).toFixed(1)} ms`);
  console.log(`${N} jobs: posted in ${posted.toFixed(0)} ms; all ended after ${(wall / 1000).toFixed(2)} s (${((N * 1000) / wall).toFixed(1)} jobs/s); ${JSON.stringify(counts)}`);
  console.log(`ideal ${N} × ${one.toFixed(1)} ms / 2 = ${(ideal / 1000).toFixed(2)} s → wall is ${(wall / ideal).toFixed(2)}× the ideal`);
  console.log(`CPU during the batch: serve ${(cpu[0]! / 1000).toFixed(1)} s, w1 ${(cpu[1]! / 1000).toFixed(1)} s, w2 ${(cpu[2]! / 1000).toFixed(1)} s (${((cpu[1]! + cpu[2]!) / N).toFixed(1)} ms per job in the workers)`);
  await serve.stop();
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await sleep(2000);
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  await redis.stop();
  await pg.stop();
}
