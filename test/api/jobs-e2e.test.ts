import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openControlStores } from '../../src/store/sqlite/control-db.js';
import { call, echo, removeDataDir, startServe, testJob, waitFinal, type Served } from '../helpers/serve.js';

/** The job endpoints of a spawned `guestkit serve`, over real HTTP. */
let s: Served;
let admin: string;
let roots: string;

before(async () => {
  const base = join(tempRoot(), 'images');
  mkdirSync(join(base, 'allowed'), { recursive: true });
  writeFileSync(join(base, 'allowed', 'disk.img'), Buffer.alloc(1024));
  mkdirSync(join(base, 'secret'), { recursive: true });
  symlinkSync(join(base, 'secret'), join(base, 'allowed', 'escape'));
  roots = base;
  s = await startServe({ args: ['--allow-path', join(base, 'allowed'), '--max-concurrent', '2', '--body-limit', '262144'] });
  admin = s.adminToken;
  assert.match(admin, /^gk_[a-z0-9]{12}_/);
});

after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

function tempRoot(): string {
  const dir = join(process.env.TMPDIR ?? '/tmp', `gk-api-jobs-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

test('POST /jobs: 202 with the stored job; server fills job_id, created_at and the audit section; unknown fields are kept', async () => {
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body: { ...echo('hello'), x_custom: { keep: true }, metadata: { labels: { env: 'prod' }, extra: 1 } } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = r.body.job as Record<string, unknown>;
  assert.equal(job.status, 'pending');
  assert.equal(job.namespace, 'default');
  assert.deepEqual(job.labels, { env: 'prod' });
  const doc = job.job as Record<string, unknown>;
  assert.match(String(doc.job_id), /.{8,}/);
  assert.ok(!Number.isNaN(Date.parse(String(doc.created_at))));
  assert.deepEqual(doc.x_custom, { keep: true }, 'unknown top-level fields kept');
  assert.equal((doc.metadata as Record<string, unknown>).extra, 1, 'unknown nested fields kept');
  assert.equal((doc.audit as Record<string, unknown>).submitted_by, (doc.audit as { authorization: { subject: string } }).authorization.subject);
  assert.ok(r.headers.get('x-request-id'));
  const done = await waitFinal(s.url, admin, String(doc.job_id));
  assert.equal(done.status, 'completed');
  const result = await call(s.url, 'GET', `/jobs/${String(doc.job_id)}/result`, { token: admin });
  assert.equal(result.status, 200);
  assert.equal(result.body.status, 'completed');
  assert.deepEqual((result.body.data as { echo?: unknown }).echo ?? result.body.data, (result.body.data as { echo?: unknown }).echo ?? result.body.data);
  const metrics = result.body.metrics as Record<string, number>;
  assert.ok(metrics && typeof metrics === 'object', 'the result carries metrics');
  const one = await call(s.url, 'GET', `/jobs/${String(doc.job_id)}`, { token: admin });
  assert.equal(one.status, 200);
  assert.equal((one.body.attempts as unknown[]).length, 1);
  assert.equal((one.body.job as Record<string, unknown>).job_id, doc.job_id);
});

test('POST /jobs: 400 lists every problem with its JSON path; batch paths are prefixed', async () => {
  const bad = { version: '2.0', kind: 'VMOperation', operation: 'system.echo', execution: { priority: 99 }, payload: { type: 'system.echo.v1', data: {} } };
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body: bad });
  assert.equal(r.status, 400);
  const err = r.body.error as { code: string; details: { issues: { path: string; message: string }[] } };
  assert.equal(err.code, 'VALIDATION_ERROR');
  const paths = err.details.issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ['$.execution.priority', '$.version']);
  assert.ok(r.body.request_id);
  const b = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: [echo('ok'), bad, { ...echo('x'), operation: 'nope' }] } });
  assert.equal(b.status, 400);
  const bpaths = (b.body.error as typeof err).details.issues.map((i) => i.path);
  assert.ok(bpaths.includes('$.jobs[1].version') && bpaths.includes('$.jobs[1].execution.priority'), bpaths.join(','));
  assert.ok(bpaths.some((p) => p.startsWith('$.jobs[2]')), bpaths.join(','));
  // all-or-nothing: the valid first job was not accepted
  const list = await call(s.url, 'GET', '/jobs?q=ok&limit=1000', { token: admin });
  assert.equal((list.body.items as unknown[]).filter((j) => JSON.stringify(j).includes('"ok"')).length, 0);
  const unsupported = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('acme.scan', {}) });
  assert.equal(unsupported.status, 400);
  assert.equal((unsupported.body.error as { code: string }).code, 'UNSUPPORTED_OPERATION');
});

test('POST /jobs batch: up to 1,000 jobs at once, each stored; 1,001 is refused', async () => {
  const jobs = Array.from({ length: 1000 }, (_, i) => echo(`batch ${i}`, { metadata: { labels: { batch: 'b1' } } }));
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs } });
  assert.equal(r.status, 202, JSON.stringify(r.body).slice(0, 500));
  const views = r.body.jobs as { job_id: string }[];
  assert.equal(views.length, 1000);
  assert.equal(new Set(views.map((v) => v.job_id)).size, 1000);
  // each one stored: the listing by label pages through all of them
  const stored = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await call(s.url, 'GET', `/jobs?labels=batch%3Db1&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin });
    for (const j of page.body.items as { job_id: string }[]) stored.add(j.job_id);
    cursor = page.body.next as string | undefined;
  } while (cursor);
  assert.deepEqual([...stored].sort(), views.map((v) => v.job_id).sort());
  const big = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: Array.from({ length: 1001 }, () => ({})) } });
  assert.equal(big.status, 400);
  assert.match((big.body.error as { message: string }).message, /at most 1000 jobs/);
  for (const v of views.slice(0, 5)) assert.equal((await waitFinal(s.url, admin, v.job_id)).status, 'completed');
});

test('bad bodies: not JSON, wrong content type, too large, deeply nested, not an object', async () => {
  const notJson = await call(s.url, 'POST', '/jobs', { token: admin, raw: '{"version": ', headers: { 'content-type': 'application/json' } });
  assert.equal(notJson.status, 400);
  assert.equal((notJson.body.error as { code: string }).code, 'VALIDATION_ERROR');
  assert.match((notJson.body.error as { message: string }).message, /not valid JSON/);
  const text = await call(s.url, 'POST', '/jobs', { token: admin, raw: JSON.stringify(echo()), headers: { 'content-type': 'text/plain' } });
  assert.equal(text.status, 415);
  assert.equal((text.body.error as { code: string }).code, 'VALIDATION_ERROR');
  const large = await call(s.url, 'POST', '/jobs', { token: admin, body: echo('x'.repeat(270_000)) });
  assert.equal(large.status, 413);
  assert.equal((large.body.error as { code: string }).code, 'VALIDATION_ERROR');
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  const nested = await call(s.url, 'POST', '/jobs', { token: admin, raw: `{"version":"1.0","payload":{"data":${deep}}}`, headers: { 'content-type': 'application/json' } });
  assert.equal(nested.status, 400);
  assert.match((nested.body.error as { message: string }).message, /nested deeper/);
  const arr = await call(s.url, 'POST', '/jobs', { token: admin, body: [1, 2] });
  assert.equal(arr.status, 400);
  const health = await call(s.url, 'GET', '/healthz');
  assert.equal(health.status, 200, 'the server is still fine');
});

test('path traversal and escapes are refused at submit with PATH_NOT_ALLOWED; a missing image under a root is accepted', async () => {
  const img = (path: string) => testJob('guestkit.inspect', { image: { path, format: 'raw' } });
  for (const path of [`${roots}/allowed/../secret/x.img`, `${roots}/secret/disk.img`, 'relative/disk.img', `${roots}/allowed/escape/disk.img`, '/etc/passwd']) {
    const r = await call(s.url, 'POST', '/jobs', { token: admin, body: img(path) });
    assert.equal(r.status, 400, path);
    assert.equal((r.body.error as { code: string }).code, 'PATH_NOT_ALLOWED', `${path}: ${JSON.stringify(r.body)}`);
  }
  const missing = await call(s.url, 'POST', '/jobs', { token: admin, body: img(`${roots}/allowed/not-yet.img`) });
  assert.equal(missing.status, 202);
  const ok = await call(s.url, 'POST', '/jobs', { token: admin, body: img(`${roots}/allowed/disk.img`) });
  assert.equal(ok.status, 202);
  const failed = await waitFinal(s.url, admin, String((missing.body.job as { job_id: string }).job_id));
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error_code, 'IMAGE_NOT_FOUND');
});

test('Idempotency-Key: ten submits with one key at once make one job; a batch cannot share one key', async () => {
  const posts = await Promise.all(
    Array.from({ length: 10 }, () =>
      call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 1 }, { metadata: { labels: { race: 'one-key' } } }), headers: { 'idempotency-key': 'idem-race' } }),
    ),
  );
  assert.deepEqual(posts.map((r) => r.status), Array(10).fill(202));
  const ids = new Set(posts.map((r) => (r.body.job as { job_id: string }).job_id));
  assert.equal(ids.size, 1, `one job for one key, got ${[...ids].join(', ')}`);
  assert.equal(posts.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 9);
  const listed = await call(s.url, 'GET', '/jobs?labels=race%3Done-key', { token: admin });
  assert.deepEqual((listed.body.items as { job_id: string }[]).map((j) => j.job_id), [...ids], 'one job stored');
  // different requests under one key at once: one is stored, the others are conflicts
  const clashing = await Promise.all(
    [1, 2, 3].map((n) => call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: n }), headers: { 'idempotency-key': 'idem-race-2' } })),
  );
  assert.deepEqual(clashing.map((r) => r.status).sort(), [202, 409, 409]);

  const withHeader = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: [echo('a'), echo('b')] }, headers: { 'idempotency-key': 'idem-batch' } });
  assert.equal(withHeader.status, 400);
  assert.match((withHeader.body.error as { message: string }).message, /Idempotency-Key header names one job/);
  const twice = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: [{ ...echo('a'), execution: { idempotency_key: 'k' } }, { ...echo('b'), execution: { idempotency_key: 'k' } }] } });
  assert.equal(twice.status, 400);
  assert.match((twice.body.error as { message: string }).message, /one idempotency key twice/);
  await waitFinal(s.url, admin, [...ids][0]!);
});

test('Idempotency-Key: a repeat answers with the first job; a different request with the same key is 409; keys are per namespace', async () => {
  const first = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 1 }), headers: { 'idempotency-key': 'idem-1' } });
  assert.equal(first.status, 202);
  const id = (first.body.job as { job_id: string }).job_id;
  const again = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 1 }), headers: { 'idempotency-key': 'idem-1' } });
  assert.equal(again.status, 202);
  assert.equal((again.body.job as { job_id: string }).job_id, id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const other = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 2 }), headers: { 'idempotency-key': 'idem-1' } });
  assert.equal(other.status, 409);
  assert.equal((other.body.error as { code: string }).code, 'DUPLICATE_JOB');
  const elsewhere = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 2 }, { metadata: { namespace: 'team-idem' } }), headers: { 'idempotency-key': 'idem-1' } });
  assert.equal(elsewhere.status, 202, 'the same key in another namespace is another key');
  const mismatch = await call(s.url, 'POST', '/jobs', { token: admin, body: { ...echo(), execution: { idempotency_key: 'a' } }, headers: { 'idempotency-key': 'b' } });
  assert.equal(mismatch.status, 400);
  // a job id posted twice: the same job while it waits or runs is fine, a different one is a conflict
  const fixed = { ...testJob('test.sleep', { seconds: 1 }), job_id: 'fixed-id-0001' };
  assert.equal((await call(s.url, 'POST', '/jobs', { token: admin, body: fixed })).status, 202);
  assert.equal((await call(s.url, 'POST', '/jobs', { token: admin, body: fixed })).status, 202);
  const clash = await call(s.url, 'POST', '/jobs', { token: admin, body: { ...echo('other'), job_id: 'fixed-id-0001' } });
  assert.equal(clash.status, 409);
  await waitFinal(s.url, admin, id);
  await waitFinal(s.url, admin, 'fixed-id-0001');
  const afterDone = await call(s.url, 'POST', '/jobs', { token: admin, body: fixed });
  assert.equal(afterDone.status, 409, 'a finished job id is taken');
});

test('GET /jobs: filters, label selectors, image prefix, search, time range; cursor pages complete under concurrent inserts', async () => {
  const labels = [{ env: 'prod', tier: 'web' }, { env: 'prod', tier: 'db' }, { env: 'dev' }, {}];
  const jobs = Array.from({ length: 40 }, (_, i) => echo(`list ${i}`, { metadata: { namespace: 'team-list', labels: labels[i % 4], name: `vm-${i}` } }));
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs } });
  assert.equal(r.status, 202);
  const ids = new Set((r.body.jobs as { job_id: string }[]).map((j) => j.job_id));
  const q = async (query: string) => (await call(s.url, 'GET', `/jobs?namespace=team-list&limit=1000&${query}`, { token: admin })).body.items as { job_id: string }[];
  assert.equal((await q('')).length, 40);
  assert.equal((await q('labels=env%3Dprod')).length, 20);
  assert.equal((await q('labels=env%3Dprod,tier!%3Ddb')).length, 10);
  assert.equal((await q('labels=tier')).length, 20);
  assert.equal((await q('q=vm-3')).length, 1 + 10 /* vm-3, vm-30..39 */);
  assert.equal((await q(`from=${new Date(Date.now() + 60_000).toISOString()}`)).length, 0);
  // image path prefix: inspect jobs of images under one folder, and not those of a sibling folder sharing its first letters
  const inspectOf = (path: string) => testJob('guestkit.inspect', { image: { path, format: 'raw' } }, { metadata: { namespace: 'team-list' } });
  const imgs = [`${roots}/allowed/fleet-a/vm1.img`, `${roots}/allowed/fleet-a/vm2.img`, `${roots}/allowed/fleet-ab/vm3.img`];
  const posted = await call(s.url, 'POST', '/jobs', { token: admin, body: { jobs: imgs.map(inspectOf) } });
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const underA = await q(`image_prefix=${encodeURIComponent(`${roots}/allowed/fleet-a/`)}`);
  assert.deepEqual(new Set(underA.map((j) => j.job_id)), new Set((posted.body.jobs as { job_id: string }[]).slice(0, 2).map((j) => j.job_id)));
  assert.equal((await q(`image_prefix=${encodeURIComponent(`${roots}/allowed/fleet-a`)}`)).length, 3, 'a prefix is a string prefix');
  assert.equal((await q(`image_prefix=${encodeURIComponent(`${roots}/elsewhere/`)}`)).length, 0);
  const badSel = await call(s.url, 'GET', '/jobs?labels=%3Dx', { token: admin });
  assert.equal(badSel.status, 400);
  const badStatus = await call(s.url, 'GET', '/jobs?status=bogus', { token: admin });
  assert.equal(badStatus.status, 400);
  // page through while more jobs arrive: every job that existed at the start is seen once
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await call(s.url, 'GET', `/jobs?namespace=team-list&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin });
    assert.equal(page.status, 200);
    seen.push(...(page.body.items as { job_id: string }[]).map((j) => j.job_id));
    cursor = page.body.next as string | undefined;
    await call(s.url, 'POST', '/jobs', { token: admin, body: echo('inserted meanwhile', { metadata: { namespace: 'team-list' } }) });
    assert.ok(++pages < 20);
  } while (cursor);
  assert.equal(seen.length, new Set(seen).size, 'no duplicates');
  for (const id of ids) assert.ok(seen.includes(id), `no gaps: ${id}`);
  const badCursor = await call(s.url, 'GET', '/jobs?cursor=zzz', { token: admin });
  assert.equal(badCursor.status, 400);
});

test('cancel, retry, delete: each with its conflicts', async () => {
  const slow = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 30 }) });
  const id = (slow.body.job as { job_id: string }).job_id;
  const c = await call(s.url, 'POST', `/jobs/${id}/cancel`, { token: admin });
  assert.equal(c.status, 202, JSON.stringify(c.body));
  assert.ok(['cancelled', 'cancelling'].includes(String(c.body.outcome)));
  const final = await waitFinal(s.url, admin, id);
  assert.equal(final.status, 'cancelled');
  const again = await call(s.url, 'POST', `/jobs/${id}/cancel`, { token: admin });
  assert.equal(again.status, 409);
  assert.equal((again.body.error as { code: string }).code, 'INVALID_STATE');
  const retried = await call(s.url, 'POST', `/jobs/${id}/retry`, { token: admin });
  assert.equal(retried.status, 202);
  const newId = (retried.body.job as { job_id: string }).job_id;
  assert.notEqual(newId, id);
  assert.equal(((retried.body.job as { job: { metadata: { annotations: Record<string, string> } } }).job.metadata.annotations)['guestkit.dev/retry-of'], id);
  const running = await call(s.url, 'POST', `/jobs/${newId}/retry`, { token: admin });
  assert.equal(running.status, 409, 'an active job is not retried');
  const del = await call(s.url, 'DELETE', `/jobs/${newId}`, { token: admin });
  assert.equal(del.status, 409, 'an active job is not deleted');
  await call(s.url, 'POST', `/jobs/${newId}/cancel`, { token: admin });
  await waitFinal(s.url, admin, newId);
  const gone = await call(s.url, 'DELETE', `/jobs/${newId}`, { token: admin });
  assert.equal(gone.status, 204);
  assert.equal((await call(s.url, 'GET', `/jobs/${newId}`, { token: admin })).status, 404);
  assert.equal((await call(s.url, 'GET', `/jobs/${newId}/result`, { token: admin })).status, 404);
  assert.equal((await call(s.url, 'DELETE', `/jobs/${newId}`, { token: admin })).status, 404);
  const failing = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.flaky', { succeed_on_attempt: 5 }) });
  const fid = (failing.body.job as { job_id: string }).job_id;
  assert.equal((await waitFinal(s.url, admin, fid)).status, 'failed');
  const noResult = await call(s.url, 'POST', '/jobs', { token: admin, body: testJob('test.sleep', { seconds: 5 }) });
  const nid = (noResult.body.job as { job_id: string }).job_id;
  const pending = await call(s.url, 'GET', `/jobs/${nid}/result`, { token: admin });
  assert.equal(pending.status, 404);
  assert.match((pending.body.error as { message: string }).message, /no result yet/);
  await call(s.url, 'POST', `/jobs/${nid}/cancel`, { token: admin });
});

test('workers, capabilities, health, readiness, metrics, OpenAPI, unknown routes', async () => {
  const w = await call(s.url, 'GET', '/workers', { token: admin });
  assert.equal(w.status, 200);
  const items = w.body.items as { live: boolean; max_concurrent: number; capabilities: { operations: string[] } }[];
  assert.equal(items.length, 1);
  assert.equal(items[0]!.live, true);
  assert.equal(items[0]!.max_concurrent, 2);
  const caps = await call(s.url, 'GET', '/capabilities', { token: admin });
  assert.ok((caps.body.operations as string[]).includes('guestkit.inspect'));
  assert.equal(caps.body.live_workers, 1);
  const root = s.url.replace(/\/api\/v1$/, '');
  assert.equal((await call(root, 'GET', '/healthz')).status, 200);
  assert.equal((await call(root, 'GET', '/readyz')).status, 200);
  const metrics = await call(root, 'GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.body), /guestkit_/);
  const oa = await call(s.url, 'GET', '/openapi.json');
  assert.equal(oa.status, 200);
  assert.equal(oa.body.openapi, '3.1.0');
  const schemas = (oa.body.components as { schemas: Record<string, unknown> }).schemas;
  for (const name of ['Job', 'JobResult', 'ProgressEvent', 'JobView', 'ErrorBody', 'Usage', 'AuditEntry']) assert.ok(schemas[name], name);
  for (const p of ['/jobs', '/jobs/{id}', '/jobs/{id}/events', '/jobs/{id}/cancel', '/jobs/{id}/retry', '/workers', '/capabilities', '/usage', '/audit']) {
    assert.ok((oa.body.paths as Record<string, unknown>)[p], p);
  }
  const nf = await call(s.url, 'GET', '/nope', { token: admin, headers: { 'x-request-id': 'my-req-42' } });
  assert.equal(nf.status, 404);
  assert.equal(nf.body.request_id, 'my-req-42');
  assert.equal(nf.headers.get('x-request-id'), 'my-req-42');
});

test('a token made in control.db while serve runs works at once', async () => {
  const control = openControlStores(s.dataDir);
  try {
    const { token } = await control.tokens.create({ namespace: 'team-z', role: 'viewer' });
    const r = await call(s.url, 'GET', '/jobs', { token });
    assert.equal(r.status, 200);
  } finally {
    await control.close();
  }
});

test('the file spool under --data-dir: a job file dropped in jobs/ runs, its result file appears, and the API shows it', async () => {
  const id = 'spool-in-serve-0001';
  const staged = join(s.dataDir, `.${id}.json.tmp`);
  writeFileSync(staged, JSON.stringify({ ...echo('from the spool'), job_id: id, created_at: new Date().toISOString() }));
  renameSync(staged, join(s.dataDir, 'jobs', `${id}.json`));
  const resultFile = join(s.dataDir, 'results', `${id}-result.json`);
  for (let i = 0; i < 300 && !existsSync(resultFile); i++) await new Promise((r) => setTimeout(r, 50));
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as { job_id: string; status: string; data: { message?: string } };
  assert.equal(result.job_id, id);
  assert.equal(result.status, 'completed');
  const viaApi = await waitFinal(s.url, admin, id);
  assert.equal(viaApi.status, 'completed');
  const r = await call(s.url, 'GET', `/jobs/${id}/result`, { token: admin });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data, result.data);
});
