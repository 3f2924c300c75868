import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRegistrationSchema, advertisedCapabilities, canRun, parseJobText, type WorkerRegistration } from '../../src/protocol/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localExamplesDir, minimalJob } from './helpers.js';

function worker(over: Record<string, any> = {}): WorkerRegistration {
  return WorkerRegistrationSchema.parse({
    worker_id: 'worker-1',
    version: '0.5.0',
    hostname: 'node-1',
    registered_at: '2026-01-30T09:00:00Z',
    capabilities: {
      operations: ['system.echo', 'guestkit.inspect', 'guestkit.profile'],
      features: ['lvm', 'selinux', 'apparmor'],
      disk_formats: ['raw', 'qcow2', 'vmdk'],
      filesystems: ['ext4', 'xfs'],
    },
    resources: { max_concurrent_jobs: 4, max_disk_size_gb: 2000 },
    configuration: { privileged: false, worker_pool: 'pool-prod' },
    status: { state: 'ready', current_jobs: 0, last_heartbeat: '2026-01-30T09:00:00Z' },
    ...over,
  });
}

const example = (name: string) => parseJobText(readFileSync(join(localExamplesDir(), name), 'utf8'));
const constraintsOf = (r: ReturnType<typeof canRun>) => (r.ok ? [] : r.unmet.map((u) => u.constraint));

test('canRun: the full inspect example runs on a matching worker', () => {
  const job = example('inspect-full.json');
  assert.deepEqual(canRun(job, worker()), { ok: true });
  assert.ok(advertisedCapabilities(worker()).has('disk.qcow2'));
  assert.ok(advertisedCapabilities(worker()).has('fs.ext4'));
});

test('canRun lists every unmet constraint', () => {
  const job = example('inspect-full.json');
  const weak = worker({
    version: '0.3.9',
    capabilities: { operations: ['system.echo'], features: ['lvm'], disk_formats: ['raw'] },
    resources: { max_concurrent_jobs: 1, max_disk_size_gb: 500 },
    configuration: { worker_pool: 'pool-dev' },
  });
  const res = canRun(job, weak);
  assert.equal(res.ok, false);
  assert.deepEqual(constraintsOf(res), [
    'operation',
    'constraints.required_capabilities',
    'constraints.required_features',
    'constraints.minimum_worker_version',
    'constraints.maximum_disk_size_gb',
    'constraints.allowed_worker_pools',
    'routing.worker_pool',
  ]);
  const caps = !res.ok && res.unmet.find((u) => u.constraint === 'constraints.required_capabilities');
  assert.ok(caps && /guestkit\.inspect/.test(caps.message) && /disk\.qcow2/.test(caps.message) && /fs\.ext4/.test(caps.message));
  const feats = !res.ok && res.unmet.find((u) => u.constraint === 'constraints.required_features');
  assert.ok(feats && /selinux/.test(feats.message) && !/lvm/.test(feats.message));
});

test('canRun: versions compare as semver', () => {
  const d = minimalJob();
  d.constraints = { minimum_worker_version: '0.10.0' };
  const job = parseJobText(JSON.stringify(d));
  assert.deepEqual(constraintsOf(canRun(job, worker({ version: '0.9.9' }))), ['constraints.minimum_worker_version']);
  assert.equal(canRun(job, worker({ version: '0.10.0' })).ok, true);
  assert.equal(canRun(job, worker({ version: '1.0.0' })).ok, true);
  assert.deepEqual(constraintsOf(canRun(job, worker({ version: '0.10.0-rc.1' }))), ['constraints.minimum_worker_version']);
  assert.deepEqual(constraintsOf(canRun(job, worker({ version: 'dev' }))), ['constraints.minimum_worker_version']);
});

test('canRun: routing pins to a worker or pool; a worker without a pool fails pool rules', () => {
  const d = minimalJob();
  d.routing = { worker_id: 'worker-2' };
  assert.deepEqual(constraintsOf(canRun(parseJobText(JSON.stringify(d)), worker())), ['routing.worker_id']);
  d.routing = { worker_id: 'worker-1' };
  assert.equal(canRun(parseJobText(JSON.stringify(d)), worker()).ok, true);

  d.routing = { worker_pool: 'pool-prod' };
  d.constraints = { allowed_worker_pools: ['pool-prod'] };
  const job = parseJobText(JSON.stringify(d));
  assert.equal(canRun(job, worker()).ok, true);
  assert.deepEqual(constraintsOf(canRun(job, worker({ configuration: {} }))), [
    'constraints.allowed_worker_pools',
    'routing.worker_pool',
  ]);
});

test('canRun: disk size limit, test.echo alias, privilege not required', () => {
  const d = minimalJob();
  d.constraints = { maximum_disk_size_gb: 2000, require_privileged: true };
  assert.equal(canRun(parseJobText(JSON.stringify(d)), worker()).ok, true);
  d.constraints = { maximum_disk_size_gb: 2001 };
  assert.deepEqual(constraintsOf(canRun(parseJobText(JSON.stringify(d)), worker())), ['constraints.maximum_disk_size_gb']);

  const echo = example('worker-echo-test.json');
  assert.equal(canRun(echo, worker()).ok, true);
  const alias = { ...echo, operation: 'test.echo', payload: { type: 'test.echo.v1', data: {} } };
  assert.equal(canRun(alias, worker()).ok, true, 'a system.echo worker runs test.echo');
  assert.deepEqual(constraintsOf(canRun(echo, worker({ capabilities: { operations: ['guestkit.inspect'] } }))), ['operation']);
});
