import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GuestkitError, job, newJobId, validateDocument } from '../../src/protocol/index.js';

test('builder makes a valid document with job-<ULID> and created_at now', () => {
  const before = Date.now();
  const doc = job('guestkit.inspect')
    .image('/vms/a.qcow2', 'qcow2')
    .priority(7)
    .pool('prod')
    .idempotencyKey('k-1')
    .label('env', 'prod')
    .label('team', 'platform')
    .timeout(600)
    .data({ options: { deep_scan: true } })
    .build();
  const after = Date.now();
  assert.match(doc.job_id, /^job-[0-9A-HJKMNP-TV-Z]{26}$/);
  const created = Date.parse(doc.created_at);
  assert.ok(created >= before - 1 && created <= after + 1, doc.created_at);
  assert.match(doc.created_at, /Z$/);
  assert.equal(doc.version, '1.0');
  assert.equal(doc.kind, 'VMOperation');
  assert.equal(doc.operation, 'guestkit.inspect');
  assert.equal(doc.payload.type, 'guestkit.inspect.v1');
  assert.deepEqual(doc.payload.data, { options: { deep_scan: true }, image: { path: '/vms/a.qcow2', format: 'qcow2' } });
  assert.deepEqual(doc.execution, {
    idempotency_key: 'k-1',
    attempt: 1,
    max_attempts: 1,
    timeout_seconds: 600,
    priority: 7,
    cancellable: true,
  });
  assert.equal(doc.routing?.worker_pool, 'prod');
  assert.deepEqual(doc.metadata?.labels, { env: 'prod', team: 'platform' });
  // the built document validates unchanged, envelope and payload
  const again = validateDocument(JSON.parse(JSON.stringify(doc)));
  assert.deepEqual(again.errors, []);
  assert.equal(again.payload?.ok, true);
});

test('builder defaults: format auto, data {} for echo, convert images go to source', () => {
  const inspect = job('guestkit.inspect').image('/vms/x.img').build();
  assert.deepEqual(inspect.payload.data, { image: { path: '/vms/x.img', format: 'auto' } });
  const echo = job('system.echo').build();
  assert.deepEqual(echo.payload.data, {});
  assert.equal(echo.payload.type, 'system.echo.v1');
  const convert = job('guestkit.convert').image('/vms/a.vmdk', 'vmdk').data({ target: { path: '/vms/a.qcow2', format: 'qcow2' } }).build();
  assert.deepEqual((convert.payload.data as any).source, { path: '/vms/a.vmdk', format: 'vmdk' });
  const ids = new Set(Array.from({ length: 100 }, () => newJobId()));
  assert.equal(ids.size, 100);
});

test('build() throws VALIDATION_ERROR with every error', () => {
  assert.throws(
    () => job('inspect').priority(11).maxAttempts(0).jobId('a/b').build(),
    (err: unknown) => {
      assert.ok(err instanceof GuestkitError);
      assert.equal(err.code, 'VALIDATION_ERROR');
      const paths = [...new Set((err.details as { errors: { path: string }[] }).errors.map((e) => e.path))].sort();
      assert.deepEqual(paths, ['execution.max_attempts', 'execution.priority', 'job_id', 'operation', 'payload.type']);
      assert.match(err.message, /execution\.priority: must be between 1 and 10/);
      return true;
    },
  );
  // payload problems of a known operation fail the build too
  assert.throws(
    () => job('guestkit.inspect').build(),
    (err: unknown) => err instanceof GuestkitError && /payload\.data\.image: is required/.test(err.message),
  );
});

test('builder covers constraints, routing, observability and audit', () => {
  const doc = job('guestkit.profile')
    .image('/vms/db.qcow2', 'qcow2')
    .data({ profiles: ['security'] })
    .name('scan')
    .namespace('production')
    .annotation('ticket', 'SEC-1')
    .requireCapability('guestkit.profile', 'disk.qcow2')
    .requireFeature('lvm')
    .minimumWorkerVersion('0.1.0')
    .maximumDiskSizeGb(500)
    .allowedPools('pool-a', 'pool-b')
    .worker('worker-7')
    .deadline(new Date('2030-01-01T00:00:00Z'))
    .cancellable(false)
    .createdAt('2026-01-30T12:00:00+02:00')
    .jobId('job-fixed-id-0001')
    .observability({ trace_id: 'abc', correlation_id: 'c' })
    .audit({ submitted_by: 'me', authorization: { method: 'token', subject: 'me' } })
    .build();
  assert.equal(doc.job_id, 'job-fixed-id-0001');
  assert.equal(doc.created_at, '2026-01-30T10:00:00Z');
  assert.equal(doc.execution.deadline, '2030-01-01T00:00:00.000Z');
  assert.equal(doc.execution.cancellable, false);
  assert.deepEqual(doc.constraints?.required_capabilities, ['guestkit.profile', 'disk.qcow2']);
  assert.deepEqual(doc.constraints?.allowed_worker_pools, ['pool-a', 'pool-b']);
  assert.equal(doc.routing?.worker_id, 'worker-7');
  assert.equal(doc.metadata?.namespace, 'production');
  assert.equal(doc.metadata?.annotations?.ticket, 'SEC-1');
  assert.equal(doc.observability?.trace_id, 'abc');
  assert.equal(doc.audit?.authorization?.subject, 'me');
});
