/**
 * Job store throughput: submit → begin → finish of `system.echo` jobs, each lane walking
 * its jobs one after the other, at 1, 16 and 256 lanes at once; jobs/s (3 durable writes
 * per job). PostgreSQL on a private server (test/helpers/postgres.ts) with fsync on
 * (durable, what a cluster runs) and off (what the tests run), next to the embedded
 * SQLite store on the same disk. `--workers=2` splits the lanes over two store instances
 * (two worker processes' worth of connections) sharing the database.
 *
 *   node --import tsx bench/pg-store.ts [jobs=3000] [--workers=1|2] [--lanes=1,16,256]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStore } from '../src/ports/job-store.js';
import type { JobDocument, JobResult } from '../src/protocol/index.js';
import { PostgresJobStore } from '../src/store/postgres/pg-job-store.js';
import { SqliteJobStore } from '../src/store/sqlite/sqlite-job-store.js';
import { startPostgres } from '../test/helpers/postgres.js';

const args = process.argv.slice(2);
const jobs = Number(args.find((a) => /^\d+$/.test(a)) ?? 3000);
const workers = Number(args.find((a) => a.startsWith('--workers='))?.split('=')[1] ?? 1);
const laneSet = (args.find((a) => a.startsWith('--lanes='))?.split('=')[1] ?? '1,16,256').split(',').map(Number);

const doc = (id: string): JobDocument =>
  ({
    version: '1.0',
    job_id: id,
    created_at: '2026-01-30T16:00:00Z',
    kind: 'VMOperation',
    operation: 'system.echo',
    execution: { priority: 5, timeout_seconds: 60, max_attempts: 2, attempt: 1, cancellable: true },
    payload: { type: 'system.echo.v1', data: { id } },
    metadata: { namespace: 'bench', labels: { env: 'bench' } },
  }) as JobDocument;

const result = (id: string): JobResult =>
  ({ job_id: id, status: 'completed', worker_id: 'w', execution_summary: { started_at: '2026-01-30T16:00:00Z', duration_seconds: 0, attempt: 1 }, data: { echo: id }, metrics: { cpu_seconds: 0.001, wall_seconds: 0.001 } }) as unknown as JobResult;

let run = 0;
async function measure(stores: JobStore[], lanes: number, n: number): Promise<number> {
  const prefix = `b${++run}-`;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const s = stores[lane % stores.length]!;
      const w = `w${lane % stores.length}`;
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const id = `${prefix}${i}`;
        await s.submit({ job: doc(id) });
        await s.begin(id, w);
        await s.finish(id, 'completed', result(id));
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function bench(name: string, open: () => Promise<JobStore[]>): Promise<void> {
  const stores = await open();
  try {
    await measure(stores, 16, 300); // warm-up: connections, plans
    const cells: string[] = [];
    for (const lanes of laneSet) {
      const n = lanes === 1 ? Math.min(jobs, 1000) : jobs;
      cells.push(`${lanes} lanes: ${Math.round(await measure(stores, lanes, n))} jobs/s`);
    }
    console.log(`${name.padEnd(28)} ${cells.join('   ')}`);
  } finally {
    for (const s of stores) await s.close();
  }
}

console.log(`job store bench: submit+begin+finish, ${jobs} jobs per cell, ${workers} store instance(s); ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

const dir = mkdtempSync(join(tmpdir(), 'gk-bench-sqlite-'));
try {
  await bench('sqlite (WAL, NORMAL)', async () => {
    const first = SqliteJobStore.open(dir);
    const rest = await Promise.all(Array.from({ length: workers - 1 }, async () => SqliteJobStore.open(dir)));
    return [first, ...rest];
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

for (const fsync of ['on', 'off'] as const) {
  const pgi = await startPostgres({ settings: fsync === 'on' ? { fsync: 'on', full_page_writes: 'on' } : {} });
  try {
    const url = await pgi.createDatabase('bench');
    await bench(`postgres (fsync=${fsync})`, async () => Promise.all(Array.from({ length: workers }, () => PostgresJobStore.open(url, { maxConnections: 4 }))));
  } finally {
    await pgi.stop();
  }
}
