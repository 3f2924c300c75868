import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { call, echo, removeDataDir, startServe, testJob, waitFinal, type Served } from '../helpers/serve.js';

/**
 * Held jobs over a spawned `guestkit serve` (embedded queue, SQLite): dependencies
 * (execution.depends_on) and placement by the live workers' registrations.
 */
let s: Served;
let token: string;

before(async () => {
  s = await startServe({ args: ['--max-concurrent', '2', '--worker-id', 'dag-node', '--drain-timeout', '0'], env: { GUESTKIT_HEARTBEAT_SECONDS: '1' } });
  token = s.adminToken;
});

after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

type View = Record<string, unknown> & { status: string; hold: { kind: string; reason: string } | null };

const post = (body: unknown) => call(s.url, 'POST', '/jobs', { token, body });
const get = async (id: string) => (await call<View>(s.url, 'GET', `/jobs/${id}`, { token })).body;
const waitOn = (id: string) => waitFinal(s.url, token, id, 60_000) as Promise<View>;
const dep = (ids: string[], extra: Record<string, unknown> = {}) => ({ execution: { depends_on: ids, ...extra } });
const ms = (v: Record<string, unknown>, k: string) => Date.parse(String(v[k]));

test('a 3-level DAG in one batch: each job starts only after its parents completed; the tree shows both ways', async () => {
  const r = await post({
    jobs: [
      testJob('test.sleep', { seconds: 0.6 }, { job_id: 'dag-job-a' }),
      echo('b', { job_id: 'dag-job-b', ...dep(['dag-job-a']) }),
      echo('c', { job_id: 'dag-job-c', ...dep(['dag-job-b']) }),
      echo('d', { job_id: 'dag-job-d', ...dep(['dag-job-a', 'dag-job-b']) }),
    ],
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const views = (r.body.jobs as View[]).map((v) => [v.job_id, v.hold?.kind ?? null, v.depends_on]);
  assert.deepEqual(views, [
    ['dag-job-a', null, []],
    ['dag-job-b', 'dependencies', ['dag-job-a']],
    ['dag-job-c', 'dependencies', ['dag-job-b']],
    ['dag-job-d', 'dependencies', ['dag-job-a', 'dag-job-b']],
  ]);
  const held = await get('dag-job-c');
  assert.equal(held.status, 'pending');
  assert.match(String(held.hold?.reason), /waiting for 1 parent job\(s\): dag-job-b/);

  const [a, b, c, d] = await Promise.all(['dag-job-a', 'dag-job-b', 'dag-job-c', 'dag-job-d'].map(waitOn));
  for (const v of [a, b, c, d]) assert.equal(v!.status, 'completed', JSON.stringify(v));
  assert.ok(ms(b!, 'started_at') >= ms(a!, 'finished_at'), 'b started after a finished');
  assert.ok(ms(c!, 'started_at') >= ms(b!, 'finished_at'), 'c started after b finished');
  assert.ok(ms(d!, 'started_at') >= Math.max(ms(a!, 'finished_at'), ms(b!, 'finished_at')), 'd started after both parents');
  assert.equal(c!.hold, null, 'released jobs are held no more');

  const tree = (await call(s.url, 'GET', '/jobs/dag-job-b/tree', { token })).body as Record<string, unknown>;
  assert.equal(tree.job_id, 'dag-job-b');
  assert.deepEqual((tree.parents as { job_id: string }[]).map((n) => n.job_id), ['dag-job-a']);
  assert.deepEqual((tree.dependants as { job_id: string }[]).map((n) => n.job_id), ['dag-job-c', 'dag-job-d']);
  const top = (await call(s.url, 'GET', '/jobs/dag-job-a/tree', { token })).body as { dependants: { job_id: string; children?: { job_id: string }[] }[] };
  assert.deepEqual(top.dependants.map((n) => [n.job_id, (n.children ?? []).map((x) => x.job_id)]), [['dag-job-b', ['dag-job-c', 'dag-job-d']], ['dag-job-d', []]]);

  // the CLI client draws the same tree
  const cli = await runCli(['job', 'tree', 'dag-job-c', '--server', s.url.replace(/\/api\/v1$/, ''), '--token', token]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(cli.stdout.trimEnd().split('\n').map((l) => l.replace(/\s+system\.echo|\s+test\.sleep/, '')), [
    'waits for:',
    '  ↑ dag-job-b  completed',
    '    ↑ dag-job-a  completed',
    'dag-job-c  completed',
  ]);
  const status = await runCli(['job', 'status', 'dag-job-d', '--server', s.url.replace(/\/api\/v1$/, ''), '--token', token]);
  assert.match(status.stdout, /depends on:\s+dag-job-a, dag-job-b/);
});

test('a failing parent fails its dependants with DEPENDENCY_FAILED, down the chain; a child that says continue runs', async () => {
  const r = await post({
    jobs: [
      testJob('test.flaky', { succeed_on_attempt: 9 }, { job_id: 'fail-job-p', execution: { max_attempts: 1 } }),
      echo('q', { job_id: 'fail-job-q', ...dep(['fail-job-p']) }),
      echo('r', { job_id: 'fail-job-r', ...dep(['fail-job-q']) }),
      echo('s', { job_id: 'fail-job-s', ...dep(['fail-job-p'], { on_dependency_failure: 'continue' }) }),
    ],
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const [p, q, rr, sv] = await Promise.all(['fail-job-p', 'fail-job-q', 'fail-job-r', 'fail-job-s'].map(waitOn));
  assert.equal(p!.status, 'failed');
  assert.equal(q!.status, 'failed');
  assert.equal(q!.error_code, 'DEPENDENCY_FAILED');
  assert.equal(rr!.status, 'failed');
  assert.equal(rr!.error_code, 'DEPENDENCY_FAILED');
  assert.equal(sv!.status, 'completed');
  assert.equal(q!.attempt, 0, 'never ran');
  const res = (await call(s.url, 'GET', '/jobs/fail-job-r/result', { token })).body as { error: { code: string; message: string; details: Record<string, unknown> } };
  assert.equal(res.error.code, 'DEPENDENCY_FAILED');
  assert.match(res.error.message, /parent job fail-job-q ended failed \(DEPENDENCY_FAILED\)/);
  assert.deepEqual(res.error.details, { parent_job_id: 'fail-job-q', parent_status: 'failed' });
  // a child submitted after its parent failed fails at once
  const late = await post(echo('late', { job_id: 'fail-late', ...dep(['fail-job-p']) }));
  assert.equal(late.status, 202);
  assert.equal((await waitOn('fail-late')).error_code, 'DEPENDENCY_FAILED');
});

test('depends_on must name known jobs of the same namespace, and not the job itself', async () => {
  const r = await post(echo('x', { job_id: 'orphan-1', ...dep(['no-such-parent']) }));
  assert.equal(r.status, 400);
  const err = (r.body as { error: { code: string; message: string } }).error;
  assert.equal(err.code, 'VALIDATION_ERROR');
  assert.match(err.message, /no job "no-such-parent" in namespace default; submit parents before/);
  assert.equal((await call(s.url, 'GET', '/jobs/orphan-1', { token })).status, 404, 'nothing was stored');
  const self = await post(echo('x', { job_id: 'self-job-1', ...dep(['self-job-1']) }));
  assert.equal(self.status, 400);
  assert.match(JSON.stringify(self.body), /cannot depend on itself/);
  const twice = await post(echo('x', { job_id: 'twice-job-1', ...dep(['dag-job-a', 'dag-job-a']) }));
  assert.equal(twice.status, 400);
});

test('cancelling a held job ends it cancelled without running; its parent goes on', async () => {
  const r = await post({ jobs: [testJob('test.sleep', { seconds: 1 }, { job_id: 'cx-parent' }), echo('c', { job_id: 'cx-child', ...dep(['cx-parent']) })] });
  assert.equal(r.status, 202);
  const c = await call(s.url, 'POST', '/jobs/cx-child/cancel', { token });
  assert.equal(c.status, 202, JSON.stringify(c.body));
  assert.equal((c.body as { outcome: string }).outcome, 'cancelled');
  const child = await waitOn('cx-child');
  assert.equal(child.status, 'cancelled');
  assert.equal(child.attempt, 0);
  assert.equal((await waitOn('cx-parent')).status, 'completed');
  assert.equal((await get('cx-child')).status, 'cancelled', 'the parent’s end did not bring it back');
});

test('placement: a job no live worker can run is refused with CAPABILITY_MISMATCH, or held when it asks to wait; pinning', async () => {
  const gpu = await post(echo('gpu', { job_id: 'cap-job-1', constraints: { required_features: ['gpu'] } }));
  assert.equal(gpu.status, 422, JSON.stringify(gpu.body));
  const err = (gpu.body as { error: { code: string; message: string } }).error;
  assert.equal(err.code, 'CAPABILITY_MISMATCH');
  assert.match(err.message, /none of the 1 live worker\(s\) can run it: worker lacks features "gpu"/);
  assert.equal((await call(s.url, 'GET', '/jobs/cap-job-1', { token })).status, 404);

  const wait = await post(echo('gpu', { job_id: 'cap-job-2', constraints: { required_features: ['gpu'] }, routing: { wait_for_capacity: true } }));
  assert.equal(wait.status, 202);
  assert.equal(((wait.body as { job: View }).job).hold?.kind, 'capacity');
  const v = await get('cap-job-2');
  assert.equal(v.status, 'pending');
  assert.match(String(v.hold?.reason), /waiting for capacity: none of the 1 live worker\(s\) can run it/);
  assert.equal((await call(s.url, 'POST', '/jobs/cap-job-2/cancel', { token })).status, 202);
  assert.equal((await waitOn('cap-job-2')).status, 'cancelled');

  const elsewhere = await post(echo('pin', { job_id: 'pin-job-1', routing: { worker_id: 'some-other-node' } }));
  assert.equal(elsewhere.status, 422);
  assert.match(JSON.stringify(elsewhere.body), /pinned to worker \\"some-other-node\\"/);
  const here = await post(echo('pin', { job_id: 'pin-job-2', routing: { worker_id: 'dag-node' } }));
  assert.equal(here.status, 202);
  const done = await waitOn('pin-job-2');
  assert.equal(done.status, 'completed');
  const pinned = await get('pin-job-2');
  assert.equal((pinned.attempts as { worker_id: string }[])[0]!.worker_id, 'dag-node');
});

test('a restart keeps holds: the child stays held until its parent, given back at the restart, completes', async () => {
  const r = await post({ jobs: [testJob('test.sleep', { seconds: 3 }, { job_id: 'rs-parent' }), echo('c', { job_id: 'rs-child', ...dep(['rs-parent']) })] });
  assert.equal(r.status, 202);
  // wait until the parent runs, then stop (drain gives it back unfinished)
  for (let i = 0; i < 200 && (await get('rs-parent')).status !== 'running'; i++) await new Promise((res) => setTimeout(res, 50));
  await s.stop();
  const dataDir = s.dataDir;
  s = await startServe({ dataDir, args: ['--max-concurrent', '2', '--worker-id', 'dag-node', '--drain-timeout', '0'], env: { GUESTKIT_HEARTBEAT_SECONDS: '1' } });
  token = s.adminToken || token;
  const child = await get('rs-child');
  assert.ok(child.status === 'pending' && child.hold?.kind === 'dependencies', JSON.stringify(child));
  const [p, c] = await Promise.all([waitOn('rs-parent'), waitOn('rs-child')]);
  assert.equal(p.status, 'completed');
  assert.equal(c.status, 'completed');
  assert.ok(ms(c, 'started_at') >= ms(p, 'finished_at'));
});

test('a parent deleted while its child still waits: the child fails DEPENDENCY_FAILED (removed) once it is looked at', async () => {
  const r = await post({ jobs: [echo('p1', { job_id: 'del-parent-1' }), testJob('test.sleep', { seconds: 1.5 }, { job_id: 'del-parent-2' }), echo('c', { job_id: 'del-child-1', ...dep(['del-parent-1', 'del-parent-2']) })] });
  assert.equal(r.status, 202);
  assert.equal((await waitOn('del-parent-1')).status, 'completed');
  assert.equal((await call(s.url, 'DELETE', '/jobs/del-parent-1', { token })).status, 204);
  const child = await waitOn('del-child-1');
  assert.equal(child.status, 'failed');
  assert.equal(child.error_code, 'DEPENDENCY_FAILED');
  const res = (await call(s.url, 'GET', '/jobs/del-child-1/result', { token })).body as { error: { details: Record<string, unknown> } };
  assert.deepEqual(res.error.details, { parent_job_id: 'del-parent-1', parent_status: 'removed' });
});
