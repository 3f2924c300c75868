/**
 * No-op job throughput and enqueue→ack latency through guestkit's BullmqQueue (enqueue,
 * reserve, ack: what the worker does around a job, without the store) on Redis and on
 * BullMQ's PostgreSQL backend, next to a raw BullMQ Queue + Worker (processor returning at
 * once) on Redis, side by side in one run, at concurrency 1 and 16. Private servers: a
 * redis-server with appendonly, fsync every second (as a production Redis would run; the
 * tests use `always`), and a PostgreSQL with fsync on and synchronous_commit off (the same
 * window of loss as Redis's everysec; the tests run with fsync off).
 *
 *   node --import tsx bench/bullmq-queue.ts [jobs=5000] [runs=3]
 *
 * Prints per (engine, concurrency) the median over runs of jobs/s (first enqueue to last
 * ack) and of p50/p99 latency (each job's enqueue to its ack, or to the processor's
 * return for raw BullMQ: both before the completion write), and ratios to raw BullMQ.
 */
import { execSync } from 'node:child_process';
import { Queue, Worker } from 'bullmq';
import { BullmqQueue, redisOptions, type BullmqBackend } from '../src/queue/bullmq/bullmq-queue.js';
import { jobDoc } from '../test/store/contract.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis, type RedisInstance } from '../test/helpers/redis.js';

const jobs = Number(process.argv[2] ?? 5000);
const runs = Number(process.argv[3] ?? 3);

interface Sample {
  rate: number;
  p50: number;
  p99: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);
let seq = 0;

async function guestkit(backend: BullmqBackend, concurrency: number): Promise<Sample> {
  const name = `bench-gk-${process.pid}-${++seq}`;
  const q = await BullmqQueue.open({ backend, name, maxFetchers: Math.max(1, concurrency), trackOthers: false });
  const sent = new Map<string, number>();
  const lat: number[] = [];
  const docs = Array.from({ length: jobs }, (_, i) => jobDoc(`${name}-${i}`));
  const t0 = performance.now();
  for (const job of docs) {
    sent.set(job.job_id, performance.now());
    q.enqueue({ job });
  }
  let done = 0;
  const slot = async () => {
    while (done < jobs) {
      const l = await q.reserve();
      if (!l) return;
      q.ack(l, 'completed');
      lat.push(performance.now() - sent.get(l.jobId)!);
      if (++done === jobs) q.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  const t1 = performance.now();
  await q.shutdown();
  return { rate: jobs / ((t1 - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function raw(redis: RedisInstance, concurrency: number): Promise<Sample> {
  const name = `bench-raw-${process.pid}-${++seq}`;
  const connection = redisOptions(redis.url) as never;
  const q = new Queue(name, { connection });
  const sent = new Map<string, number>();
  const lat: number[] = [];
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const w = new Worker(
    name,
    async (job) => {
      lat.push(performance.now() - sent.get(job.id!)!);
      if (++done === jobs) finish();
    },
    { connection, concurrency, autorun: false, removeOnComplete: { count: 0 } },
  );
  await q.waitUntilReady();
  await w.waitUntilReady();
  void w.run();
  const t0 = performance.now();
  // the same shape of producer: adds of one turn in one addBulk
  const batch: { name: string; data: unknown; opts: object }[] = [];
  for (let i = 0; i < jobs; i++) {
    const job = jobDoc(`${name}-${i}`);
    sent.set(job.job_id, performance.now());
    batch.push({ name: job.operation, data: { e: { job } }, opts: { jobId: job.job_id, priority: 6, removeOnComplete: true } });
  }
  await q.addBulk(batch);
  await all;
  const t1 = performance.now();
  await w.close();
  await q.close();
  return { rate: jobs / ((t1 - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}

const sh = (cmd: string) => {
  try {
    return execSync(cmd, { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};

const redis = await startRedis({ settings: { appendfsync: 'everysec' } });
const pg = await startPostgres({ settings: { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'off' } });
try {
  const redisQ: BullmqBackend = { kind: 'redis', url: redis.url };
  const pgQ: BullmqBackend = { kind: 'postgres', url: await pg.createDatabase('bench') };
  const pgVersion = (await pg.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
  console.log(`machine: nproc ${sh('nproc')}, ${sh("lscpu | grep 'Model name' | sed 's/Model name: *//'")}`);
  console.log(`load before: ${sh('uptime')}`);
  console.log(`${jobs} no-op jobs per run, ${runs} runs, medians; redis-server ${sh('redis-server --version | cut -d" " -f3')} appendonly everysec; PostgreSQL ${pgVersion} fsync on, synchronous_commit off`);
  const rows: string[] = [];
  for (const c of [1, 16]) {
    const g: Sample[] = [];
    const p: Sample[] = [];
    const r: Sample[] = [];
    // alternate, so a load change on the machine hits all three
    for (let i = 0; i < runs; i++) {
      r.push(await raw(redis, c));
      g.push(await guestkit(redisQ, c));
      p.push(await guestkit(pgQ, c));
    }
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const rr = m(r, 'rate');
    const lat = (xs: Sample[]) => `${m(xs, 'p50').toFixed(1)} / ${m(xs, 'p99').toFixed(1)}`;
    const cell = (xs: Sample[]) => `${m(xs, 'rate').toFixed(0)} (${((m(xs, 'rate') / rr) * 100).toFixed(0)} %)`;
    rows.push(`| ${c} | ${rr.toFixed(0)} | ${cell(g)} | ${cell(p)} | ${lat(r)} | ${lat(g)} | ${lat(p)} |`);
    const list = (xs: Sample[]) => xs.map((x) => x.rate.toFixed(0)).join(', ');
    console.log(`c=${c}: raw ${list(r)} jobs/s; guestkit on Redis ${list(g)}; guestkit on PostgreSQL ${list(p)}`);
  }
  console.log('\n| concurrency | raw BullMQ (Redis) jobs/s | BullmqQueue on Redis jobs/s (of raw) | BullmqQueue on PostgreSQL jobs/s (of raw) | raw p50 / p99 ms | Redis p50 / p99 ms | PostgreSQL p50 / p99 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(`\nload after: ${sh('uptime')}`);
} finally {
  await redis.stop();
  await pg.stop();
}
