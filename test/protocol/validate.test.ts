import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GuestkitError,
  formatIssue,
  parseJobText,
  toUtcTimestamp,
  validateDocument,
  validateJob,
  validatePayload,
} from '../../src/protocol/index.js';
import { minimalJob } from './helpers.js';

type Doc = Record<string, any>;
interface Case {
  name: string;
  mutate: (d: Doc) => unknown;
  paths: string[];
}

const del = (o: Doc, k: string) => {
  delete o[k];
};

/** Each invalid document and the exact set of error paths it must give. */
const CASES: Case[] = [
  // version
  { name: 'version 2.0', mutate: (d) => void (d.version = '2.0'), paths: ['version'] },
  { name: 'version as number', mutate: (d) => void (d.version = 1), paths: ['version'] },
  { name: 'version missing', mutate: (d) => del(d, 'version'), paths: ['version'] },
  // job_id
  { name: 'job_id missing', mutate: (d) => del(d, 'job_id'), paths: ['job_id'] },
  { name: 'job_id empty', mutate: (d) => void (d.job_id = ''), paths: ['job_id'] },
  { name: 'job_id 7 bytes', mutate: (d) => void (d.job_id = 'job-123'), paths: ['job_id'] },
  { name: 'job_id with slash', mutate: (d) => void (d.job_id = 'jobs/evil-123'), paths: ['job_id'] },
  { name: 'job_id with backslash', mutate: (d) => void (d.job_id = 'job\\evil-123'), paths: ['job_id'] },
  { name: 'job_id with NUL', mutate: (d) => void (d.job_id = 'job-\u0000-12345'), paths: ['job_id'] },
  { name: 'job_id with ..', mutate: (d) => void (d.job_id = 'job..12345'), paths: ['job_id'] },
  { name: 'job_id path traversal', mutate: (d) => void (d.job_id = '../../etc/passwd'), paths: ['job_id'] },
  { name: 'job_id with newline', mutate: (d) => void (d.job_id = 'job-1234\n5678'), paths: ['job_id'] },
  { name: 'job_id too long', mutate: (d) => void (d.job_id = 'j'.repeat(201)), paths: ['job_id'] },
  { name: 'job_id as number', mutate: (d) => void (d.job_id = 123456789), paths: ['job_id'] },
  // created_at
  { name: 'created_at missing', mutate: (d) => del(d, 'created_at'), paths: ['created_at'] },
  { name: 'created_at not a date', mutate: (d) => void (d.created_at = 'yesterday'), paths: ['created_at'] },
  { name: 'created_at Feb 30', mutate: (d) => void (d.created_at = '2026-02-30T10:00:00Z'), paths: ['created_at'] },
  { name: 'created_at Feb 29 non-leap', mutate: (d) => void (d.created_at = '2026-02-29T10:00:00Z'), paths: ['created_at'] },
  { name: 'created_at hour 24', mutate: (d) => void (d.created_at = '2026-01-30T24:00:00Z'), paths: ['created_at'] },
  { name: 'created_at without offset', mutate: (d) => void (d.created_at = '2026-01-30T10:00:00'), paths: ['created_at'] },
  { name: 'created_at date only', mutate: (d) => void (d.created_at = '2026-01-30'), paths: ['created_at'] },
  { name: 'created_at epoch number', mutate: (d) => void (d.created_at = 1769767200), paths: ['created_at'] },
  { name: 'created_at offset +25:00', mutate: (d) => void (d.created_at = '2026-01-30T10:00:00+25:00'), paths: ['created_at'] },
  // kind / operation
  { name: 'kind wrong', mutate: (d) => void (d.kind = 'Job'), paths: ['kind'] },
  { name: 'kind missing', mutate: (d) => del(d, 'kind'), paths: ['kind'] },
  {
    name: 'operation not namespaced',
    mutate: (d) => void (d.operation = 'inspect'),
    paths: ['operation'],
  },
  { name: 'operation empty', mutate: (d) => void (d.operation = ''), paths: ['operation'] },
  { name: 'operation trailing dot', mutate: (d) => void (d.operation = 'guestkit.'), paths: ['operation'] },
  { name: 'operation missing', mutate: (d) => del(d, 'operation'), paths: ['operation'] },
  // payload
  { name: 'payload missing', mutate: (d) => del(d, 'payload'), paths: ['payload'] },
  { name: 'payload is a string', mutate: (d) => void (d.payload = 'inspect'), paths: ['payload'] },
  { name: 'payload.type missing', mutate: (d) => del(d.payload, 'type'), paths: ['payload.type'] },
  { name: 'payload.type two parts', mutate: (d) => void (d.payload.type = 'guestkit.inspect'), paths: ['payload.type'] },
  { name: 'payload.type version without v', mutate: (d) => void (d.payload.type = 'guestkit.inspect.1'), paths: ['payload.type'] },
  {
    name: 'payload.type of another operation',
    mutate: (d) => void (d.payload.type = 'guestkit.profile.v1'),
    paths: ['payload.type'],
  },
  { name: 'payload.data missing', mutate: (d) => del(d.payload, 'data'), paths: ['payload.data'] },
  // execution
  { name: 'priority 0', mutate: (d) => void (d.execution = { priority: 0 }), paths: ['execution.priority'] },
  { name: 'priority 11', mutate: (d) => void (d.execution = { priority: 11 }), paths: ['execution.priority'] },
  { name: 'priority 5.5', mutate: (d) => void (d.execution = { priority: 5.5 }), paths: ['execution.priority'] },
  { name: 'priority as string', mutate: (d) => void (d.execution = { priority: '5' }), paths: ['execution.priority'] },
  { name: 'priority null', mutate: (d) => void (d.execution = { priority: null }), paths: ['execution.priority'] },
  { name: 'max_attempts 0', mutate: (d) => void (d.execution = { max_attempts: 0 }), paths: ['execution.max_attempts'] },
  { name: 'max_attempts negative', mutate: (d) => void (d.execution = { max_attempts: -3 }), paths: ['execution.max_attempts'] },
  { name: 'attempt over max_attempts', mutate: (d) => void (d.execution = { attempt: 3, max_attempts: 2 }), paths: ['execution.attempt'] },
  { name: 'attempt over default max_attempts', mutate: (d) => void (d.execution = { attempt: 2 }), paths: ['execution.attempt'] },
  { name: 'attempt 0', mutate: (d) => void (d.execution = { attempt: 0 }), paths: ['execution.attempt'] },
  { name: 'timeout 0', mutate: (d) => void (d.execution = { timeout_seconds: 0 }), paths: ['execution.timeout_seconds'] },
  { name: 'timeout negative', mutate: (d) => void (d.execution = { timeout_seconds: -60 }), paths: ['execution.timeout_seconds'] },
  { name: 'timeout huge (1e300)', mutate: (d) => void (d.execution = { timeout_seconds: 1e300 }), paths: ['execution.timeout_seconds'] },
  { name: 'timeout infinite', mutate: (d) => void (d.execution = { timeout_seconds: Infinity }), paths: ['execution.timeout_seconds'] },
  { name: 'deadline not RFC 3339', mutate: (d) => void (d.execution = { deadline: '30/01/2026 14:00' }), paths: ['execution.deadline'] },
  { name: 'cancellable as string', mutate: (d) => void (d.execution = { cancellable: 'yes' }), paths: ['execution.cancellable'] },
  { name: 'idempotency_key empty', mutate: (d) => void (d.execution = { idempotency_key: '' }), paths: ['execution.idempotency_key'] },
  { name: 'execution is an array', mutate: (d) => void (d.execution = []), paths: ['execution'] },
  // constraints
  {
    name: 'minimum_worker_version empty',
    mutate: (d) => void (d.constraints = { minimum_worker_version: '' }),
    paths: ['constraints.minimum_worker_version'],
  },
  {
    name: 'minimum_worker_version not semver',
    mutate: (d) => void (d.constraints = { minimum_worker_version: 'latest' }),
    paths: ['constraints.minimum_worker_version'],
  },
  {
    name: 'required_capabilities not an array',
    mutate: (d) => void (d.constraints = { required_capabilities: 'guestkit.inspect' }),
    paths: ['constraints.required_capabilities'],
  },
  {
    name: 'required_features with a number',
    mutate: (d) => void (d.constraints = { required_features: ['lvm', 7] }),
    paths: ['constraints.required_features[1]'],
  },
  {
    name: 'maximum_disk_size_gb negative',
    mutate: (d) => void (d.constraints = { maximum_disk_size_gb: -1 }),
    paths: ['constraints.maximum_disk_size_gb'],
  },
  {
    name: 'require_privileged as string',
    mutate: (d) => void (d.constraints = { require_privileged: 'true' }),
    paths: ['constraints.require_privileged'],
  },
  // metadata / routing / audit / observability
  { name: 'label value number', mutate: (d) => void (d.metadata = { labels: { tier: 1 } }), paths: ['metadata.labels.tier'] },
  {
    name: 'label key with dash, value bool',
    mutate: (d) => void (d.metadata = { labels: { 'cost-center': false } }),
    paths: ['metadata.labels.cost-center'],
  },
  { name: 'metadata is a string', mutate: (d) => void (d.metadata = 'prod'), paths: ['metadata'] },
  {
    name: 'anti_affinity value not a list',
    mutate: (d) => void (d.routing = { anti_affinity: { concurrent_jobs: 'x' } }),
    paths: ['routing.anti_affinity.concurrent_jobs'],
  },
  { name: 'worker_pool number', mutate: (d) => void (d.routing = { worker_pool: 3 }), paths: ['routing.worker_pool'] },
  {
    name: 'authorization without subject',
    mutate: (d) => void (d.audit = { authorization: { method: 'bearer_token' } }),
    paths: ['audit.authorization.subject'],
  },
  { name: 'trace_id number', mutate: (d) => void (d.observability = { trace_id: 42 }), paths: ['observability.trace_id'] },
  // several at once
  {
    name: 'everything wrong at once',
    mutate: (d) => {
      d.version = '0.9';
      d.job_id = 'a/b';
      d.created_at = 'now';
      d.kind = 'Task';
      d.operation = 'echo';
      d.execution = { priority: 42, max_attempts: 0, attempt: 5, timeout_seconds: -1 };
      d.constraints = { minimum_worker_version: '' };
      d.payload = { type: 'echo' };
    },
    paths: [
      'version',
      'job_id',
      'created_at',
      'kind',
      'operation',
      'execution.max_attempts',
      'execution.timeout_seconds',
      'execution.priority',
      'constraints.minimum_worker_version',
      'payload.type',
      'payload.data',
    ],
  },
  // not an object at all
  { name: 'document is an array', mutate: () => [], paths: [''] },
  { name: 'document is null', mutate: () => null, paths: [''] },
  { name: 'document is a string', mutate: () => 'job', paths: [''] },
];

test(`table: ${CASES.length} invalid documents give exactly the expected error paths`, () => {
  assert.ok(CASES.length >= 40);
  for (const c of CASES) {
    const doc = minimalJob();
    const replaced = c.mutate(doc);
    const res = validateJob(replaced === undefined ? doc : replaced);
    assert.equal(res.ok, false, c.name);
    assert.equal(res.job, undefined, c.name);
    const paths = [...new Set(res.errors.map((e) => e.path))];
    assert.deepEqual(paths.sort(), [...c.paths].sort(), `${c.name}: ${res.errors.map(formatIssue).join('; ')}`);
    for (const e of res.errors) {
      assert.ok(e.message.length > 0 && !/Invalid input/.test(e.message), `${c.name}: plain message, got "${e.message}"`);
    }
  }
});

const messageOf = (doc: unknown, path: string) =>
  validateJob(doc)
    .errors.filter((e) => e.path === path)
    .map((e) => e.message);

test('messages say what is wrong in plain words', () => {
  const d = minimalJob();
  d.execution = { priority: 11 };
  assert.deepEqual(validateJob(d).errors.map(formatIssue), ['execution.priority: must be between 1 and 10']);

  const m = minimalJob();
  m.job_id = 'a/..';
  assert.deepEqual(messageOf(m, 'job_id'), [
    'must be at least 8 bytes',
    'must not contain "/" or "\\" (it names result files)',
    'must not contain ".."',
  ]);

  const v = minimalJob();
  delete v.version;
  assert.deepEqual(messageOf(v, 'version'), ['is required']);
  v.version = '2.0';
  assert.deepEqual(messageOf(v, 'version'), ['must be "1.0"']);

  const a = minimalJob();
  a.execution = { attempt: 3, max_attempts: 2 };
  assert.deepEqual(messageOf(a, 'execution.attempt'), ['must not exceed max_attempts (2)']);

  const t = minimalJob();
  t.execution = { priority: '7' };
  assert.deepEqual(messageOf(t, 'execution.priority'), ['must be an integer']);
  t.execution = { priority: null };
  assert.deepEqual(messageOf(t, 'execution.priority'), ['must be an integer, not null']);

  const p = minimalJob();
  p.payload.type = 'guestkit.profile.v1';
  assert.deepEqual(messageOf(p, 'payload.type'), ['must begin with the operation "guestkit.inspect" (e.g. guestkit.inspect.v1)']);
});

test('job_id length counts bytes, not characters', () => {
  const d = minimalJob();
  d.job_id = 'jöb-ünï'; // 7 characters, 10 bytes
  assert.deepEqual(validateJob(d).errors, []);
  d.job_id = 'ü'.repeat(3); // 6 bytes
  assert.deepEqual(messageOf(d, 'job_id'), ['must be at least 8 bytes']);
});

test('timestamps are checked as RFC 3339 and stored as UTC', () => {
  assert.equal(toUtcTimestamp('2026-01-30T10:00:00Z'), '2026-01-30T10:00:00Z');
  assert.equal(toUtcTimestamp('2026-01-30T12:30:00+02:30'), '2026-01-30T10:00:00Z');
  assert.equal(toUtcTimestamp('2026-01-01T00:30:00.123456+05:30'), '2025-12-31T19:00:00.123456Z');
  assert.equal(toUtcTimestamp('2024-02-29T23:00:00-01:00'), '2024-03-01T00:00:00Z');
  assert.equal(toUtcTimestamp('2026-01-30t10:00:00z'), '2026-01-30T10:00:00Z');
  assert.equal(toUtcTimestamp('2016-12-31T23:59:60Z'), '2016-12-31T23:59:60Z');
  for (const bad of ['2026-13-01T00:00:00Z', '2026-01-32T00:00:00Z', '2026-01-30T10:60:00Z', '2026-01-30 10:00:00Z', '', 'x'.repeat(1000)]) {
    assert.equal(toUtcTimestamp(bad), null, bad);
  }
  const d = minimalJob();
  d.created_at = '2026-01-30T12:00:00+02:00';
  d.execution = { deadline: '2026-01-30T09:00:00-05:00' };
  const res = validateJob(d);
  assert.equal(res.job?.created_at, '2026-01-30T10:00:00Z');
  assert.equal(res.job?.execution.deadline, '2026-01-30T14:00:00Z');
});

test('warnings are separate and never make a job invalid', () => {
  const d = minimalJob();
  d.execution = { timeout_seconds: 90000, deadline: '2026-01-29T00:00:00Z' };
  d.constraints = { maximum_disk_size_gb: 200000 };
  const res = validateJob(d);
  assert.equal(res.ok, true);
  assert.deepEqual(res.errors, []);
  assert.deepEqual(
    res.warnings.map((w) => w.path),
    ['execution.timeout_seconds', 'constraints.maximum_disk_size_gb', 'execution.deadline'],
  );
  assert.match(res.warnings[0]!.message, /24 hours/);
  // exactly 24 h is fine
  d.execution = { timeout_seconds: 86400 };
  d.constraints = { maximum_disk_size_gb: 100000 };
  assert.deepEqual(validateJob(d).warnings, []);
});

test('validatePayload checks data against the operation schema', () => {
  const d = minimalJob();
  d.payload.data = { image: { path: '', format: 'iso', read_only: 'no', size_bytes: -1 }, options: { deep_scan: 1 } };
  const job = validateJob(d).job!;
  const res = validatePayload(job);
  assert.equal(res.ok, false);
  assert.equal(res.code, 'VALIDATION_ERROR');
  assert.deepEqual(res.errors.map((e) => e.path).sort(), [
    'payload.data.image.format',
    'payload.data.image.path',
    'payload.data.image.read_only',
    'payload.data.image.size_bytes',
    'payload.data.options.deep_scan',
  ]);
  assert.deepEqual(
    res.errors.find((e) => e.path === 'payload.data.image.format')?.message,
    'must be one of raw, img, qcow2, vmdk, vdi, vhd, vhdx, ova, auto',
  );

  // well-formed checksums (prefixed or bare) give no warning; malformed ones warn
  for (const [checksum, warns] of [
    ['sha256:' + 'a'.repeat(64), 0],
    ['B'.repeat(64), 0],
    ['sha256:abc123...', 1],
    ['md5:' + 'a'.repeat(32), 1],
  ] as const) {
    const c = minimalJob();
    c.payload.data.image.checksum = checksum;
    const r = validatePayload(validateJob(c).job!);
    assert.equal(r.ok, true, checksum);
    assert.equal(r.warnings.length, warns, checksum);
  }

  // per-operation required parts
  const cases: [string, unknown, string[]][] = [
    ['guestkit.profile', { image: { path: '/a', format: 'raw' }, profiles: [] }, ['payload.data.profiles']],
    ['guestkit.profile', { image: { path: '/a', format: 'raw' }, profiles: ['speed'] }, ['payload.data.profiles[0]']],
    ['guestkit.compare', { baseline: { path: '/a', format: 'raw' } }, ['payload.data.target']],
    ['guestkit.convert', { source: { path: '/a', format: 'raw' }, target: { path: '/b', format: 'auto' } }, ['payload.data.target.format']],
    ['guestkit.fix', { image: { path: '/a', format: 'raw' }, operations: [{ options: {} }] }, ['payload.data.operations[0].type']],
    ['guestkit.inspect', { image: { path: '/a', format: 'raw' }, output: { format: 'xml', destination: '/o' } }, ['payload.data.output.format']],
    ['guestkit.inspect', [1, 2], ['payload.data']],
  ];
  for (const [operation, data, paths] of cases) {
    const r = validatePayload({ operation, payload: { type: `${operation}.v1`, data } });
    assert.equal(r.ok, false, operation);
    assert.deepEqual(r.errors.map((e) => e.path), paths, `${operation} ${JSON.stringify(data)}`);
  }
  // echo takes any JSON, and the test.echo alias too
  for (const operation of ['system.echo', 'test.echo']) {
    for (const data of [null, 1, 'x', [1], { a: { b: 1 } }]) {
      assert.equal(validatePayload({ operation, payload: { type: `${operation}.v1`, data } }).ok, true);
    }
  }
});

test('unknown operations and payload versions are UNSUPPORTED_OPERATION, not envelope errors', () => {
  const d = minimalJob();
  d.operation = 'acme.frobnicate';
  d.payload = { type: 'acme.frobnicate.v1', data: {} };
  const env = validateJob(d);
  assert.equal(env.ok, true);
  const p = validatePayload(env.job!);
  assert.equal(p.code, 'UNSUPPORTED_OPERATION');
  assert.deepEqual(p.errors.map((e) => e.path), ['operation']);
  const full = validateDocument(d);
  assert.equal(full.ok, true);
  assert.deepEqual(full.errors, []);
  assert.match(full.warnings[0]!.message, /UNSUPPORTED_OPERATION/);

  const v2 = minimalJob();
  v2.payload.type = 'guestkit.inspect.v2';
  const p2 = validatePayload(validateJob(v2).job!);
  assert.equal(p2.code, 'UNSUPPORTED_OPERATION');
  assert.deepEqual(p2.errors.map((e) => e.path), ['payload.type']);
});

test('validateDocument reports payload errors of a known operation as errors', () => {
  const d = minimalJob();
  d.payload.data = {};
  const res = validateDocument(d);
  assert.equal(res.ok, false);
  assert.deepEqual(res.errors.map(formatIssue), ['payload.data.image: is required']);
});

test('parseJobText: bad JSON is a VALIDATION_ERROR saying where', () => {
  const text = '{\n  "version": "1.0",\n  "job_id": "x" "y"\n}';
  assert.throws(
    () => parseJobText(text),
    (err: unknown) =>
      err instanceof GuestkitError && err.code === 'VALIDATION_ERROR' && /not valid JSON at line 3 column 17/.test(err.message),
  );
  assert.throws(() => parseJobText(''), (err: unknown) => err instanceof GuestkitError && err.code === 'VALIDATION_ERROR');
  assert.throws(
    () => parseJobText('{"version":"1.0"}'),
    (err: unknown) =>
      err instanceof GuestkitError &&
      err.code === 'VALIDATION_ERROR' &&
      Array.isArray((err.details as { errors: unknown[] }).errors) &&
      (err.details as { errors: { path: string }[] }).errors.map((e) => e.path).join(',') === 'job_id,created_at,kind,operation,payload',
  );
  const ok = parseJobText('\ufeff' + JSON.stringify(minimalJob()));
  assert.equal(ok.job_id, 'job-01JAB3Y7X5K4M8F9W2T6');
  assert.equal(ok.execution.priority, 5);
  assert.throws(() => parseJobText(' '.repeat(5 * 1024 * 1024)), (err: unknown) => err instanceof GuestkitError && err.code === 'VALIDATION_ERROR');
});

test('hostile input: deep nesting and huge lists are refused quickly with a typed error', () => {
  let deep: unknown = {};
  for (let i = 0; i < 100000; i++) deep = { a: deep };
  const d = minimalJob();
  d.operation = 'system.echo';
  d.payload = { type: 'system.echo.v1', data: deep };
  assert.deepEqual(validateDocument(d).errors, [{ path: '', message: 'is nested deeper than 128 levels' }]);
  let fine: unknown = {};
  for (let i = 0; i < 120; i++) fine = { a: fine };
  d.payload.data = fine;
  assert.equal(validateDocument(d).ok, true);

  const big = minimalJob();
  big.constraints = { required_capabilities: new Array(1_000_000).fill(7) };
  assert.deepEqual(validateJob(big).errors, [{ path: '', message: 'has more than 50000 values' }]);
  const many = minimalJob();
  many.constraints = { required_capabilities: new Array(40_000).fill(7) };
  const res = validateJob(many);
  assert.equal(res.errors.length, 40_000);
  assert.equal(res.errors[0]!.path, 'constraints.required_capabilities[0]');
  assert.throws(() => parseJobText('['.repeat(200) + ']'.repeat(200)), (err: unknown) => err instanceof GuestkitError && err.code === 'VALIDATION_ERROR');
});
