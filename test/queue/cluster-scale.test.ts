import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Cluster } from '../helpers/cluster.js';
import { testJob } from '../helpers/serve.js';
import { sleep } from '../worker/helpers/daemon.js';

/**
 * The scale scenario of cluster mode with real processes: three `guestkit worker` processes
 * and a `guestkit serve` (API only) on one PostgreSQL store, with the queue on Redis and again
 * on BullMQ's PostgreSQL backend (the same database). What is
 * judged comes from the store (attempts, transitions, results) and from the queue's own
 * event stream, never from the clock; timeouts are hang guards only.
 */

const WORKERS = ['worker-1', 'worker-2', 'worker-3'];
const SLOTS = 4;
let c: Cluster;

const echoDoc = (id: string, priority: number, over: Record<string, unknown> = {}) =>
  testJob('system.echo', { message: id }, { job_id: id, execution: { priority, max_attempts: 3, ...over } });

interface JobRow {
  job_id: string;
  priority: number;
  status: string;
  attempts: number;
  done_attempts: number;
  completions: number;
  results: number;
  claim_seq: string;
  claimed_by: string;
}

/** Per job: its attempts, completed attempts, completed transitions, result rows, first claim's sequence. */
async function jobRows(prefix: string): Promise<JobRow[]> {
  return c.sql<JobRow>(
    `SELECT j.job_id, j.priority, j.status,
       (SELECT count(*)::integer FROM attempts a WHERE a.job_id = j.job_id) AS attempts,
       (SELECT count(*)::integer FROM attempts a WHERE a.job_id = j.job_id AND a.status = 'completed') AS done_attempts,
       (SELECT count(*)::integer FROM transitions t WHERE t.job_id = j.job_id AND t.to_status = 'completed') AS completions,
       (SELECT count(*)::integer FROM results r WHERE r.job_id = j.job_id) AS results,
       (SELECT min(t.id) FROM transitions t WHERE t.job_id = j.job_id AND t.to_status = 'assigned') AS claim_seq,
       (SELECT min(t.worker_id) FROM transitions t WHERE t.job_id = j.job_id AND t.to_status = 'assigned') AS claimed_by
     FROM jobs j WHERE j.job_id LIKE $1 ORDER BY j.job_id`,
    [`${prefix}%`],
  );
}

/** The pool queue's event stream (Redis), in the order the queue's scripts ran: job id, event, previous state. */
async function queueEvents(): Promise<{ jobId: string; event: string; prev?: string }[]> {
  const r = new Redis(c.redis.url, { maxRetriesPerRequest: null });
  try {
    const entries = (await r.xrange('bull:guestkit.default:events', '-', '+')) as [string, string[]][];
    const out: { jobId: string; event: string; prev?: string }[] = [];
    for (const [, fields] of entries) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      if (f.jobId && f.event) out.push({ jobId: f.jobId, event: f.event, prev: f.prev });
    }
    return out;
  } finally {
    r.disconnect();
  }
}

for (const backend of ['redis', 'postgres'] as const) describe(`cluster at scale: serve + 3 workers, queue on ${backend === 'redis' ? 'Redis' : 'PostgreSQL'}, store on PostgreSQL`, { timeout: 600_000 }, () => {
  before(async () => {
    c = await Cluster.start({ workerArgs: ['--max-concurrent', String(SLOTS)], queue: backend });
  });

  after(async () => {
    await c?.stop();
  });

  test('1,000 jobs of mixed priority submitted before the run begins: each completes exactly once, in priority order', async () => {
    // the workers are up (placement accepts only what a live worker can run), the queue paused
    await c.setPaused(true);
    await Promise.all(WORKERS.map((w) => c.startWorker(w)));
    // priorities 1..10 interleaved in submission order, so arrival order and priority disagree
    const docs = Array.from({ length: 1000 }, (_, i) => echoDoc(`prio-${String(i).padStart(4, '0')}`, 1 + ((i * 7) % 10)));
    const ids = await c.submit(docs);
    assert.equal(ids.length, 1000);
    assert.deepEqual(await c.statuses('prio-'), { pending: 1000 });
    // serve's SLA gauge is the store's count, whoever will run the jobs
    const dflt = { pool: 'default', namespace: 'default' };
    assert.equal(await c.metric('guestkit_queue_waiting_jobs', dflt), 1000);
    assert.ok((await c.metric('guestkit_queue_oldest_age_seconds', dflt))! >= 0);
    await c.setPaused(false);
    assert.deepEqual(await c.waitFinal('prio-', 1000), { completed: 1000 });

    const rows = await jobRows('prio-');
    assert.equal(rows.length, 1000);
    for (const r of rows) {
      assert.deepEqual([r.status, r.attempts, r.done_attempts, r.completions, r.results], ['completed', 1, 1, 1, 1], `${r.job_id} ran and completed exactly once: ${JSON.stringify(r)}`);
    }
    const prio = new Map(rows.map((r) => [r.job_id, r.priority]));

    // the queue's own order of events: whenever a job is handed out (made active), no job of
    // higher priority is waiting. A fetch that finds no free slot gives its job back (active →
    // waiting), and then it waits again like any other.
    // (Redis: its event stream replays the hand-outs; the PostgreSQL backend keeps no such log)
    const waiting = new Set(backend === 'redis' ? ids : []);
    let handOuts = backend === 'redis' ? 0 : ids.length;
    const events = backend === 'redis' ? (await queueEvents()).filter((e) => e.jobId.startsWith('prio-')) : [];
    for (const e of events) {
      if (e.event === 'waiting' && e.prev === 'active') waiting.add(e.jobId);
      if (e.event !== 'active') continue;
      handOuts++;
      waiting.delete(e.jobId);
      const p = prio.get(e.jobId)!;
      const higher = [...waiting].filter((w) => prio.get(w)! > p);
      assert.deepEqual(higher, [], `hand-out ${handOuts}: ${e.jobId} (priority ${p}) while ${higher.length} jobs of higher priority wait, e.g. ${higher[0]} (${prio.get(higher[0]!)})`);
    }
    assert.ok(handOuts >= 1000, `every job handed out (${handOuts} hand-outs)`);
    assert.equal(waiting.size, 0);
    // serve counts the queue wait of every job the three other processes ran, once each (it
    // reads jobs that ended more than 10 s ago: polled, hang guard only)
    const end = Date.now() + 60_000;
    let counted: number | undefined;
    while ((counted = await c.metric('guestkit_queue_wait_seconds_count', dflt)) !== 1000 && Date.now() < end) await sleep(500);
    assert.equal(counted, 1000);
    assert.equal(await c.metric('guestkit_queue_waiting_jobs', dflt), undefined, 'nothing waits any more');

    // the store's claim order, per worker process: each claims its leases in the order the
    // queue handed them over, give or take the fetches under way at once (one per slot at most).
    // Across processes the store's order also depends on how fast each process runs next.
    const claims = [...rows].sort((a, b) => Number(a.claim_seq) - Number(b.claim_seq));
    for (const w of WORKERS) {
      const mine = claims.filter((r) => r.claimed_by === w);
      assert.ok(mine.length > 0, `${w} ran jobs`);
      let worst = 0;
      for (let i = 0; i < mine.length; i++) {
        let lowerBefore = 0;
        for (let k = 0; k < i; k++) if (mine[k]!.priority < mine[i]!.priority) lowerBefore++;
        worst = Math.max(worst, lowerBefore);
      }
      // two fetch loops per worker (its pool's queue and its own), each with up to SLOTS fetches in flight
      assert.ok(worst < 2 * SLOTS, `${w}: a job claimed after ${worst} lower-priority ones (slots: ${SLOTS}, two fetch loops)`);
    }
  });

  test('kill -9 of a worker mid-run: every job ends, none completes twice under its idempotency key, the lost attempts are retried elsewhere', async () => {
    const n = 300;
    const victim = 'worker-2';
    const docs = Array.from({ length: n }, (_, i) => testJob('test.sleep', { seconds: 0.2 }, { job_id: `kill-${String(i).padStart(3, '0')}`, execution: { max_attempts: 3, idempotency_key: `key-kill-${i}` } }));
    await c.submit(docs);
    // mid-run: some done, and the victim running jobs of its own
    await c.waitRows<{ done: number; held: number }>(
      `SELECT count(*) FILTER (WHERE status = 'completed')::integer AS done, count(*) FILTER (WHERE status = 'running' AND worker_id = $2)::integer AS held FROM jobs WHERE job_id LIKE $1`,
      ['kill-%', victim],
      (r) => r[0]!.done >= 30 && r[0]!.held >= 2,
      `${victim} running jobs after the first 30 completed`,
    );
    await c.workers.get(victim)!.daemon.stop('SIGKILL');
    assert.deepEqual(await c.waitFinal('kill-', n), { completed: n });

    // one completed attempt, one completed transition and one result per idempotency key
    const keys = await c.sql<{ key: string; jobs: number; done: number; completions: number; results: number }>(
      `SELECT j.idempotency_key AS key, count(DISTINCT j.job_id)::integer AS jobs,
         (SELECT count(*)::integer FROM attempts a JOIN jobs k ON k.job_id = a.job_id WHERE k.idempotency_key = j.idempotency_key AND a.status = 'completed') AS done,
         (SELECT count(*)::integer FROM transitions t JOIN jobs k ON k.job_id = t.job_id WHERE k.idempotency_key = j.idempotency_key AND t.to_status = 'completed') AS completions,
         (SELECT count(*)::integer FROM results r JOIN jobs k ON k.job_id = r.job_id WHERE k.idempotency_key = j.idempotency_key) AS results
       FROM jobs j WHERE j.job_id LIKE 'kill-%' GROUP BY j.idempotency_key`,
    );
    assert.equal(keys.length, n);
    for (const k of keys) assert.deepEqual([k.jobs, k.done, k.completions, k.results], [1, 1, 1, 1], `${k.key}: ${JSON.stringify(k)}`);

    // the victim's attempts in flight are recorded lost, and a later attempt elsewhere completed the job
    const lost = await c.sql<{ job_id: string; attempt: number; status: string; after: { attempt: number; worker_id: string; status: string }[] }>(
      `SELECT a.job_id, a.attempt, a.status,
         (SELECT json_agg(json_build_object('attempt', b.attempt, 'worker_id', b.worker_id, 'status', b.status) ORDER BY b.attempt) FROM attempts b WHERE b.job_id = a.job_id AND b.attempt > a.attempt) AS after
       FROM attempts a WHERE a.job_id LIKE 'kill-%' AND a.worker_id = $1 AND a.status <> 'completed'`,
      [victim],
    );
    assert.ok(lost.length >= 1, `the killed worker held jobs: ${JSON.stringify(lost)}`);
    for (const l of lost) {
      assert.equal(l.status, 'lost', JSON.stringify(l));
      const last = l.after?.at(-1);
      assert.ok(last && last.status === 'completed' && last.worker_id !== victim, `${l.job_id}: attempt ${l.attempt} lost on ${victim}, then ${JSON.stringify(l.after)}`);
    }
    await c.startWorker(victim);
  });

  if (backend === 'redis') test('Redis restarted mid-run (append-only): no accepted job is lost, jobs accepted during the outage run too, each completes once', async () => {
    const n = 200;
    await c.submit(Array.from({ length: n }, (_, i) => testJob('test.sleep', { seconds: 0.05 }, { job_id: `redis-${String(i).padStart(3, '0')}` })));
    await c.waitRows<{ done: number }>(`SELECT count(*)::integer AS done FROM jobs WHERE job_id LIKE 'redis-%' AND status = 'completed'`, [], (r) => r[0]!.done >= 40, '40 completed');
    await c.redis.stopServer();
    let during: string[];
    try {
      // the store is PostgreSQL: serve still accepts; the queue's adds wait for Redis
      during = await c.submit(Array.from({ length: 20 }, (_, i) => testJob('system.echo', { message: 'during' }, { job_id: `redis-during-${String(i).padStart(2, '0')}` })));
      await sleep(3000); // away past the lock (3 s): the jobs that were running are seen stalled
    } finally {
      await c.redis.startServer();
    }
    assert.equal(during.length, 20);
    assert.deepEqual(await c.waitFinal('redis-', n + 20), { completed: n + 20 });
    const rows = await jobRows('redis-');
    for (const r of rows) assert.deepEqual([r.status, r.done_attempts, r.completions, r.results], ['completed', 1, 1, 1], `${r.job_id}: ${JSON.stringify(r)}`);
  });

  test('PostgreSQL restarted mid-run: the workers pause while it is away and resume, nothing is lost, each job completes once', async () => {
    const n = 200;
    await c.submit(Array.from({ length: n }, (_, i) => testJob('test.sleep', { seconds: 0.05 }, { job_id: `pg-restart-${String(i).padStart(3, '0')}` })));
    await c.waitRows<{ done: number }>(`SELECT count(*)::integer AS done FROM jobs WHERE job_id LIKE 'pg-restart-%' AND status = 'completed'`, [], (r) => r[0]!.done >= 40, '40 completed');
    const logs = new Map(WORKERS.map((w) => [w, c.workers.get(w)!.daemon.logs.length]));
    // away longer than a store write waits for it (5 s): the workers call the store unavailable
    await c.postgres.restart({ downMs: 8000 });
    assert.deepEqual(await c.waitFinal('pg-restart-', n), { completed: n });
    const rows = await jobRows('pg-restart-');
    for (const r of rows) assert.deepEqual([r.status, r.done_attempts, r.completions, r.results], ['completed', 1, 1, 1], `${r.job_id}: ${JSON.stringify(r)}`);
    // the workers that reached the store meanwhile paused, then resumed (their own log lines)
    const paused = WORKERS.filter((w) => c.workers.get(w)!.daemon.logs.slice(logs.get(w)).some((l) => /^job store unavailable/.test(l.msg)));
    assert.ok(paused.length >= 1, `a worker paused: ${c.tails()}`);
    for (const w of paused) {
      const after = c.workers.get(w)!.daemon.logs.slice(logs.get(w));
      const at = after.findIndex((l) => /^job store unavailable/.test(l.msg));
      assert.ok(after.slice(at).some((l) => /^job store available again/.test(l.msg)), `${w} resumed`);
    }
  });
});
