import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { controlDbFile, openControlStores } from '../../src/store/sqlite/control-db.js';
import { call, echo, removeDataDir, startServe, tempDataDir, testJob, waitFinal, type Served } from '../helpers/serve.js';

/** Tokens, namespaces, audit, quotas, fair share and usage of a spawned `guestkit serve`. */
let s: Served;
let admin: string;
const tok: Record<string, string> = {};

before(async () => {
  const dataDir = tempDataDir('gk-tenants-');
  const config = join(dataDir, '..', 'serve.yaml');
  writeFileSync(
    config,
    [
      'max_concurrent: 2',
      'prices: {cpu_second: 0.5, gib_read: 2, currency: EUR}',
      'quotas:',
      '  default: {max_queued: 1000, jobs_per_hour: 10000}',
      '  namespaces:',
      '    team-q: {max_queued: 3, max_running: 0}',
      '    team-h: {jobs_per_hour: 2}',
      '    team-run: {max_running: 1}',
      '',
    ].join('\n'),
  );
  s = await startServe({ dataDir, args: ['--config', config] });
  admin = s.adminToken;
  const control = openControlStores(s.dataDir);
  try {
    for (const [name, namespace, role] of [
      ['a', 'team-a', 'submitter'],
      ['b', 'team-b', 'submitter'],
      ['aView', 'team-a', 'viewer'],
      ['q', 'team-q', 'submitter'],
      ['h', 'team-h', 'submitter'],
      ['u', 'team-u', 'submitter'],
      ['revokeMe', 'team-a', 'submitter'],
      ['x', 'team-x', 'submitter'],
    ] as const) {
      tok[name] = (await control.tokens.create({ namespace, role })).token;
    }
    tok.expiring = (await control.tokens.create({ namespace: 'team-a', role: 'viewer', expiresAt: Date.now() + 1500 })).token;
  } finally {
    await control.close();
  }
});

after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

/** Asks with a token until it is refused (bounded: 100 tries 100 ms apart). */
async function until401(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let i = 0; i < 100; i++) {
    const r = await call(s.url, 'GET', '/jobs', { token });
    if (r.status === 401) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('the token was still accepted after 10 s');
}

const code = (r: { body: Record<string, unknown> }) => (r.body.error as { code: string; details?: { reason?: string } } | undefined)?.code;
const reason = (r: { body: Record<string, unknown> }) => (r.body.error as { details?: { reason?: string } }).details?.reason;

test('tokens: missing, malformed, unknown, revoked and expired are 401 with the reason', async () => {
  const none = await call(s.url, 'GET', '/jobs');
  assert.equal(none.status, 401);
  assert.equal(code(none), 'UNAUTHENTICATED');
  assert.equal(reason(none), 'missing');
  const malformed = await call(s.url, 'GET', '/jobs', { headers: { authorization: 'Bearer not-a-token' } });
  assert.equal(malformed.status, 401);
  assert.equal(reason(malformed), 'malformed');
  const basic = await call(s.url, 'GET', '/jobs', { headers: { authorization: 'Basic dXNlcjpwdw==' } });
  assert.equal(basic.status, 401);
  const unknown = await call(s.url, 'GET', '/jobs', { token: tok.a!.replace(/_[^_]+$/, '_' + 'A'.repeat(43)) });
  assert.equal(unknown.status, 401);
  assert.ok(['unknown', 'malformed'].includes(String(reason(unknown))));
  assert.equal((await call(s.url, 'GET', '/jobs', { token: tok.revokeMe })).status, 200);
  const control = openControlStores(s.dataDir);
  try {
    const id = /^gk_([a-z0-9]{12})_/.exec(tok.revokeMe!)![1]!;
    assert.equal(await control.tokens.revoke(id), true);
  } finally {
    await control.close();
  }
  // another process revoked it: the server's short token cache lets it through for a few seconds at most
  const revoked = await until401(tok.revokeMe!);
  assert.equal(reason(revoked), 'revoked');
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal(reason(await until401(tok.expiring!)), 'expired');
});

test('namespaces: a token sees and touches its own only, both ways; another namespace’s job is 404; roles are enforced', async () => {
  const ja = await call(s.url, 'POST', '/jobs', { token: tok.a, body: testJob('test.sleep', { seconds: 20 }) });
  assert.equal(ja.status, 202);
  const aid = (ja.body.job as { job_id: string; namespace: string }).job_id;
  assert.equal((ja.body.job as { namespace: string }).namespace, 'team-a', 'the token’s namespace is filled in');
  const jb = await call(s.url, 'POST', '/jobs', { token: tok.b, body: echo('b') });
  const bid = (jb.body.job as { job_id: string }).job_id;
  for (const [token, id] of [[tok.b, aid], [tok.a, bid]] as const) {
    assert.equal((await call(s.url, 'GET', `/jobs/${id}`, { token })).status, 404);
    assert.equal((await call(s.url, 'GET', `/jobs/${id}/result`, { token })).status, 404);
    assert.equal((await call(s.url, 'GET', `/jobs/${id}/events`, { token })).status, 404);
    assert.equal((await call(s.url, 'POST', `/jobs/${id}/cancel`, { token })).status, 404);
    assert.equal((await call(s.url, 'POST', `/jobs/${id}/retry`, { token })).status, 404);
    assert.equal((await call(s.url, 'DELETE', `/jobs/${id}`, { token })).status, 404);
  }
  const listB = await call(s.url, 'GET', '/jobs?limit=1000', { token: tok.b });
  assert.ok((listB.body.items as { namespace: string }[]).every((j) => j.namespace === 'team-b'));
  assert.equal((await call(s.url, 'GET', '/jobs?namespace=team-a', { token: tok.b })).status, 403, 'a namespace filter cannot widen a token’s view');
  const foreign = await call(s.url, 'POST', '/jobs', { token: tok.a, body: echo('x', { metadata: { namespace: 'team-b' } }) });
  assert.equal(foreign.status, 403);
  assert.equal(code(foreign), 'FORBIDDEN');
  const me = await call(s.url, 'GET', '/whoami', { token: tok.aView });
  assert.deepEqual({ role: me.body.role, namespace: me.body.namespace, auth: me.body.auth }, { role: 'viewer', namespace: 'team-a', auth: 'bearer' });
  const viewerSubmit = await call(s.url, 'POST', '/jobs', { token: tok.aView, body: echo() });
  assert.equal(viewerSubmit.status, 403);
  assert.equal((await call(s.url, 'GET', `/jobs/${aid}`, { token: tok.aView })).status, 200, 'a viewer of the namespace reads it');
  assert.equal((await call(s.url, 'POST', `/jobs/${aid}/cancel`, { token: tok.aView })).status, 403);
  assert.equal((await call(s.url, 'GET', '/audit', { token: tok.a })).status, 403, 'audit is for admins');
  // admins work across namespaces
  assert.equal((await call(s.url, 'GET', `/jobs/${aid}`, { token: admin })).status, 200);
  assert.equal((await call(s.url, 'GET', `/jobs/${bid}`, { token: admin })).status, 200);
  const adminList = await call(s.url, 'GET', '/jobs?namespace=team-b&limit=1000', { token: admin });
  assert.ok((adminList.body.items as { job_id: string }[]).some((j) => j.job_id === bid));
  assert.equal((await call(s.url, 'POST', `/jobs/${aid}/cancel`, { token: tok.a })).status, 202);
});

test('audit: a known caller’s refused and failed calls are recorded too; reads that simply miss are not', async () => {
  const jb = await call(s.url, 'POST', '/jobs', { token: tok.b, body: echo('b') });
  const bid = (jb.body.job as { job_id: string }).job_id;
  assert.equal((await call(s.url, 'POST', '/jobs', { token: tok.x, body: echo('x', { metadata: { namespace: 'team-b' } }) })).status, 403);
  assert.equal((await call(s.url, 'GET', '/jobs?namespace=team-b', { token: tok.x })).status, 403);
  assert.equal((await call(s.url, 'GET', `/jobs/${bid}`, { token: tok.x })).status, 404, 'another namespace’s job looks missing');
  assert.equal((await call(s.url, 'POST', '/jobs', { token: tok.x, body: { version: '1.0' } })).status, 400);
  assert.equal((await call(s.url, 'POST', '/jobs/no-such-job/cancel', { token: tok.x })).status, 404);
  assert.equal((await call(s.url, 'GET', '/jobs/no-such-job', { token: tok.x })).status, 404);
  const list = await call(s.url, 'GET', '/audit?limit=1000', { token: admin });
  type Entry = { action: string; target: string | null; outcome: string; status: number; namespace: string | null; details?: { code?: string; reason?: string } };
  const mine = (list.body.items as Entry[]).filter((e) => e.namespace === 'team-x').reverse();
  assert.deepEqual(
    mine.map((e) => [e.action, e.target, e.outcome, e.status, e.details?.code, e.details?.reason]),
    [
      ['job.submit', null, 'denied', 403, 'FORBIDDEN', undefined],
      ['job.list', null, 'denied', 403, 'FORBIDDEN', undefined],
      ['job.get', bid, 'denied', 404, 'NOT_FOUND', 'job of another namespace'],
      ['job.submit', null, 'error', 400, 'VALIDATION_ERROR', undefined],
      ['job.cancel', 'no-such-job', 'error', 404, 'NOT_FOUND', undefined],
    ],
  );
});

test('quotas: max queued and jobs per hour answer 429 with Retry-After and a clear message', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await call(s.url, 'POST', '/jobs', { token: tok.q, body: echo(`q${i}`) })).status, 202);
  const over = await call(s.url, 'POST', '/jobs', { token: tok.q, body: echo('q3') });
  assert.equal(over.status, 429);
  assert.equal(code(over), 'QUOTA_EXCEEDED');
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  assert.match((over.body.error as { message: string }).message, /team-q/);
  const batch = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: [echo('x', { metadata: { namespace: 'team-q' } })] } });
  assert.equal(batch.status, 429, 'admins are held to the namespace quota too');
  for (let i = 0; i < 2; i++) assert.equal((await call(s.url, 'POST', '/jobs', { token: tok.h, body: echo(`h${i}`) })).status, 202);
  const hourly = await call(s.url, 'POST', '/jobs', { token: tok.h, body: echo('h2') });
  assert.equal(hourly.status, 429);
  assert.match((hourly.body.error as { message: string }).message, /hour/);
  // another namespace is not affected
  assert.equal((await call(s.url, 'POST', '/jobs', { token: tok.b, body: echo('free') })).status, 202);
});

test('fair share: a busy namespace does not starve another; max_running caps a namespace', async () => {
  const busy = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: Array.from({ length: 12 }, () => testJob('test.sleep', { seconds: 0.3 }, { metadata: { namespace: 'team-busy' } })) } });
  assert.equal(busy.status, 202);
  await new Promise((r) => setTimeout(r, 100));
  const small = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: Array.from({ length: 2 }, () => testJob('test.sleep', { seconds: 0.3 }, { metadata: { namespace: 'team-small' } })) } });
  const smallIds = (small.body.jobs as { job_id: string }[]).map((j) => j.job_id);
  const busyIds = (busy.body.jobs as { job_id: string }[]).map((j) => j.job_id);
  const smallDone = await Promise.all(smallIds.map((id) => waitFinal(s.url, admin, id)));
  const busyDone = await Promise.all(busyIds.map((id) => waitFinal(s.url, admin, id, 60_000)));
  const firstSmall = Math.min(...smallDone.map((j) => Date.parse(String(j.started_at))));
  const busyBefore = busyDone.filter((j) => Date.parse(String(j.started_at)) < firstSmall).length;
  assert.ok(busyBefore <= 4, `the small namespace waited for ${busyBefore} of the busy one's 12 jobs`);
  const capped = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: Array.from({ length: 3 }, () => testJob('test.sleep', { seconds: 0.4 }, { metadata: { namespace: 'team-run' } })) } });
  const runs = await Promise.all((capped.body.jobs as { job_id: string }[]).map((j) => waitFinal(s.url, admin, j.job_id)));
  const spans = runs.map((j) => [Date.parse(String(j.started_at)), Date.parse(String(j.finished_at))] as const).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], 'max_running 1: never two at once');
});

test('usage: sums of the results’ metrics per operation and per day, priced; a token sees its namespace only', async () => {
  const sub = await call(s.url, 'POST', '/jobs', { token: tok.u, body: { jobs: [echo('u1'), echo('u2'), testJob('test.sleep', { seconds: 0.1 })] } });
  const ids = (sub.body.jobs as { job_id: string }[]).map((j) => j.job_id);
  for (const id of ids) await waitFinal(s.url, tok.u!, id);
  const results = await Promise.all(ids.map(async (id) => (await call(s.url, 'GET', `/jobs/${id}/result`, { token: tok.u })).body.metrics as Record<string, number>));
  const cpu = results.reduce((a, m) => a + (m.cpu_seconds ?? 0), 0);
  const wall = results.reduce((a, m) => a + (m.wall_seconds ?? 0), 0);
  assert.equal((await call(s.url, 'GET', '/usage?namespace=team-a', { token: tok.u })).status, 403, 'not another namespace’s usage');
  const u = await call(s.url, 'GET', '/usage?group_by=operation', { token: tok.u });
  assert.equal(u.status, 200);
  assert.equal(u.body.namespace, 'team-u', 'a non-admin gets its own namespace');
  const groups = u.body.groups as { key: string; jobs: number; cpu_seconds: number; wall_seconds: number; cost: number }[];
  assert.deepEqual(groups.map((g) => [g.key, g.jobs]).sort(), [['system.echo', 2], ['test.sleep', 1]]);
  const totals = u.body.totals as { jobs: number; cpu_seconds: number; wall_seconds: number; cost: number; bytes_read: number };
  assert.equal(totals.jobs, 3);
  assert.ok(Math.abs(totals.cpu_seconds - cpu) < 1e-6, `${totals.cpu_seconds} vs ${cpu}`);
  assert.ok(Math.abs(totals.wall_seconds - wall) < 1e-6);
  assert.ok(Math.abs(totals.cost - (totals.cpu_seconds * 0.5 + (totals.bytes_read / 2 ** 30) * 2)) < 1e-5);
  assert.deepEqual(u.body.prices, { cpu_second: 0.5, gib_read: 2, currency: 'EUR' });
  const byDay = await call(s.url, 'GET', '/usage?group_by=day', { token: tok.u });
  const days = byDay.body.groups as { key: string; jobs: number }[];
  assert.deepEqual(days.map((d) => [d.key, d.jobs]), [[new Date().toISOString().slice(0, 10), 3]]);
  assert.equal((await call(s.url, 'GET', '/usage?group_by=week', { token: tok.u })).status, 400);
  // Prometheus carries the same figures, by namespace and operation
  const metrics = String((await call(s.url.replace(/\/api\/v1$/, ''), 'GET', '/metrics')).body);
  const sum = (name: string) =>
    metrics
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes('namespace="team-u"'))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const t = totals as typeof totals & { image_bytes: number };
  assert.equal(sum('guestkit_jobs_finished_total'), 3);
  assert.ok(Math.abs(sum('guestkit_job_cpu_seconds_total') - t.cpu_seconds) < 1e-6, `cpu ${sum('guestkit_job_cpu_seconds_total')} vs ${t.cpu_seconds}`);
  assert.ok(Math.abs(sum('guestkit_job_wall_seconds_total') - t.wall_seconds) < 1e-6);
  assert.equal(sum('guestkit_job_read_bytes_total'), t.bytes_read);
  assert.equal(sum('guestkit_job_image_bytes_total'), t.image_bytes);
  assert.ok(t.cost > 0 && Math.abs(sum('guestkit_job_cost_total') - t.cost) < 1e-5, `cost ${sum('guestkit_job_cost_total')} vs ${t.cost}`);
  assert.match(metrics, /guestkit_job_cost_total\{namespace="team-u",operation="system\.echo",currency="EUR"[,}]/);
  assert.equal(sum('guestkit_job_peak_memory_bytes_count'), results.filter((m) => (m.peak_memory_mb ?? 0) > 0).length);
});

test('a flood of bad tokens does not grow the audit log without bound', async () => {
  const denied = async () => ((await call(s.url, 'GET', '/audit?limit=1000', { token: admin })).body.items as { outcome: string; status: number }[]).filter((e) => e.outcome === 'denied' && e.status === 401).length;
  const before = await denied();
  const bad = 'gk_aaaaaaaaaaaa_' + 'B'.repeat(43);
  for (let i = 0; i < 100; i++) assert.equal((await call(s.url, 'GET', '/jobs', { token: bad })).status, 401);
  const grown = (await denied()) - before;
  assert.ok(grown <= 40, `${grown} of 100 refusals recorded (at most 20 per minute and address)`);
});

test('audit: mutating and denied calls are chained; an entry edited by hand breaks the chain at that entry', async () => {
  const list = await call(s.url, 'GET', '/audit?limit=1000', { token: admin });
  assert.equal(list.status, 200);
  const items = list.body.items as { seq: number; action: string; outcome: string; status: number; actor: string; source_ip: string | null; hash: string; prev_hash: string }[];
  assert.ok(items.some((e) => e.action === 'job.submit' && e.outcome === 'ok'));
  assert.ok(items.some((e) => e.outcome === 'denied' && e.status === 401));
  assert.ok(items.some((e) => e.outcome === 'denied' && e.status === 403));
  assert.ok(items.some((e) => e.action === 'job.cancel' && e.outcome === 'ok'));
  assert.ok(items.every((e) => e.source_ip !== null));
  for (let i = 0; i + 1 < items.length; i++) assert.equal(items[i]!.prev_hash, items[i + 1]!.hash, 'newest first, each pointing at the one before');
  const control = openControlStores(s.dataDir);
  try {
    assert.deepEqual(await control.audit.verify(), { ok: true, entries: (await control.audit.verify()).entries });
    const victim = items[Math.floor(items.length / 2)]!;
    const db = new Database(controlDbFile(s.dataDir));
    try {
      const cols = (db.prepare("SELECT name FROM pragma_table_info('audit_log')").all() as { name: string }[]).map((c) => c.name);
      const col = cols.includes('actor') ? 'actor' : cols.find((c) => c !== 'seq' && c !== 'hash')!;
      db.prepare(`UPDATE audit_log SET ${col} = 'mallory' WHERE seq = ?`).run(victim.seq);
    } finally {
      db.close();
    }
    const verdict = await control.audit.verify();
    assert.equal(verdict.ok, false);
    assert.equal((verdict as { brokenAt: number }).brokenAt, victim.seq);
  } finally {
    await control.close();
  }
});
