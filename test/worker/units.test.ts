import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { parseSha256, verifySha256 } from '../../src/disk/checksum.js';
import { resolveWorkerConfig } from '../../src/app/worker-config.js';
import { Heap } from '../../src/queue/embedded/heap.js';
import { PathPolicy } from '../../src/worker/path-policy.js';
import { jobParentContext, w3cTraceId } from '../../src/observability/tracing.js';
import { trace } from '@opentelemetry/api';

test('config: defaults < YAML file < environment < flags; bad values are usage errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-cfg-'));
  const file = join(dir, 'worker.yaml');
  writeFileSync(file, 'worker_id: from-file\npool: file-pool\nmax_concurrent: 3\nallow_paths: [/srv/a, /srv/b]\ndrain_timeout: 5\n');
  const c = resolveWorkerConfig({ config: file, pool: 'flag-pool', jobsDir: '/spool/jobs' }, { GUESTKIT_MAX_CONCURRENT: '7', GUESTKIT_WORKER_ID: 'from-env' });
  assert.equal(c.workerId, 'from-env');
  assert.equal(c.pool, 'flag-pool');
  assert.equal(c.maxConcurrent, 7);
  assert.deepEqual(c.allowPaths, ['/srv/a', '/srv/b']);
  assert.equal(c.drainTimeout, 5);
  assert.equal(c.resultsDir, '/spool/results');
  assert.equal(c.dataDir, '/spool/state');
  assert.equal(c.metricsPort, undefined);
  const d = resolveWorkerConfig({}, {});
  assert.equal(d.pool, 'default');
  assert.ok(d.maxConcurrent >= 1);
  assert.equal(d.jobsDir, '/var/lib/guestkit/jobs');
  assert.deepEqual(resolveWorkerConfig({}, { GUESTKIT_ALLOW_PATHS: '/a:/b' }).allowPaths, ['/a', '/b']);
  const usage = (e: unknown) => isGuestkitError(e, 'USAGE_ERROR');
  assert.throws(() => resolveWorkerConfig({ maxConcurrent: '0' }, {}), usage);
  assert.throws(() => resolveWorkerConfig({ metricsPort: 'http' }, {}), usage);
  assert.throws(() => resolveWorkerConfig({ logLevel: 'loud' }, {}), usage);
  // prices (the cost counter, GET /usage): defaults < file < GUESTKIT_PRICE_*
  assert.deepEqual(d.prices, { cpuSecond: 0.00002, gibRead: 0.001, currency: 'USD' });
  writeFileSync(file, 'prices: {cpu_second: 0.5, currency: EUR}\n');
  assert.deepEqual(resolveWorkerConfig({ config: file }, { GUESTKIT_PRICE_GIB_READ: '3' }).prices, { cpuSecond: 0.5, gibRead: 3, currency: 'EUR' });
  writeFileSync(file, 'prices: {cpu_second: -1}\n');
  assert.throws(() => resolveWorkerConfig({ config: file }, {}), (e) => usage(e) && /prices\.cpu_second/.test((e as Error).message));
  assert.throws(() => resolveWorkerConfig({}, { GUESTKIT_PRICE_CPU_SECOND: 'cheap' }), (e) => usage(e) && /GUESTKIT_PRICE_CPU_SECOND/.test((e as Error).message));
  writeFileSync(file, 'max_concurent: 3\n');
  assert.throws(() => resolveWorkerConfig({ config: file }, {}), (e) => usage(e) && /max_concurent/.test((e as Error).message));
  assert.throws(() => resolveWorkerConfig({ config: join(dir, 'missing.yaml') }, {}), usage);
  // the inspection ceilings of the config file; a misspelt budget or a bad value is refused
  writeFileSync(file, 'inspect_budget:\n  max_image_bytes: 1048576\n  on_exceeded: fail\n');
  assert.deepEqual(resolveWorkerConfig({ config: file }, {}).inspectBudget, { max_image_bytes: 1048576, on_exceeded: 'fail' });
  writeFileSync(file, 'inspect_budget:\n  max_image_byte: 1048576\n');
  assert.throws(() => resolveWorkerConfig({ config: file }, {}), (e) => usage(e) && /max_image_byte/.test((e as Error).message));
  writeFileSync(file, 'inspect_budget:\n  max_wall_seconds: -1\n');
  assert.throws(() => resolveWorkerConfig({ config: file }, {}), usage);
});

test('path policy: real paths under real roots; .., symlink escapes, relative paths refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gk-pp-'));
  const allowed = join(root, 'allowed');
  mkdirSync(join(allowed, 'sub'), { recursive: true });
  writeFileSync(join(allowed, 'sub', 'a.img'), 'x');
  writeFileSync(join(root, 'secret'), 's');
  symlinkSync(join(root, 'secret'), join(allowed, 'link-out'));
  symlinkSync(join(allowed, 'sub', 'a.img'), join(allowed, 'link-in'));
  symlinkSync(allowed, join(root, 'alias')); // a root reached through a symlink still works
  const p = new PathPolicy([join(root, 'alias')]);
  assert.equal(await p.resolve(join(allowed, 'sub', 'a.img')), join(allowed, 'sub', 'a.img'));
  assert.equal(await p.resolve(join(allowed, 'link-in')), join(allowed, 'sub', 'a.img'));
  const denied = (e: unknown) => isGuestkitError(e, 'PATH_NOT_ALLOWED');
  await assert.rejects(p.resolve(join(allowed, 'link-out')), denied);
  await assert.rejects(p.resolve(`${allowed}/../secret`), denied);
  await assert.rejects(p.resolve('sub/a.img'), denied);
  await assert.rejects(p.resolve(join(root, 'secret')), denied);
  await assert.rejects(p.resolve(`${allowed}-sibling/x.img`), denied, 'prefix of a name is not a parent');
  await assert.rejects(p.resolve(join(allowed, 'missing.img')), (e) => isGuestkitError(e, 'IMAGE_NOT_FOUND'));
  await p.checkOutput(join(allowed, 'new', 'dir', 'out.json'), 'output.destination');
  await assert.rejects(p.checkOutput(join(allowed, 'link-out', 'x.json'), 'output.destination'), denied);
  assert.equal(new PathPolicy([]).restricted, false);
});

test('checksum: sha256 streamed; malformed values are validation errors', async () => {
  const f = join(mkdtempSync(join(tmpdir(), 'gk-ck-')), 'f');
  writeFileSync(f, 'abc');
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(await verifySha256(f, `sha256:${abc}`, 'image.checksum'), 3);
  assert.equal(await verifySha256(f, abc.toUpperCase(), 'image.checksum'), 3);
  await assert.rejects(verifySha256(f, `sha256:${'1'.repeat(64)}`, 'image.checksum'), (e) => isGuestkitError(e, 'IMAGE_CHECKSUM_MISMATCH'));
  assert.throws(() => parseSha256('sha256:abc123...', 'image.checksum'), (e) => isGuestkitError(e, 'VALIDATION_ERROR'));
});

test('heap pops by priority then arrival', () => {
  const h = new Heap<{ p: number; s: number }>((a, b) => a.p > b.p || (a.p === b.p && a.s < b.s));
  const xs = Array.from({ length: 200 }, (_, s) => ({ p: (s * 37) % 10, s }));
  for (const x of xs) h.push(x);
  const out = [];
  while (h.size) out.push(h.pop()!);
  const want = [...xs].sort((a, b) => b.p - a.p || a.s - b.s);
  assert.deepEqual(out, want);
});

test('tracing: a job trace id (UUID or hex) becomes the parent of its spans', () => {
  assert.equal(w3cTraceId('550e8400-e29b-41d4-a716-446655440001'), '550e8400e29b41d4a716446655440001');
  assert.equal(w3cTraceId('not-a-trace'), undefined);
  const ctx = jobParentContext({ trace_id: '550e8400-e29b-41d4-a716-446655440001', span_id: '446655440002' });
  const sc = trace.getSpanContext(ctx)!;
  assert.equal(sc.traceId, '550e8400e29b41d4a716446655440001');
  assert.match(sc.spanId, /^[0-9a-f]{16}$/);
  assert.match(trace.getSpanContext(jobParentContext(undefined))!.traceId, /^[0-9a-f]{32}$/);
});
