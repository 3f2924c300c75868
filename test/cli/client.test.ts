import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../../src/client/api-client.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { openControlStores } from '../../src/store/sqlite/control-db.js';
import { repoRoot, runCli, type CliResult } from '../helpers/cli.js';
import { echo, removeDataDir, startServe, testJob, type Served } from '../helpers/serve.js';

/* The CLI client (`guestkit job submit|status|list|…`, `workers`, `usage`) against a spawned `guestkit serve`. */

let s: Served;
let work: string;
let env: Record<string, string>;

before(async () => {
  s = await startServe({ args: ['--auth', 'token', '--log-level', 'info', '--max-concurrent', '2'] });
  work = mkdtempSync(join(tmpdir(), 'gk-client-'));
  // the CLI runs in here (no ./.guestkit of the repository's); from sources, `--import tsx` resolves from the cwd
  symlinkSync(join(repoRoot(), 'node_modules'), join(work, 'node_modules'));
  // the /api/v1 suffix is accepted too; no data dir, so only the given token is used
  env = { GUESTKIT_SERVER: s.url, GUESTKIT_TOKEN: s.adminToken, GUESTKIT_DATA_DIR: '' };
});

after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
  if (work) rmSync(work, { recursive: true, force: true });
});

const gk = (args: string[], opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> =>
  runCli(args, opts.stdin, { env: { ...env, ...opts.env }, cwd: opts.cwd ?? work, timeoutMs: 90_000 });

const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

function file(name: string, doc: unknown): string {
  const p = join(work, name);
  writeFileSync(p, JSON.stringify(doc));
  return p;
}

async function submitJson(doc: unknown): Promise<Record<string, any>> {
  const r = await gk(['job', 'submit', '-', '--json'], { stdin: JSON.stringify(doc) });
  ok(r, 'submit');
  return JSON.parse(r.stdout).job;
}

test('submit FILE --wait follows the events and exits 0 once the job completed; status shows it', async () => {
  const r = await gk(['job', 'submit', file('echo.json', echo('from a file', { metadata: { name: 'file echo' } })), '--wait']);
  ok(r, 'submit --wait');
  const id = /submitted (\S+);/.exec(r.stderr)?.[1];
  assert.ok(id, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(lines.some((l) => /progress\s+#\d+/.test(l)), r.stdout);
  assert.match(lines.at(-1)!, /status\s+completed$/);

  const st = await gk(['job', 'status', id]);
  ok(st, 'status');
  assert.match(st.stdout, new RegExp(`^job:\\s+${id}$`, 'm'));
  assert.match(st.stdout, /^status:\s+completed$/m);
  assert.match(st.stdout, /^name:\s+file echo$/m);
  assert.match(st.stdout, /^attempts:\n\s+#\s+WORKER/m);
  const js = JSON.parse((await gk(['job', 'status', id, '--json'])).stdout);
  assert.equal(js.status, 'completed');
  assert.equal(js.attempts.length, 1);
  assert.equal(js.job.payload.data.message, 'from a file');
});

test('submit - (stdin) --wait --json prints the final job; a batch file submits every job', async () => {
  const r = await gk(['job', 'submit', '-', '--wait', '--json'], { stdin: JSON.stringify(echo('from stdin')) });
  ok(r, 'submit - --wait --json');
  const out = JSON.parse(r.stdout);
  assert.equal(out.job.status, 'completed');
  assert.equal(out.error, undefined);

  const batch = await gk(['job', 'submit', file('batch.json', { jobs: [echo('b1'), echo('b2'), echo('b3')] }), '--json']);
  ok(batch, 'batch');
  const jobs = JSON.parse(batch.stdout).jobs;
  assert.equal(jobs.length, 3);
  assert.equal(new Set(jobs.map((j: { job_id: string }) => j.job_id)).size, 3);
  const table = await gk(['job', 'submit', file('batch2.json', { jobs: [echo('b4'), echo('b5')] }), '--wait']);
  ok(table, 'batch --wait');
  assert.equal(table.stdout.match(/ completed/g)?.length, 4, table.stdout); // a line per job as it ends, then the table
});

test('submit: an Idempotency-Key repeat answers with the first job; a bad document is VALIDATION_ERROR with its path', async () => {
  const doc = file('idem.json', echo('once'));
  const a = JSON.parse((await gk(['job', 'submit', doc, '--idempotency-key', 'client-test-1', '--json'])).stdout);
  const b = JSON.parse((await gk(['job', 'submit', doc, '--idempotency-key', 'client-test-1', '--json'])).stdout);
  assert.equal(a.job.job_id, b.job.job_id);

  const bad = await gk(['job', 'submit', file('bad.json', { ...echo('x'), version: 7 })]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^guestkit: VALIDATION_ERROR: .*\$\.version/);
  const notJson = await gk(['job', 'submit', '-'], { stdin: '{"jobs": [' });
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /^guestkit: VALIDATION_ERROR: stdin is not JSON/);
  const missing = await gk(['job', 'submit', join(work, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*nope\.json: no such file/);
});

test('list: filters (labels, operation, status, time, image prefix), pages with --limit and --all, tables and --json', async () => {
  const ids: string[] = [];
  for (const [env2, tier] of [['prod', 'web'], ['prod', 'db'], ['dev', 'web']]) {
    ids.push((await submitJson(echo('labelled', { metadata: { labels: { suite: 'list', env: env2!, tier: tier! } } }))).job_id);
  }
  const json = async (args: string[]) => {
    const r = await gk(['job', 'list', ...args, '--json']);
    ok(r, `list ${args.join(' ')}`);
    return JSON.parse(r.stdout) as { items: { job_id: string; operation: string; status: string }[]; next?: string };
  };
  assert.deepEqual((await json(['--labels', 'suite=list'])).items.map((j) => j.job_id), [...ids].reverse(), 'newest first');
  assert.deepEqual((await json(['--labels', 'suite=list,env=prod,tier!=db'])).items.map((j) => j.job_id), [ids[0]]);
  assert.deepEqual((await json(['--labels', 'suite=list', '--operation', 'test.sleep'])).items, []);
  assert.equal((await json(['--labels', 'suite=list', '--from', '1h', '--to', new Date(Date.now() + 60_000).toISOString()])).items.length, 3);
  assert.equal((await json(['--labels', 'suite=list', '--to', '1h'])).items.length, 0);
  assert.equal((await json(['--labels', 'suite=list', '--image-prefix', '/nowhere'])).items.length, 0);
  const page = await json(['--labels', 'suite=list', '--limit', '2']);
  assert.equal(page.items.length, 2);
  assert.ok(page.next);
  const rest = await json(['--labels', 'suite=list', '--limit', '2', '--cursor', page.next!]);
  assert.deepEqual([...page.items, ...rest.items].map((j) => j.job_id), [...ids].reverse());
  const every = await json(['--labels', 'suite=list', '--limit', '1', '--all']);
  assert.deepEqual(every.items.map((j) => j.job_id), [...ids].reverse());
  assert.equal(every.next, undefined);
  const statuses = await json(['--status', 'completed,failed', '--status', 'cancelled', '--limit', '1000']);
  assert.ok(statuses.items.every((j) => ['completed', 'failed', 'cancelled'].includes(j.status)));

  const t = await gk(['job', 'list', '--labels', 'suite=list', '--limit', '2']);
  ok(t, 'list table');
  assert.match(t.stdout, /^JOB ID\s+STATUS\s+OPERATION\s+NAMESPACE\s+QUEUED\s+NAME$/m);
  assert.equal(t.stdout.trimEnd().split('\n').length, 3);
  assert.match(t.stderr, /more jobs: add --all, or --cursor \S+ for the next page/);
  const badStatus = await gk(['job', 'list', '--status', 'sleeping']);
  assert.equal(badStatus.code, 1);
  assert.match(badStatus.stderr, /^guestkit: VALIDATION_ERROR: status: unknown status "sleeping"/);
  const badLimit = await gk(['job', 'list', '--limit', '0']);
  assert.equal(badLimit.code, 2);
  assert.match(badLimit.stderr, /--limit must be an integer from 1 to 1000/);
});

test('result -o FILE writes the result document; a job without one is NOT_FOUND', async () => {
  const job = await submitJson(echo('result please'));
  ok(await gk(['job', 'status', job.job_id, '--watch']), 'status --watch');
  const out = join(work, 'result.json');
  const r = await gk(['job', 'result', job.job_id, '-o', out]);
  ok(r, 'result -o');
  assert.match(r.stdout, new RegExp(`result of ${job.job_id} \\(completed\\) written to`));
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(doc.job_id, job.job_id);
  assert.equal(doc.status, 'completed');
  assert.deepEqual(doc.data.echo, { message: 'result please' });
  const printed = await gk(['job', 'result', job.job_id]);
  assert.deepEqual(JSON.parse(printed.stdout), doc);

  const slow = await submitJson(testJob('test.sleep', { seconds: 60 }));
  const none = await gk(['job', 'result', slow.job_id]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, new RegExp(`^guestkit: NOT_FOUND: job ${slow.job_id} has no result yet`));
  ok(await gk(['job', 'cancel', slow.job_id]), 'cancel');
  const unknown = await gk(['job', 'status', 'job-does-not-exist', '--json']);
  assert.equal(unknown.code, 1);
  const err = JSON.parse(unknown.stdout).error;
  assert.equal(err.code, 'NOT_FOUND');
  assert.equal(err.details.http_status, 404);
  assert.match(err.details.request_id, /\S/);
});

test('events: one line per event to the final status; --json lines; --no-follow and --after', async () => {
  const job = await submitJson(echo('events'));
  const r = await gk(['job', 'events', job.job_id]);
  ok(r, 'events');
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /progress\s+#0 /);
  assert.match(lines.at(-1)!, /status\s+completed$/);
  const j = await gk(['job', 'events', job.job_id, '--json']);
  const evs = j.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(evs.at(-1).event, 'status');
  assert.equal(evs.at(-1).data.status, 'completed');
  const progress = evs.filter((e) => e.event === 'progress');
  assert.deepEqual(progress.map((e) => Number(e.id)), progress.map((_, i) => i));
  assert.equal(progress[0].data.job_id, job.job_id);
  const stored = await gk(['job', 'events', job.job_id, '--no-follow', '--json']);
  assert.deepEqual(stored.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).id), progress.map((e) => e.id));
  const later = await gk(['job', 'events', job.job_id, '--after', '0', '--json']);
  assert.ok(later.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)).every((e) => e.event !== 'progress' || Number(e.id) > 0));
});

test('cancel a slow job: events and status --watch end with it; status --watch exits 1 as it did not complete', async () => {
  const job = await submitJson(testJob('test.sleep', { seconds: 600 }));
  const events = gk(['job', 'events', job.job_id]);
  const watch = gk(['job', 'status', job.job_id, '--watch']);
  const c = await gk(['job', 'cancel', job.job_id]);
  ok(c, 'cancel');
  assert.match(c.stdout, new RegExp(`^(cancelled|cancelling) ${job.job_id}`));
  const ev = await events;
  ok(ev, 'events of a cancelled job');
  assert.match(ev.stdout.trimEnd().split('\n').at(-1)!, /status\s+cancelled/);
  const w = await watch;
  assert.equal(w.code, 1, w.stderr);
  assert.match(w.stdout, /^status:\s+cancelled/m);
  const again = await gk(['job', 'cancel', job.job_id]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^guestkit: INVALID_STATE: job \S+ already ended \(cancelled\)/);
});

test('a failed job: submit --wait exits 1 naming it; retry makes a new job; delete removes the old one', async () => {
  const r = await gk(['job', 'submit', file('crash.json', testJob('test.crash', { mode: 'throw' })), '--wait']);
  assert.equal(r.code, 1, r.stderr);
  const id = /submitted (\S+);/.exec(r.stderr)![1]!;
  assert.match(r.stderr, new RegExp(`^guestkit: EXECUTION_ERROR: job ${id} ended failed \\(EXECUTION_ERROR\\): plain failure`, 'm'));
  assert.match(r.stdout, /status\s+failed\s+\(EXECUTION_ERROR\)/);

  const retried = await gk(['job', 'retry', id, '--json']);
  ok(retried, 'retry');
  const newId = JSON.parse(retried.stdout).job.job_id as string;
  assert.notEqual(newId, id);
  const st = JSON.parse((await gk(['job', 'status', newId, '--json'])).stdout);
  assert.equal(st.job.metadata.annotations['guestkit.dev/retry-of'], id);
  const w = await gk(['job', 'status', newId, '--watch', '--json']);
  assert.equal(w.code, 1);
  assert.equal(JSON.parse(w.stdout).status, 'failed');
  const text = await gk(['job', 'retry', newId]);
  ok(text, 'retry (table)');
  assert.match(text.stdout, new RegExp(`^retried ${newId} as \\S+ \\((pending|running|assigned)\\)$`, 'm'));

  const del = await gk(['job', 'delete', id]);
  ok(del, 'delete');
  assert.match(del.stdout, new RegExp(`^deleted ${id}`));
  const gone = await gk(['job', 'status', id]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^guestkit: NOT_FOUND: /);
  assert.equal(JSON.parse((await gk(['job', 'delete', newId, '--json'])).stdout).deleted, true);

  const slow = await submitJson(testJob('test.sleep', { seconds: 600 }));
  const active = await gk(['job', 'delete', slow.job_id]);
  assert.equal(active.code, 1);
  assert.match(active.stderr, /^guestkit: INVALID_STATE: .*cancel it first/);
  ok(await gk(['job', 'cancel', slow.job_id]), 'cancel');
});

test('workers and usage: tables and --json', async () => {
  const w = await gk(['workers']);
  ok(w, 'workers');
  assert.match(w.stdout, /^WORKER\s+STATE\s+LIVE\s+JOBS\s+POOL\s+VERSION\s+HOST\s+HEARTBEAT$/m);
  assert.match(w.stdout, /^1 of 1 live$/m);
  const wj = JSON.parse((await gk(['workers', '--json'])).stdout);
  assert.equal(wj.items.length, 1);
  assert.equal(wj.items[0].live, true);
  assert.ok(wj.items[0].capabilities.operations.includes('test.sleep'));

  const job = await submitJson(echo('usage'));
  ok(await gk(['job', 'status', job.job_id, '--watch']), 'wait');
  const u = JSON.parse((await gk(['usage', '--json'])).stdout);
  const echoRow = u.groups.find((g: { key: string }) => g.key === 'system.echo');
  assert.ok(echoRow && echoRow.jobs >= 1, JSON.stringify(u));
  assert.equal(u.totals.jobs, u.groups.reduce((n: number, g: { jobs: number }) => n + g.jobs, 0));
  const day = JSON.parse((await gk(['usage', '--group-by', 'day', '--from', '1d', '--json'])).stdout);
  assert.deepEqual(day.groups.map((g: { key: string }) => g.key), [new Date().toISOString().slice(0, 10)]);
  const none = JSON.parse((await gk(['usage', '--namespace', 'nobody-here', '--json'])).stdout);
  assert.equal(none.totals.jobs, 0);
  const t = await gk(['usage']);
  ok(t, 'usage table');
  assert.match(t.stdout, /^OPERATION\s+JOBS\s+CPU S\s+WALL S\s+READ\s+IMAGES\s+PEAK MB\s+COST USD$/m);
  assert.match(t.stdout, /^total\s+\d+/m);
  assert.match(t.stdout, /^prices: \S+ USD per CPU-second, \S+ USD per GiB read$/m);
  const bad = await gk(['usage', '--group-by', 'week']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^guestkit: USAGE_ERROR: .*--group-by/);
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('errors: a server that is down names its address and what to check; a bad --server is a usage error', async () => {
  const port = await closedPort();
  for (const args of [['job', 'list'], ['workers'], ['job', 'events', 'job-x']]) {
    const r = await gk([...args, '--server', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(
      r.stderr,
      `guestkit: UNAVAILABLE: cannot reach the guestkit server at http://127.0.0.1:${port} (connection refused): is \`guestkit serve\` running? set --server or GUESTKIT_SERVER\n`,
    );
  }
  const j = await gk(['usage', '--json'], { env: { GUESTKIT_SERVER: `http://127.0.0.1:${port}` } });
  assert.equal(j.code, 1);
  assert.equal(JSON.parse(j.stdout).error.code, 'UNAVAILABLE');
  const dns = await gk(['workers', '--server', 'http://no-such-host.invalid:8080']);
  assert.equal(dns.code, 1);
  assert.match(dns.stderr, /^guestkit: UNAVAILABLE: cannot reach the guestkit server at http:\/\/no-such-host\.invalid:8080 \(host no-such-host\.invalid not found\)/);
  const bad = await gk(['workers', '--server', 'localhost:8080']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^guestkit: USAGE_ERROR: the server must be an http\(s\) URL/);
});

test('errors: missing, unknown and expired tokens are UNAUTHENTICATED with what to do; a viewer may not submit', async () => {
  const missing = await gk(['job', 'list'], { env: { GUESTKIT_TOKEN: '' } });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^guestkit: UNAUTHENTICATED: .*no token given; pass --token or set GUESTKIT_TOKEN/);
  const unknown = await gk(['job', 'list', '--token', 'gk_aaaaaaaaaaaa_' + 'A'.repeat(43), '--json']);
  assert.equal(unknown.code, 1);
  const e = JSON.parse(unknown.stdout).error;
  assert.equal(e.code, 'UNAUTHENTICATED');
  assert.equal(e.details.reason, 'unknown');
  assert.equal(e.details.http_status, 401);
  assert.match(e.message, /token from --token/);
  const malformed = await gk(['workers'], { env: { GUESTKIT_TOKEN: 'not-a-token' } });
  assert.match(malformed.stderr, /^guestkit: UNAUTHENTICATED: the token is not of the form .*token from GUESTKIT_TOKEN/);

  // a token that expired an hour ago, made with the store's clock moved back
  const control = openControlStores(s.dataDir, { now: () => Date.now() - 7_200_000 });
  let expired: string;
  let viewer: string;
  try {
    expired = (await control.tokens.create({ namespace: 'default', role: 'submitter', expiresAt: Date.now() - 3_600_000 })).token;
    viewer = (await control.tokens.create({ namespace: 'default', role: 'viewer' })).token;
  } finally {
    await control.close();
  }
  const ex = await gk(['job', 'list', '--token', expired]);
  assert.equal(ex.code, 1);
  assert.match(ex.stderr, /^guestkit: UNAUTHENTICATED: token \w+ has expired .*: the token has expired; ask an admin for a new one \(guestkit token create .*--expires/);
  const forbidden = await gk(['job', 'submit', file('v.json', echo('no')), '--token', viewer]);
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /^guestkit: FORBIDDEN: /);
  ok(await gk(['job', 'list', '--limit', '1', '--token', viewer]), 'a viewer may list');
});

test('token: without --token or GUESTKIT_TOKEN, the admin token serve saved is used (./.guestkit or GUESTKIT_DATA_DIR)', async () => {
  const beside = join(work, 'beside');
  mkdirSync(join(beside, '.guestkit'), { recursive: true });
  writeFileSync(join(beside, '.guestkit', 'admin-token'), s.adminToken + '\n');
  ok(await gk(['workers'], { cwd: beside, env: { GUESTKIT_TOKEN: '' } }), 'token from ./.guestkit/admin-token');
  ok(await gk(['workers'], { env: { GUESTKIT_TOKEN: '', GUESTKIT_DATA_DIR: s.dataDir } }), 'token from $GUESTKIT_DATA_DIR/admin-token');
  // an explicit token wins over the file
  const r = await gk(['workers', '--token', 'gk_aaaaaaaaaaaa_' + 'A'.repeat(43)], { cwd: beside });
  assert.equal(r.code, 1);
});

test('the API client: capabilities, stored events, audit; server errors keep code, message and request id', async () => {
  const c = new ApiClient({ server: s.url, token: s.adminToken });
  const caps = await c.capabilities();
  assert.ok(caps.operations.includes('system.echo'));
  assert.equal(caps.live_workers, 1);
  const job = await c.submit(echo('direct'), { idempotencyKey: 'client-direct' });
  const msgs = [];
  for await (const m of c.follow(job.job_id)) msgs.push(m);
  assert.equal(msgs.at(-1)!.event, 'status');
  const stored = await c.events(job.job_id);
  assert.deepEqual(stored.map((e) => e.sequence), stored.map((_, i) => i));
  assert.equal((await c.result(job.job_id)).status, 'completed');
  const audit = await c.audit({ limit: 5 });
  assert.ok(audit.items.length > 0 && audit.items.every((a) => typeof a.hash === 'string'));
  assert.ok(audit.items.some((a) => a.action === 'job.submit'));
  const all = [];
  for await (const j of c.listAll({ limit: 2, operation: 'system.echo' })) all.push(j.job_id);
  assert.equal(new Set(all).size, all.length);
  await assert.rejects(c.retry(job.job_id), (err: unknown) => {
    assert.ok(err instanceof GuestkitError);
    assert.equal(err.code, 'INVALID_STATE');
    assert.match(err.message, /only a failed, timed-out or cancelled job can be retried/);
    assert.equal(err.details?.http_status, 409);
    assert.equal(err.details?.status, 'completed');
    assert.match(String(err.details?.request_id), /\S/);
    return true;
  });
  await assert.rejects(new ApiClient({ server: s.url }).workers(), (err: unknown) => err instanceof GuestkitError && err.code === 'UNAUTHENTICATED');
});

test('help: job lists the local and the server commands; each new command has Arguments and examples', async () => {
  const job = await gk(['job', '--help']);
  ok(job, 'job --help');
  for (const name of ['validate', 'create', 'schema', 'submit', 'status', 'result', 'list', 'cancel', 'retry', 'delete', 'events']) {
    assert.match(job.stdout, new RegExp(`^  ${name} `, 'm'), name);
  }
  const top = await gk(['--help']);
  assert.match(top.stdout, /^ {2}workers \[options\]\s+List the server's workers/m);
  assert.match(top.stdout, /^ {2}usage \[options\]\s+Sum what finished jobs used/m);
  for (const cmd of [['job', 'submit'], ['job', 'status'], ['job', 'result'], ['job', 'cancel'], ['job', 'retry'], ['job', 'delete'], ['job', 'events']]) {
    const r = await gk([...cmd, '--help']);
    ok(r, cmd.join(' '));
    assert.match(r.stdout.split('\n')[2]!, /^[A-Z]/, `${cmd.join(' ')}: description in sentence case`);
    assert.match(r.stdout, /\nArguments:\n {2}\S+\s{2,}\S/, `${cmd.join(' ')}: Arguments`);
    assert.match(r.stdout, /\nExamples?:\n {2}guestkit /, `${cmd.join(' ')}: examples`);
    assert.match(r.stdout, /--server <url>.*GUESTKIT_SERVER/);
    assert.match(r.stdout, /--token <token>.*GUESTKIT_TOKEN/);
  }
  for (const cmd of [['job', 'list'], ['workers'], ['usage']]) assert.match((await gk([...cmd, '--help'])).stdout, /\nExamples:\n {2}guestkit /);
});
