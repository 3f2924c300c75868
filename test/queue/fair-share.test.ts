import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Lease } from '../../src/ports/job-queue.js';
import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { rng } from '../helpers/rng.js';
import { jobDoc } from '../store/contract.js';

const job = (id: string, namespace?: string, priority = 5) =>
  jobDoc(id, { execution: { ...jobDoc(id).execution, priority }, ...(namespace ? { metadata: { namespace } } : {}) });

/** A reserve() watched without waiting: `got()` is what it resolved to, undefined while it waits. */
function watch(q: EmbeddedQueue): { got: () => Lease | null | undefined } {
  let got: Lease | null | undefined;
  void q.reserve().then((l) => (got = l));
  return { got: () => got };
}
const turn = () => new Promise<void>((r) => setImmediate(r));

test('fair share: 1,000 jobs of A queued first do not starve the 10 of B (2 slots)', async () => {
  const q = new EmbeddedQueue();
  for (let i = 0; i < 1000; i++) q.enqueue({ job: job(`a-${i}`, 'team-a') });
  const running: Lease[] = [(await q.reserve())!, (await q.reserve())!];
  for (let i = 0; i < 10; i++) q.enqueue({ job: job(`b-${i}`, 'team-b') });
  const order: string[] = [];
  // each slot acks its oldest job and takes the next
  while (order.filter((id) => id.startsWith('b-')).length < 10) {
    const done = running.shift()!;
    q.ack(done, 'completed');
    const next = (await q.reserve())!;
    running.push(next);
    order.push(next.jobId);
    assert.ok(order.length <= 20, `B still waiting after ${order.length} reserves: ${order.join(' ')}`);
  }
  assert.deepEqual(order.filter((id) => id.startsWith('b-')), Array.from({ length: 10 }, (_, i) => `b-${i}`));
  q.close();
});

test('fair share: priority then arrival inside a namespace; the better head breaks in-flight ties', async () => {
  const q = new EmbeddedQueue();
  q.enqueue({ job: job('a-low', 'a', 1) });
  q.enqueue({ job: job('a-high', 'a', 9) });
  q.enqueue({ job: job('a-mid', 'a', 5) });
  q.enqueue({ job: job('a-high2', 'a', 9) });
  q.enqueue({ job: job('b-mid', 'b', 5) });
  q.enqueue({ job: job('d-1') }); // no namespace: 'default'
  const order: string[] = [];
  for (let i = 0; i < 6; i++) order.push((await q.reserve())!.jobId);
  // nothing acked: in-flight counts grow, so each namespace gets a turn before any gets a second
  assert.deepEqual(order, ['a-high', 'b-mid', 'd-1', 'a-high2', 'a-mid', 'a-low']);
  assert.equal(q.inFlight('a'), 4);
  assert.equal(q.inFlight('default'), 1);
  q.close();
});

test('fair share: acks, retries, releases and removes keep in-flight counts right', async () => {
  const q = new EmbeddedQueue();
  for (const id of ['a1', 'a2', 'a3', 'a4']) q.enqueue({ job: job(id, 'a') });
  const l1 = (await q.reserve())!;
  const l2 = (await q.reserve())!;
  assert.equal(q.inFlight('a'), 2);
  q.ack(l1, 'completed');
  assert.equal(q.inFlight('a'), 1);
  q.ack(l1, 'completed'); // a second ack of the same lease changes nothing
  assert.equal(q.inFlight('a'), 1);
  q.retry(l2, 60_000); // back-off: out of flight, counted as waiting
  assert.equal(q.inFlight('a'), 0);
  assert.equal(q.size, 3);
  const l3 = (await q.reserve())!;
  q.release(l3);
  assert.equal(q.inFlight('a'), 0);
  const l4 = (await q.reserve())!;
  q.retry({ ...l4, rerun: true }, 0); // a copy of the lease (as the worker passes it) settles too
  assert.equal(q.inFlight('a'), 0);
  assert.equal((await q.reserve())!.jobId, l4.jobId);
  assert.equal(q.inFlight('a'), 1);
  // a job taken out while waiting (cancel) and finished outside the queue: its ack is no lease
  q.enqueue({ job: job('b1', 'b') });
  const removed = q.remove('b1')!;
  q.ack({ ...removed, jobId: 'b1' }, 'cancelled');
  assert.equal(q.inFlight('b'), 0);
  assert.equal(q.remove('a2')?.job.job_id, 'a2');
  assert.equal(q.size, 0);
  q.close();
  assert.equal(q.inFlight('a'), 0);
});

test('fair share: a namespace at its running cap waits; an ack or a cap change lets it run', async () => {
  const caps = new Map<string, number | null>([['capped', 1]]);
  const q = new EmbeddedQueue({ cap: (ns) => caps.get(ns) ?? null });
  q.enqueue({ job: job('c1', 'capped', 9) });
  q.enqueue({ job: job('c2', 'capped', 9) });
  q.enqueue({ job: job('o1', 'other', 1) });
  q.enqueue({ job: job('o2', 'other', 1) });
  const first = (await q.reserve())!;
  assert.equal(first.jobId, 'c1');
  assert.equal((await q.reserve())!.jobId, 'o1');
  assert.equal((await q.reserve())!.jobId, 'o2', 'the capped namespace is skipped, though its job ranks higher');
  const taking = watch(q);
  await turn();
  assert.equal(taking.got(), undefined, 'only capped work is left');
  q.ack(first, 'completed');
  await turn();
  assert.equal(taking.got()?.jobId, 'c2', 'a waiting taker gets the freed namespace');
  q.enqueue({ job: job('c3', 'capped') });
  const again = watch(q);
  await turn();
  assert.equal(again.got(), undefined);
  caps.set('capped', 5);
  q.capsChanged();
  await turn();
  assert.equal(again.got()?.jobId, 'c3');
  caps.set('paused', 0);
  q.enqueue({ job: job('p1', 'paused') });
  const paused = watch(q);
  await turn();
  assert.equal(paused.got(), undefined, 'a cap of 0 holds the namespace');
  assert.deepEqual(q.close().map((e) => e.job.job_id), ['p1']);
  await turn();
  assert.equal(paused.got(), null);
});

test('fair share: removing a namespace head moves on to its next job', async () => {
  const q = new EmbeddedQueue();
  q.enqueue({ job: job('a1', 'a', 9) });
  q.enqueue({ job: job('a2', 'a', 1) });
  q.enqueue({ job: job('b1', 'b', 5) });
  q.remove('a1');
  assert.equal((await q.reserve())!.jobId, 'b1');
  assert.equal((await q.reserve())!.jobId, 'a2');
  q.enqueue({ job: job('x1', 'x') });
  q.remove('x1');
  const next = watch(q);
  await turn();
  assert.equal(next.got(), undefined);
  q.close();
});

test('fair share: a choice looks at a bounded number of namespaces, however many wait', async () => {
  let looks = 0;
  const q = new EmbeddedQueue({
    cap: () => {
      looks++;
      return null;
    },
  });
  for (let i = 0; i < 5000; i++) q.enqueue({ job: job(`n${i}-1`, `ns-${i}`) });
  looks = 0;
  for (let i = 0; i < 100; i++) await q.reserve();
  // each reserve reconsiders only the namespace it took from
  assert.ok(looks <= 100, `${looks} cap look-ups for 100 reserves`);
  q.close();
});

/** The rule written plainly, over every waiting job: the reference the queue must match. */
function reference(waiting: { id: string; ns: string; priority: number; seq: number }[], inFlight: Map<string, number>, cap: (ns: string) => number | null) {
  let best: (typeof waiting)[number] | undefined;
  const key = (w: (typeof waiting)[number]) => [inFlight.get(w.ns) ?? 0, -w.priority, w.seq];
  for (const w of waiting) {
    const c = cap(w.ns);
    if (c !== null && (inFlight.get(w.ns) ?? 0) >= c) continue;
    if (!best) best = w;
    else {
      const [a, b] = [key(w), key(best)];
      if (a[0]! < b[0]! || (a[0] === b[0] && (a[1]! < b[1]! || (a[1] === b[1] && a[2]! < b[2]!)))) best = w;
    }
  }
  return best;
}

test('fair share: 3,000 random operations match the plain rule', async () => {
  const r = rng(11);
  const cap = (ns: string) => (ns === 'n0' ? 2 : null);
  const q = new EmbeddedQueue({ cap });
  const waiting: { id: string; ns: string; priority: number; seq: number }[] = [];
  const out: Lease[] = [];
  const inFlight = new Map<string, number>();
  const bump = (ns: string, d: number) => inFlight.set(ns, (inFlight.get(ns) ?? 0) + d);
  let seq = 0;
  let n = 0;
  // a reserve that found nothing waits; it must get exactly what the rule picks once something may run
  let taker: ReturnType<typeof watch> | undefined;
  const served = (step: number, got: Lease | null | undefined) => {
    const want = reference(waiting, inFlight, cap);
    assert.equal(got?.jobId, want?.id, `step ${step}`);
    if (!got || !want) return false;
    waiting.splice(waiting.indexOf(want), 1);
    out.push(got);
    bump(want.ns, 1);
    return true;
  };
  for (let step = 0; step < 3000; step++) {
    if (taker) {
      await turn();
      if (served(step, taker.got())) taker = undefined;
    }
    const op = r();
    if (op < 0.4) {
      const ns = `n${Math.floor(r() * 6)}`;
      const priority = Math.floor(r() * 3);
      const id = `j${n++}`;
      q.enqueue({ job: job(id, ns, priority) });
      waiting.push({ id, ns, priority, seq: seq++ });
    } else if (op < 0.7) {
      if (taker) continue;
      const w = watch(q);
      await turn();
      if (!served(step, w.got())) taker = w;
    } else if (op < 0.9 && out.length > 0) {
      const l = out.splice(Math.floor(r() * out.length), 1)[0]!;
      const ns = l.job.metadata!.namespace!;
      bump(ns, -1);
      const how = r();
      if (how < 0.6) q.ack(l, 'completed');
      else if (how < 0.8) q.release(l);
      else {
        q.retry(l, 0);
        waiting.push({ id: l.jobId, ns, priority: l.job.execution.priority, seq: seq++ });
      }
    } else if (waiting.length > 0) {
      const w = waiting.splice(Math.floor(r() * waiting.length), 1)[0]!;
      assert.equal(q.remove(w.id)?.job.job_id, w.id);
    }
    assert.equal(q.size, waiting.length);
  }
  for (const [ns, k] of inFlight) assert.equal(q.inFlight(ns), k, ns);
  q.close();
});
