import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openControlStores } from '../../src/store/sqlite/control-db.js';
import { call, echo, removeDataDir, startServe, testJob, waitFinal, type Served } from '../helpers/serve.js';

/** The dashboard's endpoints on a spawned `guestkit serve`: GET /events, POST /jobs/bulk, GET /stats/*. */
let s: Served;
let admin: string;
const tok: Record<string, string> = {};

before(async () => {
  s = await startServe({ args: ['--max-concurrent', '1'] });
  admin = s.adminToken;
  const control = openControlStores(s.dataDir);
  try {
    for (const [name, namespace, role] of [
      ['a', 'team-a', 'submitter'],
      ['b', 'team-b', 'submitter'],
      ['aView', 'team-a', 'viewer'],
    ] as const) {
      tok[name] = (await control.tokens.create({ namespace, role })).token;
    }
  } finally {
    await control.close();
  }
});

after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

interface Sse {
  event: string;
  data: Record<string, unknown>;
}

/** An open GET /events stream collecting its events; `until` waits for one that matches. */
async function openStream(token: string | undefined, query = ''): Promise<{ status: number; events: Sse[]; until(pred: (e: Sse) => boolean): Promise<Sse>; close(): void }> {
  const ctl = new AbortController();
  const res = await fetch(`${s.url}/events${query}`, { headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) }, signal: ctl.signal });
  const events: Sse[] = [];
  const waiters: { pred: (e: Sse) => boolean; resolve: (e: Sse) => void }[] = [];
  if (res.ok && res.body) {
    void (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += value;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!event || data === undefined) continue;
            const e = { event, data: JSON.parse(data) as Record<string, unknown> };
            events.push(e);
            for (const w of [...waiters]) if (w.pred(e)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(e));
          }
        }
      } catch {
        /* aborted */
      }
    })();
  } else await res.text();
  return {
    status: res.status,
    events,
    until: (pred) => {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise<Sse>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no such event within 30 s; got ${JSON.stringify(events)}`)), 30_000);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      });
    },
    close: () => ctl.abort(),
  };
}

async function submit(token: string, doc: Record<string, unknown>): Promise<string> {
  const r = await call(s.url, 'POST', '/jobs', { token, body: doc });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return (r.body.job as { job_id: string }).job_id;
}

const sleep = (seconds: number, name?: string) => testJob('test.sleep', { seconds }, name ? { metadata: { name } } : {});

test('GET /events: status changes of the caller’s namespace (admins: all), header auth only', async () => {
  assert.equal((await openStream(undefined)).status, 401);
  const inUrl = await fetch(`${s.url}/events?token=${encodeURIComponent(tok.a!)}`, { headers: { accept: 'text/event-stream' } });
  assert.equal(inUrl.status, 401, 'a token in the URL is not read');
  await inUrl.text();
  assert.equal((await openStream(tok.a, '?namespace=team-b')).status, 403);

  const all = await openStream(admin);
  const onlyA = await openStream(tok.aView);
  const onlyB = await openStream(admin, '?namespace=team-b');
  assert.equal(all.status, 200);
  await Promise.all([all, onlyA, onlyB].map((st) => st.until((e) => e.event === 'hello')));
  const aId = await submit(tok.a!, echo('for a', { metadata: { name: 'job of a' } }));
  const bId = await submit(tok.b!, echo('for b'));
  for (const id of [aId, bId]) await all.until((e) => e.data.job_id === id && e.data.change === 'finished');
  const seq = (st: typeof all, id: string) => st.events.filter((e) => e.data.job_id === id).map((e) => `${e.data.change}:${e.data.status}`);
  assert.deepEqual(seq(all, aId), ['submitted:pending', 'started:running', 'finished:completed']);
  const sub = all.events.find((e) => e.data.job_id === aId)!;
  assert.equal(sub.event, 'status');
  assert.equal(sub.data.namespace, 'team-a');
  assert.equal(sub.data.operation, 'system.echo');
  assert.equal(sub.data.name, 'job of a');
  assert.match(String(sub.data.at), /^\d{4}-\d\d-\d\dT/);
  await onlyA.until((e) => e.data.job_id === aId && e.data.change === 'finished');
  await onlyB.until((e) => e.data.job_id === bId && e.data.change === 'finished');
  assert.ok(onlyA.events.every((e) => e.event !== 'status' || e.data.namespace === 'team-a'), 'team-a sees its own jobs only');
  assert.ok(onlyB.events.every((e) => e.event !== 'status' || e.data.namespace === 'team-b'));
  assert.equal(seq(onlyA, bId).length, 0);

  // a retried attempt is sent as such, with its error code
  const flaky = await submit(tok.a!, testJob('test.flaky', { succeed_on_attempt: 2 }, { execution: { max_attempts: 2 } }));
  const retry = await onlyA.until((e) => e.data.job_id === flaky && e.data.change === 'retrying');
  assert.equal(retry.data.status, 'pending');
  assert.equal(retry.data.error_code, 'EXECUTION_ERROR');
  await onlyA.until((e) => e.data.job_id === flaky && e.data.change === 'finished' && e.data.status === 'completed');
  for (const st of [all, onlyA, onlyB]) st.close();
  // closed streams are released (the gauge counts open streams of both kinds)
  for (let i = 0; ; i++) {
    const m = await (await fetch(`${s.url.replace(/\/api\/v1$/, '')}/metrics`)).text();
    if (/^guestkit_api_event_streams\S* 0$/m.test(m)) break;
    assert.ok(i < 100, `streams still counted open: ${/^guestkit_api_event_streams.*$/m.exec(m)?.[0]}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

test('POST /jobs/bulk: per-id outcomes under the single-job rules, audited per job', async () => {
  const done = await submit(tok.a!, echo('done'));
  assert.equal((await waitFinal(s.url, admin, done)).status, 'completed');
  // one slot: the blocker holds it, so the others wait
  const blocker = await submit(tok.a!, sleep(30, 'bulk blocker'));
  const waiting = [await submit(tok.a!, sleep(1, 'w1')), await submit(tok.a!, sleep(1, 'w2')), await submit(tok.a!, sleep(1, 'w3'))];
  const theirs = await submit(tok.b!, sleep(1, 'of b'));
  // bad bodies and roles
  const bad = await call(s.url, 'POST', '/jobs/bulk', { token: tok.a, body: { action: 'explode', ids: [1], extra: true } });
  assert.equal(bad.status, 400);
  const issues = ((bad.body.error as { details: { issues: { path: string }[] } }).details.issues).map((i) => i.path);
  assert.deepEqual(issues.sort(), ['$.action', '$.extra', '$.ids[0]']);
  assert.equal((await call(s.url, 'POST', '/jobs/bulk', { token: tok.a, body: { action: 'cancel', ids: Array.from({ length: 1001 }, (_, i) => `j${i}`) } })).status, 400);
  assert.equal((await call(s.url, 'POST', '/jobs/bulk', { token: tok.a, body: { action: 'cancel', ids: ['x', 'x'] } })).status, 400);
  assert.equal((await call(s.url, 'POST', '/jobs/bulk', { token: tok.aView, body: { action: 'cancel', ids: [waiting[0]] } })).status, 403);

  const cancel = await call(s.url, 'POST', '/jobs/bulk', { token: tok.a, body: { action: 'cancel', ids: [...waiting, done, theirs, 'no-such-job'] } });
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
  const r = cancel.body.results as { job_id: string; ok: boolean; status: number; outcome?: string; error?: { code: string } }[];
  assert.deepEqual(r.map((x) => [x.job_id, x.ok, x.status]), [...waiting.map((id) => [id, true, 202]), [done, false, 409], [theirs, false, 404], ['no-such-job', false, 404]]);
  assert.ok(r.slice(0, 3).every((x) => x.outcome === 'cancelled'));
  assert.equal(r[3]!.error!.code, 'INVALID_STATE');
  assert.equal(r[4]!.error!.code, 'NOT_FOUND', 'another namespace’s job is a 404, as a missing one');
  assert.deepEqual(cancel.body.summary, { ok: 3, failed: 3 });
  // answered once recorded: a GET right after the answer sees them cancelled (never assigned)
  for (const id of waiting) assert.equal((await call(s.url, 'GET', `/jobs/${id}`, { token: admin })).body.status, 'cancelled');
  assert.notEqual((await call(s.url, 'GET', `/jobs/${theirs}`, { token: admin })).body.status, 'cancelled');

  const retry = await call(s.url, 'POST', '/jobs/bulk', { token: tok.a, body: { action: 'retry', ids: [waiting[0], done] } });
  const rr = retry.body.results as { ok: boolean; status: number; new_job_id?: string }[];
  assert.equal(rr[0]!.ok, true);
  assert.ok(rr[0]!.new_job_id && rr[0]!.new_job_id !== waiting[0]);
  assert.deepEqual([rr[1]!.ok, rr[1]!.status], [false, 409], 'a completed job is not retried');
  const copy = await call(s.url, 'GET', `/jobs/${rr[0]!.new_job_id}`, { token: tok.a });
  assert.equal((copy.body.job as { metadata: { annotations: Record<string, string> } }).metadata.annotations['guestkit.dev/retry-of'], waiting[0]);

  const del = await call(s.url, 'POST', '/jobs/bulk', { token: tok.a, body: { action: 'delete', ids: [waiting[1], waiting[2], blocker] } });
  assert.deepEqual((del.body.results as { ok: boolean; status: number }[]).map((x) => [x.ok, x.status]), [[true, 204], [true, 204], [false, 409]]);
  assert.equal((await call(s.url, 'GET', `/jobs/${waiting[1]}`, { token: admin })).status, 404);

  // the audit log has one entry per job, as the single-job routes write them
  const audit = (await call(s.url, 'GET', '/audit?limit=1000', { token: admin })).body.items as { action: string; target: string; outcome: string; status: number; details?: Record<string, unknown> }[];
  for (const id of waiting) assert.ok(audit.some((e) => e.action === 'job.cancel' && e.target === id && e.outcome === 'ok' && e.status === 202), `cancel of ${id} audited`);
  assert.ok(audit.some((e) => e.action === 'job.retry' && e.target === waiting[0] && e.details?.new_job_id === rr[0]!.new_job_id));
  assert.ok(audit.some((e) => e.action === 'job.delete' && e.target === waiting[1] && e.status === 204));
  assert.ok(audit.some((e) => e.action === 'job.bulk' && e.outcome === 'denied' && e.status === 403), 'the viewer’s refusal');
  await call(s.url, 'POST', '/jobs/bulk', { token: admin, body: { action: 'cancel', ids: [blocker, theirs, rr[0]!.new_job_id] } });
  for (const id of [blocker, theirs]) await waitFinal(s.url, admin, id);
});

test('GET /stats/*: counts with the list’s filters, throughput, latency and usage by namespace, scoped to the caller', async () => {
  const ids = [await submit(tok.b!, sleep(1, 'one second')), await submit(tok.b!, echo('s1')), await submit(tok.b!, echo('s2')), await submit(tok.b!, testJob('test.crash', { how: 'throw' }, { execution: { max_attempts: 1 } }))];
  for (const id of ids) await waitFinal(s.url, admin, id);

  const all = await call(s.url, 'GET', '/stats/counts', { token: admin });
  assert.equal(all.status, 200);
  const counts = all.body.counts as Record<string, number>;
  assert.deepEqual(Object.keys(counts).sort(), ['assigned', 'cancelled', 'completed', 'failed', 'pending', 'running', 'timeout']);
  const list = (await call(s.url, 'GET', '/jobs?limit=1000', { token: admin })).body.items as { status: string; namespace: string; operation: string }[];
  assert.equal(all.body.total, list.length);
  for (const st of Object.keys(counts)) assert.equal(counts[st], list.filter((j) => j.status === st).length, st);
  const b = await call(s.url, 'GET', '/stats/counts?operation=system.echo', { token: tok.b });
  assert.equal(b.body.total, list.filter((j) => j.namespace === 'team-b' && j.operation === 'system.echo').length);
  assert.equal((await call(s.url, 'GET', '/stats/counts?namespace=team-a', { token: tok.b })).status, 403);
  assert.equal((await call(s.url, 'GET', '/stats/counts?status=nope', { token: admin })).status, 400);

  const tp = await call(s.url, 'GET', '/stats/throughput?range=1h', { token: tok.b });
  assert.equal(tp.status, 200);
  assert.equal(tp.body.bucket_seconds, 60);
  assert.equal(tp.body.namespace, 'team-b');
  const points = tp.body.points as { at: string; completed: number; failed: number; cancelled: number; timeout: number }[];
  assert.ok(points.length === 60 || points.length === 61, String(points.length));
  const sum = (k: 'completed' | 'failed' | 'cancelled') => points.reduce((a, p) => a + p[k], 0);
  const finishedB = list.filter((j) => j.namespace === 'team-b');
  assert.equal(sum('completed'), finishedB.filter((j) => j.status === 'completed').length);
  assert.equal(sum('failed'), finishedB.filter((j) => j.status === 'failed').length);
  assert.ok(sum('failed') >= 1);
  assert.equal((await call(s.url, 'GET', '/stats/throughput?range=30d', { token: admin })).body.bucket_seconds, 3600);
  assert.equal((await call(s.url, 'GET', '/stats/throughput?range=30d&bucket=minute', { token: admin })).status, 400, 'too many buckets');
  assert.equal((await call(s.url, 'GET', '/stats/throughput?range=2y', { token: admin })).status, 400);

  const lat = await call(s.url, 'GET', '/stats/latency?range=24h&bucket=hour', { token: admin });
  assert.equal(lat.status, 200);
  const wait = lat.body.wait as { n: number; p50: number; p90: number; p99: number };
  const run = lat.body.run as typeof wait;
  assert.ok(wait.n >= 3 && run.n === wait.n, JSON.stringify(lat.body.wait));
  assert.ok(wait.p50 >= 0 && wait.p50 <= wait.p90 && wait.p90 <= wait.p99);
  assert.ok(run.p50 >= 0 && run.p50 <= run.p90 && run.p90 <= run.p99);
  assert.ok(run.p99 >= 1, 'the 1 s sleeps are in the run times');
  assert.equal((lat.body.points as unknown[]).length >= 24, true);

  const usage = await call(s.url, 'GET', '/stats/usage?window=7d', { token: admin });
  assert.equal(usage.status, 200);
  const groups = usage.body.groups as { namespace: string; jobs: number; cost: number }[];
  assert.deepEqual(groups.map((g) => g.namespace).sort(), [...new Set(list.filter((j) => ['completed', 'failed', 'cancelled', 'timeout'].includes(j.status)).map((j) => j.namespace))].sort());
  assert.equal((usage.body.totals as { jobs: number }).jobs, groups.reduce((a, g) => a + g.jobs, 0));
  const mine = await call(s.url, 'GET', '/stats/usage', { token: tok.b });
  assert.equal(mine.body.window, '24h');
  assert.deepEqual((mine.body.groups as { namespace: string }[]).map((g) => g.namespace), ['team-b']);
  assert.equal((await call(s.url, 'GET', '/stats/usage?window=1y', { token: admin })).status, 400);
  assert.equal((await call(s.url, 'GET', '/stats/usage')).status, 401);

  const doc = (await call(s.url, 'GET', '/openapi.json')).body as { paths: Record<string, unknown> };
  for (const p of ['/jobs/bulk', '/events', '/stats/counts', '/stats/throughput', '/stats/latency', '/stats/usage']) assert.ok(doc.paths[p], p);
});
