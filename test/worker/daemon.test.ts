import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { StoreReader } from '../helpers/store-reader.js';
import { dropJob, echoJob, job, listDir, makeSpool, readEvents, startDaemon, waitFor, waitForResult, type Daemon, type SpoolDirs } from './helpers/daemon.js';

// One daemon for the whole file: examples, every typed refusal, health and metrics.
let spool: SpoolDirs;
let d: Daemon;
let port: number;
let images: string;
let outside: string;

before(async () => {
  spool = makeSpool();
  images = join(spool.root, 'images');
  outside = join(spool.root, 'outside');
  mkdirSync(images, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(images, 'disk.img'), Buffer.alloc(4096, 7));
  writeFileSync(join(outside, 'secret.img'), 'secret');
  symlinkSync(join(outside, 'secret.img'), join(images, 'escape.img'));
  d = startDaemon(spool, ['--worker-id', 'w-main', '--max-concurrent', '2', '--metrics-port', '0', '--allow-path', images]);
  const ready = await d.ready();
  port = ready.metrics_port as number;
});

after(async () => {
  const r = await d.stop();
  assert.equal(r.code, 0, `worker exits 0 after SIGTERM; stderr: ${d.stderr.join('')}`);
});

test('the spec example echo job gives a completed result with the echo and numbered events', async () => {
  const examples = join(repoRoot(), 'test', 'protocol', 'examples');
  const text = readFileSync(join(examples, 'worker-echo-test.json'), 'utf8');
  dropJob(spool, text, 'worker-echo-test.json');
  const r = await waitForResult(spool, 'echo-test-001');
  assert.equal(r.status, 'completed');
  assert.equal(r.worker_id, 'w-main');
  assert.equal(r.execution_summary.attempt, 1);
  assert.ok(typeof r.completed_at === 'string' && !('failed_at' in r));
  assert.deepEqual(r.data, { echo: JSON.parse(text).payload.data });
  assert.equal(r.error, undefined);
  const ev = readEvents(spool, 'echo-test-001');
  assert.ok(ev.length >= 2);
  assert.deepEqual(ev.map((e) => e.sequence), ev.map((_, i) => i));
  assert.ok(listDir(join(spool.jobs, 'done')).includes('worker-echo-test.json'));
});

test('test.echo alias runs the echo handler', async () => {
  dropJob(spool, job('alias-echo-01', 'test.echo', [1, 2, 3]));
  const r = await waitForResult(spool, 'alias-echo-01');
  assert.equal(r.status, 'completed');
  assert.deepEqual(r.data, { echo: [1, 2, 3] });
});

test('the other spec examples end with typed errors, never a crash', async () => {
  const examples = join(repoRoot(), 'test', 'protocol', 'examples');
  // inspect-basic: /vms is not under the allowed root
  dropJob(spool, readFileSync(join(examples, 'worker-guestkit-inspect-basic.json'), 'utf8'), 'inspect-basic.json');
  const basic = await waitForResult(spool, 'inspect-basic-001');
  assert.equal(basic.status, 'failed');
  assert.equal(basic.error?.code, 'PATH_NOT_ALLOWED');
  // inspect-full asks for features (lvm, nbd) this worker does not advertise
  dropJob(spool, readFileSync(join(examples, 'worker-guestkit-inspect-full.json'), 'utf8'), 'inspect-full.json');
  const full = await waitForResult(spool, 'inspect-full-002');
  assert.equal(full.error?.code, 'CAPABILITY_MISMATCH');
  assert.match(full.error!.message, /nbd/);
  assert.equal((full.observability as { trace_id?: string }).trace_id, '550e8400-e29b-41d4-a716-446655440001');
  // profile: its image lies under /vms, outside the allowed root
  dropJob(spool, readFileSync(join(examples, 'worker-guestkit-profile-security.json'), 'utf8'), 'profile.json');
  const prof = await waitForResult(spool, 'profile-security-001');
  assert.equal(prof.error?.code, 'PATH_NOT_ALLOWED');
});

test('malformed JSON goes to failed/ with a VALIDATION_ERROR named after the file', async () => {
  dropJob(spool, '{"version": "1.0", "job_id": ', 'broken-file.json');
  const r = await waitForResult(spool, 'broken-file');
  assert.equal(r.status, 'failed');
  assert.equal(r.error?.code, 'VALIDATION_ERROR');
  assert.match(r.error!.message, /not valid JSON/);
  assert.ok(listDir(join(spool.jobs, 'failed')).includes('broken-file.json'));
});

test('an invalid document says exactly what is wrong, each with its path', async () => {
  const bad = echoJob('invalid-doc-01', { kind: 'Nope', execution: { priority: 42 } });
  dropJob(spool, bad, 'invalid-doc.json');
  const r = await waitForResult(spool, 'invalid-doc-01');
  assert.equal(r.error?.code, 'VALIDATION_ERROR');
  const errs = (r.error!.details as { errors: { path: string; message: string }[] }).errors;
  const paths = errs.map((e) => e.path).sort();
  assert.deepEqual(paths, ['execution.priority', 'kind']);
  // a document without a job_id is named after its file
  dropJob(spool, { version: '1.0' }, 'no-id-here.json');
  const r2 = await waitForResult(spool, 'no-id-here');
  assert.ok((r2.error!.details as { errors: { path: string }[] }).errors.some((e) => e.path === 'job_id'));
});

test('path traversal and symlink escapes are PATH_NOT_ALLOWED before any read', async () => {
  dropJob(spool, job('traversal-01', 'test.image', { image: { path: `${images}/../../etc/shadow` } }));
  const t = await waitForResult(spool, 'traversal-01');
  assert.equal(t.error?.code, 'PATH_NOT_ALLOWED');
  assert.match(t.error!.message, /\.\./);
  dropJob(spool, job('symlink-01', 'test.image', { image: { path: join(images, 'escape.img') } }));
  const s = await waitForResult(spool, 'symlink-01');
  assert.equal(s.error?.code, 'PATH_NOT_ALLOWED');
  assert.match(s.error!.message, /symlink escape/);
  dropJob(spool, job('missing-img-01', 'test.image', { image: { path: join(images, 'nope.img') } }));
  assert.equal((await waitForResult(spool, 'missing-img-01')).error?.code, 'IMAGE_NOT_FOUND');
});

test('checksums are verified before the handler runs', async () => {
  const good = createHash('sha256').update(Buffer.alloc(4096, 7)).digest('hex');
  dropJob(spool, job('checksum-ok-01', 'test.image', { image: { path: join(images, 'disk.img'), checksum: `sha256:${good}` } }));
  const ok = await waitForResult(spool, 'checksum-ok-01');
  assert.equal(ok.status, 'completed', JSON.stringify(ok.error));
  assert.equal((ok.data as { size_bytes: number }).size_bytes, 4096);
  assert.equal((ok.metrics as { disk_read_bytes: number }).disk_read_bytes, 4096 + 512);
  dropJob(spool, job('checksum-bad-01', 'test.image', { image: { path: join(images, 'disk.img'), checksum: `sha256:${'0'.repeat(64)}` } }));
  const bad = await waitForResult(spool, 'checksum-bad-01');
  assert.equal(bad.status, 'failed');
  assert.equal(bad.error?.code, 'IMAGE_CHECKSUM_MISMATCH');
  assert.equal(bad.error?.phase, 'validation');
});

test('unknown operation and unmet capability give their codes', async () => {
  dropJob(spool, job('unknown-op-01', 'acme.frobnicate', {}));
  assert.equal((await waitForResult(spool, 'unknown-op-01')).error?.code, 'UNSUPPORTED_OPERATION');
  dropJob(spool, echoJob('unmet-cap-01', { constraints: { required_capabilities: ['disk.floppy'], minimum_worker_version: '99.0.0' } }));
  const r = await waitForResult(spool, 'unmet-cap-01');
  assert.equal(r.error?.code, 'CAPABILITY_MISMATCH');
  assert.match(r.error!.message, /disk\.floppy/);
  assert.match(r.error!.message, /99\.0\.0/);
});

test('a job routed to another pool is left in the spool for that pool', async () => {
  dropJob(spool, echoJob('other-pool-01', { routing: { worker_pool: 'gpu' } }));
  await d.waitForLog((l) => l.job_id === 'other-pool-01' && /routed/.test(l.msg));
  assert.ok(listDir(spool.jobs).includes('other-pool-01.json'));
});

test('a duplicate job id is archived without overwriting the first result', async () => {
  dropJob(spool, echoJob('dup-id-0001', {}, 'first'));
  const first = await waitForResult(spool, 'dup-id-0001');
  dropJob(spool, echoJob('dup-id-0001', {}, 'second'), 'dup-again.json');
  await d.waitForLog((l) => l.job_id === 'dup-id-0001' && /already submitted/.test(l.msg));
  assert.deepEqual(JSON.parse(readFileSync(join(spool.results, 'dup-id-0001-result.json'), 'utf8')), first);
  // the log line may overtake the rename; the archive follows within moments
  await waitFor(() => listDir(join(spool.jobs, 'failed')).includes('dup-again.json.duplicate'), 5000, 'duplicate archived');
  assert.deepEqual(JSON.parse(readFileSync(join(spool.results, 'dup-id-0001-result.json'), 'utf8')), first);
});

test('health, readiness, registration and Prometheus metrics are served', async () => {
  const get = async (p: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: res.status, text: await res.text() };
  };
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/readyz')).status, 200);
  const reg = JSON.parse((await get('/registration')).text);
  assert.equal(reg.worker_id, 'w-main');
  assert.ok(reg.capabilities.operations.includes('system.echo'));
  assert.ok(reg.capabilities.operations.includes('guestkit.inspect'));
  assert.equal(reg.resources.max_concurrent_jobs, 2);
  const m = (await get('/metrics')).text;
  assert.match(m, /guestkit_jobs_total\{operation="system\.echo",status="completed",worker_id="w-main",pool="default"\} \d+/);
  assert.match(m, /guestkit_job_duration_seconds_bucket/);
  assert.match(m, /guestkit_jobs_in_flight/);
  assert.match(m, /guestkit_queue_depth/);
  assert.match(m, /guestkit_image_read_bytes_total\{operation="test\.image"/);
  assert.match(m, /guestkit_handler_duration_seconds_bucket/);
  // a worker prices what it runs itself (default prices here), so cluster workers export the cost too
  assert.match(m, /guestkit_job_cost_total\{namespace="default",operation="test\.image",currency="USD"[,}][^\n]* [0-9.e-]+\n/);
});

test('logs are JSON lines carrying job_id and trace_id; the store holds every transition', async () => {
  const line = await d.waitForLog((l) => l.job_id === 'echo-test-001' && l.msg === 'job completed');
  assert.match(String(line.trace_id), /^[0-9a-f]{32}$/);
  const store = StoreReader.open(spool.data);
  try {
    const tr = store.transitions('echo-test-001').map((t) => `${t.from_status ?? ''}>${t.to_status}`);
    assert.deepEqual(tr, ['>pending', 'pending>assigned', 'assigned>running', 'running>completed']);
    assert.equal(store.events('echo-test-001').length, readEvents(spool, 'echo-test-001').length);
  } finally {
    store.close();
  }
});
