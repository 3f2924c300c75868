import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonSchema } from '../../src/protocol/index.js';
import { repoRoot, runCli } from '../helpers/cli.js';

const examples = join(repoRoot(), 'test', 'protocol', 'examples');
const tmp = mkdtempSync(join(tmpdir(), 'guestkit-job-cli-'));

test('job create guestkit.inspect --image … | job validate - succeeds', async () => {
  const created = await runCli(['job', 'create', 'guestkit.inspect', '--image', '/vms/a.qcow2']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(created.stderr, '');
  const doc = JSON.parse(created.stdout);
  assert.match(doc.job_id, /^job-[0-9A-Z]{26}$/);
  assert.deepEqual(doc.payload, { type: 'guestkit.inspect.v1', data: { image: { path: '/vms/a.qcow2', format: 'auto' } } });
  const validated = await runCli(['job', 'validate', '-'], created.stdout);
  assert.equal(validated.code, 0, validated.stdout + validated.stderr);
  assert.match(validated.stdout, new RegExp(`^<stdin>: valid \\(guestkit\\.inspect ${doc.job_id}\\)$`, 'm'));
  assert.equal(validated.stderr, '');
});

test('job create with every option', async () => {
  const r = await runCli([
    'job', 'create', 'guestkit.inspect',
    '--image', '/vms/b.vmdk', '--format', 'vmdk', '--priority', '8', '--pool', 'pool-prod',
    '--idempotency-key', 'scan-1', '--label', 'env=prod', '--label', 'team=a=b',
    '--data', '{"options":{"deep_scan":true}}', '--timeout', '120', '--name', 'scan', '--job-id', 'job-cli-test-0001',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.job_id, 'job-cli-test-0001');
  assert.equal(doc.execution.priority, 8);
  assert.equal(doc.execution.timeout_seconds, 120);
  assert.equal(doc.execution.idempotency_key, 'scan-1');
  assert.equal(doc.routing.worker_pool, 'pool-prod');
  assert.deepEqual(doc.metadata, { name: 'scan', labels: { env: 'prod', team: 'a=b' } });
  assert.deepEqual(doc.payload.data, { options: { deep_scan: true }, image: { path: '/vms/b.vmdk', format: 'vmdk' } });
});

test('job create: invalid values fail with exit 1 and every error; bad usage exits 2', async () => {
  const bad = await runCli(['job', 'create', 'guestkit.inspect', '--priority', '11', '--timeout', '0']);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^guestkit: VALIDATION_ERROR: cannot build job: /);
  assert.match(bad.stderr, /execution\.priority: must be between 1 and 10/);
  assert.match(bad.stderr, /execution\.timeout_seconds: must be greater than 0/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');

  const json = await runCli(['job', 'create', 'guestkit.inspect', '--json']);
  assert.equal(json.code, 1);
  const err = JSON.parse(json.stdout).error;
  assert.equal(err.code, 'VALIDATION_ERROR');
  assert.deepEqual(err.details.errors, [{ path: 'payload.data.image', message: 'is required' }]);

  for (const args of [
    ['job', 'create', 'guestkit.inspect', '--priority', 'high'],
    ['job', 'create', 'guestkit.inspect', '--format', 'qcow2'],
    ['job', 'create', 'guestkit.inspect', '--image', '/a', '--format', 'iso'],
    ['job', 'create', 'guestkit.inspect', '--image', '/a', '--label', 'novalue'],
    ['job', 'create', 'guestkit.inspect', '--image', '/a', '--data', '{bad'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /^guestkit: USAGE_ERROR: /, args.join(' '));
  }
  const missing = await runCli(['job', 'create']);
  assert.equal(missing.code, 2);
});

test('job validate: all example files are valid; warnings printed but do not fail', async () => {
  const files = ['fix-offline.json', 'inspect-full.json', 'inspect-minimal.json', 'profile-security.json',
    'worker-echo-test.json', 'worker-guestkit-inspect-basic.json', 'worker-guestkit-inspect-full.json',
    'worker-guestkit-profile-security.json'].map((f) => join(examples, f));
  const r = await runCli(['job', 'validate', ...files]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.match(/: valid \(/g)?.length, 8);
  assert.match(r.stdout, /profile-security\.json: warning: payload\.data\.image\.checksum: /);
  assert.equal(r.stderr, '');
});

test('job validate: every error with file, path and message; exit 1', async () => {
  const bad = JSON.parse(readFileSync(join(examples, 'inspect-minimal.json'), 'utf8'));
  bad.job_id = '../x';
  bad.execution = { priority: 0, attempt: 2 };
  const badFile = join(tmp, 'bad.json');
  writeFileSync(badFile, JSON.stringify(bad));
  const good = join(examples, 'inspect-minimal.json');
  const r = await runCli(['job', 'validate', good, badFile]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /inspect-minimal\.json: valid/);
  assert.ok(lines.includes(`${badFile}: error: job_id: must be at least 8 bytes`), r.stdout);
  assert.ok(lines.includes(`${badFile}: error: job_id: must not contain ".."`), r.stdout);
  assert.ok(lines.includes(`${badFile}: error: execution.priority: must be between 1 and 10`), r.stdout);
  assert.ok(lines.includes(`${badFile}: error: execution.attempt: must not exceed max_attempts (1)`), r.stdout);
  assert.equal(r.stderr, 'guestkit: VALIDATION_ERROR: 1 of 2 job documents invalid\n');

  const json = await runCli(['job', 'validate', '--json', good, badFile, join(tmp, 'missing.json')]);
  assert.equal(json.code, 1);
  const report = JSON.parse(json.stdout);
  assert.equal(report.ok, false);
  assert.deepEqual(report.files.map((f: { valid: boolean }) => f.valid), [true, false, false]);
  assert.deepEqual(report.files[2].errors, [{ path: '', message: 'cannot read: no such file' }]);
  assert.equal(report.error.code, 'VALIDATION_ERROR');
  assert.ok(report.files[1].errors.some((e: { path: string }) => e.path === 'execution.priority'));
});

test('job validate: bad JSON on stdin is a clear error', async () => {
  const r = await runCli(['job', 'validate', '-'], '{\n  "version": "1.0",\n}');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^<stdin>: error: not valid JSON at line 3 column 1/m);
  const twice = await runCli(['job', 'validate', '-', '-'], '{}');
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /USAGE_ERROR/);
  const none = await runCli(['job', 'validate']);
  assert.equal(none.code, 2);
});

test('job schema prints the JSON Schemas', async () => {
  const def = await runCli(['job', 'schema']);
  assert.equal(def.code, 0);
  assert.deepEqual(JSON.parse(def.stdout), jsonSchema('job'));
  for (const name of ['result', 'progress', 'worker'] as const) {
    const r = await runCli(['job', 'schema', name]);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), jsonSchema(name));
  }
  const bad = await runCli(['job', 'schema', 'nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^guestkit: USAGE_ERROR: unknown schema "nope"/);
});

test('job create: an unknown or misspelt operation is a usage error naming the known operations', async () => {
  const known = 'known operations: system.echo, test.echo, guestkit.inspect, guestkit.profile, guestkit.compare, guestkit.convert, guestkit.fix';
  const cases: [string, string][] = [
    ['guestkit.inspekt', 'unknown operation "guestkit.inspekt"; did you mean guestkit.inspect?'],
    ['inspect', 'unknown operation "inspect"; did you mean guestkit.inspect?'],
    ['guestkit.proflie', 'unknown operation "guestkit.proflie"; did you mean guestkit.profile?'],
    ['acme.scan', 'unknown operation "acme.scan"'],
  ];
  for (const [op, message] of cases) {
    const r = await runCli(['job', 'create', op, '--image', '/vms/a.qcow2']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `guestkit: USAGE_ERROR: ${message} (${known})\n`);
  }
  const j = await runCli(['job', 'create', 'guestkit.inspekt', '--json']);
  assert.equal(j.code, 2);
  assert.equal(JSON.parse(j.stdout).error.code, 'USAGE_ERROR');
});
