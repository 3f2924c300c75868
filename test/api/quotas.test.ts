import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { QuotaConfigSchema, QuotaGate, UNLIMITED, type QuotaConfig, type QuotaLoad } from '../../src/api/quotas.js';
import { isGuestkitError } from '../../src/protocol/index.js';
import { EmbeddedQueue } from '../../src/queue/embedded/embedded-queue.js';
import { jobDoc } from '../store/contract.js';

const YAML = `
quotas:
  default: {max_queued: 100, max_running: 4, jobs_per_hour: 1000}
  namespaces:
    team-a: {max_running: 1}
    batch: {max_queued: ~, jobs_per_hour: 50}
`;

test('quota config from YAML: defaults, per-namespace overrides, null is unlimited', () => {
  const cfg = QuotaConfigSchema.parse(parseYaml(YAML).quotas);
  assert.deepEqual(cfg, {
    default: { maxQueued: 100, maxRunning: 4, perHour: 1000 },
    namespaces: { 'team-a': { maxRunning: 1 }, batch: { maxQueued: null, perHour: 50 } },
  });
  const gate = new QuotaGate(cfg, () => Promise.reject(new Error('not asked')));
  assert.deepEqual(gate.limits('team-a'), { maxQueued: 100, maxRunning: 1, perHour: 1000 });
  assert.deepEqual(gate.limits('batch'), { maxQueued: null, maxRunning: 4, perHour: 50 });
  assert.deepEqual(gate.limits('elsewhere'), cfg.default);
  assert.equal(gate.runningCap('team-a'), 1);
  assert.equal(gate.runningCap('elsewhere'), 4);
  assert.deepEqual(QuotaConfigSchema.parse({}), { default: UNLIMITED, namespaces: {} });
  assert.deepEqual(QuotaConfigSchema.parse({ default: { max_running: 2 } }).default, { ...UNLIMITED, maxRunning: 2 });
});

test('quota config: misspelt keys, negative or fractional limits are refused', () => {
  for (const bad of [{ default: { max_queue: 5 } }, { default: { max_queued: -1 } }, { default: { jobs_per_hour: 1.5 } }, { namespaces: { a: { max_running: 'ten' } } }, { limits: {} }]) {
    assert.equal(QuotaConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

/** A store stand-in: counts the reads; `now` is a hand-driven clock. */
function setup(cfg: Partial<QuotaConfig['default']>, load: QuotaLoad = { queued: 0, running: 0, submittedLastHour: 0 }) {
  const t = { now: 1_000_000, reads: 0, load };
  const gate = new QuotaGate({ default: { ...UNLIMITED, ...cfg }, namespaces: {} }, async () => {
    t.reads++;
    return { ...t.load };
  }, { ttlMs: 250, settleMs: 100, now: () => t.now });
  return { t, gate };
}

const quotaError = (quota: string, fields: Record<string, unknown>) => (e: unknown) => {
  assert.ok(isGuestkitError(e, 'QUOTA_EXCEEDED'), String(e));
  assert.equal(e.details?.quota, quota);
  for (const [k, v] of Object.entries(fields)) assert.equal(e.details?.[k], v, k);
  assert.match(e.message, new RegExp(`namespace "${String(e.details?.namespace)}".*${quota}.*limit ${String(e.details?.limit)}`));
  return true;
};

test('max_queued: the job over the limit is refused with the quota, limit, current count and a retry delay', async () => {
  const { gate } = setup({ maxQueued: 3 }, { queued: 2, running: 0, submittedLastHour: 2 });
  await gate.check('team-a', 1);
  await assert.rejects(gate.check('team-a', 1), quotaError('max_queued', { limit: 3, current: 3, namespace: 'team-a', retry_after_seconds: 5 }));
  await assert.rejects(gate.check('other', 2), quotaError('max_queued', { limit: 3, current: 2, requested: 2 }), 'a batch is admitted whole or not at all');
  await gate.check('other', 1);
});

test('jobs_per_hour: refused past the limit; the retry delay is the average time for one slot to free', async () => {
  const { gate } = setup({ perHour: 60 }, { queued: 0, running: 0, submittedLastHour: 59 });
  await gate.check('ns', 1);
  await assert.rejects(gate.check('ns', 1), quotaError('jobs_per_hour', { limit: 60, current: 60, retry_after_seconds: 60 }));
  await assert.rejects(gate.check('ns', 2), quotaError('jobs_per_hour', { retry_after_seconds: 120 }));
});

test('5,000 checks within the ttl read the store once; a burst cannot overshoot the limit', async () => {
  const { t, gate } = setup({ maxQueued: 4000 });
  const outcomes = await Promise.allSettled(Array.from({ length: 5000 }, () => gate.check('burst', 1)));
  assert.equal(t.reads, 1, 'concurrent checks share one read');
  assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 4000);
  // the store has not seen them yet (still 0 queued): later checks within the ttl are still refused
  t.now += 200;
  await assert.rejects(gate.check('burst', 1), quotaError('max_queued', { current: 4000 }));
  assert.equal(t.reads, 1);
});

test('a fresh read replaces what the store counted, and keeps admissions too recent to be in it', async () => {
  const { t, gate } = setup({ maxQueued: 5 });
  await gate.check('ns', 1); // T: read (0 queued), admitted
  t.now += 200;
  for (let i = 0; i < 3; i++) await gate.check('ns', 1); // T + 200, within the ttl: no read
  assert.equal(t.reads, 1);
  // T + 260: the store counts the first job only; the read starts 60 ms after the other
  // three were admitted (within settleMs): they are counted on top, the first is not
  t.now += 60;
  t.load = { queued: 1, running: 0, submittedLastHour: 1 };
  await gate.check('ns', 1);
  assert.equal(t.reads, 2);
  await assert.rejects(gate.check('ns', 1), quotaError('max_queued', { current: 5 }));
  // T + 1 s: the store has all five, workers took three
  t.now += 740;
  t.load = { queued: 2, running: 3, submittedLastHour: 5 };
  for (let i = 0; i < 3; i++) await gate.check('ns', 1);
  await assert.rejects(gate.check('ns', 1), quotaError('max_queued', { current: 5 }));
  assert.equal(t.reads, 3);
});

test('no limits at submit: the store is never read; a failing read refuses nothing and is not cached', async () => {
  const { t, gate } = setup({ maxRunning: 2 });
  for (let i = 0; i < 100; i++) await gate.check('ns', 1);
  assert.equal(t.reads, 0);
  let fail = true;
  const g2 = new QuotaGate({ default: { ...UNLIMITED, maxQueued: 5 }, namespaces: {} }, async () => {
    if (fail) throw new Error('store unavailable');
    return { queued: 0, running: 0, submittedLastHour: 0 };
  });
  await assert.rejects(g2.check('ns', 1), /store unavailable/);
  fail = false;
  await g2.check('ns', 1);
});

test('max_running is enforced at dispatch: the gate caps the queue per namespace', async () => {
  const gate = new QuotaGate(QuotaConfigSchema.parse(parseYaml(YAML).quotas), async () => ({ queued: 0, running: 0, submittedLastHour: 0 }));
  const q = new EmbeddedQueue({ cap: (ns) => gate.runningCap(ns) });
  const job = (id: string, namespace: string) => ({ job: jobDoc(id, { metadata: { namespace } }) });
  for (let i = 0; i < 3; i++) q.enqueue(job(`a${i}`, 'team-a'));
  for (let i = 0; i < 6; i++) q.enqueue(job(`o${i}`, 'other'));
  const taken: string[] = [];
  for (let i = 0; i < 5; i++) taken.push((await q.reserve())!.jobId);
  // team-a runs one at a time (max_running 1); other up to the default 4
  assert.deepEqual(taken, ['a0', 'o0', 'o1', 'o2', 'o3']);
  assert.equal(q.inFlight('team-a'), 1);
  assert.equal(q.inFlight('other'), 4);
  q.close();
});
