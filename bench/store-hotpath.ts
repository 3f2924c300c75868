// The SQLite store's share of an echo job, in process: submit N jobs as a spool scan does (all
// in one turn), then begin+end each as the worker's inline path does (beginAndEnd), through
// the group commit, on a file in --dir (default: a tmpfs under /dev/shm). Prints µs of
// main-thread CPU per job for each phase (medians of the runs), to size the store's cost
// apart from the spool's files.
// Usage: node --import tsx bench/store-hotpath.ts [jobs=4000] [runs=5] [--dir=DIR]
// STORE_BENCH_SQL='…' runs that SQL on each fresh store first, to size a schema idea (e.g. dropping
// the jobs table's indexes saved ~15 µs per submit and ~15 per end on the AMD EPYC machine).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { SqliteJobStore } from '../src/store/sqlite/sqlite-job-store.js';
import { validateJob, type JobDocument, type JobResult } from '../src/protocol/index.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 4000);
const RUNS = Number(args[1] ?? 5);
const dirArg = process.argv.find((a) => a.startsWith('--dir='))?.slice(6) ?? '/dev/shm';

function job(i: number): JobDocument {
  const v = validateJob({ version: '1.0', job_id: `echo-job-${i}`, created_at: '2026-01-30T16:00:00Z', kind: 'VMOperation', operation: 'system.echo', payload: { type: 'system.echo.v1', data: { message: 'hello', i } } });
  if (!v.ok || !v.job) throw new Error('bad job');
  return v.job;
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function once(): Promise<{ submit: number; end: number }> {
  const dir = mkdtempSync(join(dirArg, 'gk-store-bench-'));
  const store = SqliteJobStore.open(join(dir, 'guestkit.db'));
  if (process.env.STORE_BENCH_SQL) store.db.exec(process.env.STORE_BENCH_SQL);
  const jobs = Array.from({ length: N }, (_, i) => job(i));
  try {
    let c0 = cpuUs();
    await Promise.all(jobs.map((j) => store.submit({ job: j, source: `${j.job_id}.json`, owner: 'w1' })));
    const submit = (cpuUs() - c0) / N;
    c0 = cpuUs();
    const ends: Promise<unknown>[] = [];
    for (const j of jobs) {
      ends.push(
        store.beginAndEnd!(j.job_id, 'w1', { source: `${j.job_id}.json` }, ({ attempt, nextSequence }) => {
          const ts = new Date().toISOString();
          const result = { job_id: j.job_id, status: 'completed', completed_at: ts, worker_id: 'w1', execution_summary: { started_at: ts, duration_seconds: 0, attempt }, outputs: {}, metrics: { disk_read_bytes: 0, peak_memory_mb: 0, cpu_seconds: 0 }, observability: {}, data: { message: 'hello' } } as unknown as JobResult;
          // an echo job's three: its attempt started, the handler's line, completed
          const ev = (k: number, phase: string, progress_percent: number, message: string) => ({ job_id: j.job_id, sequence: nextSequence + k, timestamp: ts, phase, progress_percent, message });
          return { status: 'completed', result, events: [ev(0, 'validation', 0, 'attempt 1 of 3 started'), ev(1, 'result_generation', 50, 'echoing payload'), ev(2, 'result_generation', 100, 'completed')] };
        }),
      );
      if (ends.length % 64 === 0) await Promise.all(ends.splice(0));
    }
    await Promise.all(ends);
    const end = (cpuUs() - c0) / N;
    return { submit, end };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rs: { submit: number; end: number }[] = [];
for (let r = 0; r < RUNS; r++) rs.push(await once());
console.log(`store hot path, ${N} echo jobs, ${RUNS} runs, medians; ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`  submit (durable pending):         ${median(rs.map((r) => r.submit)).toFixed(1)} µs CPU/job`);
console.log(`  beginAndEnd (start + end + result): ${median(rs.map((r) => r.end)).toFixed(1)} µs CPU/job`);
