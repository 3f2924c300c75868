import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JobResultSchema,
  ProgressEventSchema,
  WorkerRegistrationSchema,
  parseJobText,
  validateDocument,
  validateJob,
} from '../../src/protocol/index.js';
import { localExamplesDir, readExamples } from './helpers.js';

/** A full job with an unknown key planted in every object, at every level. */
function jobWithUnknowns(): Record<string, any> {
  const x = { future: { nested: [1, { deeper: true }] } };
  return {
    $schema: 'https://guestkit.dev/schemas/job-v1.json',
    version: '1.0',
    job_id: 'job-01JAB3Y7X5K4M8F9W2T6',
    created_at: '2026-01-30T10:00:00Z',
    kind: 'VMOperation',
    operation: 'guestkit.inspect',
    x_top: 'kept',
    metadata: { name: 'n', labels: { a: 'b' }, x_meta: 1 },
    execution: { priority: 7, x_exec: [1, 2], x_obj: x },
    constraints: { required_capabilities: ['guestkit.inspect'], x_cons: null },
    routing: { worker_pool: 'p', affinity: { disk_locality: '/mnt' }, x_route: 'r' },
    payload: {
      type: 'guestkit.inspect.v1',
      x_payload: 'p',
      data: {
        image: { path: '/vms/a.qcow2', format: 'qcow2', x_image: 'i' },
        options: { deep_scan: true, x_opt: 'o' },
        output: { format: 'json', destination: '/o.json', x_out: 1 },
        x_data: { y: 2 },
      },
    },
    observability: { trace_id: 't', x_obs: 'o' },
    audit: { submitted_by: 's', authorization: { method: 'm', subject: 's', x_auth: 1 }, x_audit: 2 },
  };
}

test('round-trip keeps unknown fields at every level of the envelope and the payload', () => {
  const input = jobWithUnknowns();
  const res = validateDocument(structuredClone(input));
  assert.deepEqual(res.errors, []);
  const out = JSON.parse(JSON.stringify(res.job)) as Record<string, any>;
  assert.equal(out.x_top, 'kept');
  assert.equal(out.metadata.x_meta, 1);
  assert.deepEqual(out.execution.x_exec, [1, 2]);
  assert.deepEqual(out.execution.x_obj, { future: { nested: [1, { deeper: true }] } });
  assert.equal(out.constraints.x_cons, null);
  assert.equal(out.routing.x_route, 'r');
  assert.equal(out.payload.x_payload, 'p');
  assert.deepEqual(out.payload.data, input.payload.data, 'payload.data is passed through untouched');
  assert.equal(out.observability.x_obs, 'o');
  assert.equal(out.audit.x_audit, 2);
  assert.equal(out.audit.authorization.x_auth, 1);

  const data = res.payload?.data as Record<string, any>;
  assert.equal(data.x_data.y, 2);
  assert.equal(data.image.x_image, 'i');
  assert.equal(data.image.read_only, true);
  assert.equal(data.options.x_opt, 'o');
  assert.equal(data.options.deep_scan, true);
  assert.equal(data.options.include_packages, true);
  assert.equal(data.output.x_out, 1);

  // and a second pass is stable
  const again = validateJob(out);
  assert.deepEqual(again.job, res.job);
});

test('round-trip of every example: output validates again and keeps every input key', () => {
  const keys = (v: unknown, prefix = ''): string[] =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.entries(v).flatMap(([k, c]) => [`${prefix}${k}`, ...keys(c, `${prefix}${k}.`)])
      : [];
  for (const { name, doc } of readExamples(localExamplesDir())) {
    const job = parseJobText(JSON.stringify(doc));
    const text = JSON.stringify(job);
    const outKeys = new Set(keys(JSON.parse(text)));
    for (const k of keys(doc)) assert.ok(outKeys.has(k), `${name}: ${k} kept`);
    assert.deepEqual(parseJobText(text), job, name);
  }
});

test('results, progress events and worker registrations keep unknown fields too', () => {
  const result = JobResultSchema.parse({
    job_id: 'job-1234567890',
    status: 'completed',
    completed_at: '2026-01-30T10:00:05Z',
    worker_id: 'w1',
    execution_summary: { started_at: '2026-01-30T10:00:00Z', duration_seconds: 5, attempt: 1, x: 1 },
    metrics: { disk_read_bytes: 10, extra_metric: 3 },
    x_result: 'r',
  });
  assert.equal((result as any).x_result, 'r');
  assert.equal((result.execution_summary as any).x, 1);
  assert.equal((result.metrics as any).extra_metric, 3);

  const ev = ProgressEventSchema.parse({
    job_id: 'job-1',
    timestamp: '2026-01-30T10:00:00+01:00',
    sequence: 0,
    phase: 'validation',
    message: 'ok',
    x_ev: true,
  });
  assert.equal((ev as any).x_ev, true);
  assert.equal(ev.timestamp, '2026-01-30T09:00:00Z');

  const reg = WorkerRegistrationSchema.parse({
    worker_id: 'w1',
    version: '0.1.0',
    hostname: 'h',
    registered_at: '2026-01-30T10:00:00Z',
    capabilities: { operations: ['guestkit.inspect'], gpu: 'none' },
    resources: { max_concurrent_jobs: 4, max_disk_size_gb: 2000, x_res: 1 },
    status: { state: 'ready', current_jobs: 0, last_heartbeat: '2026-01-30T10:00:00Z' },
    x_worker: 1,
  });
  assert.equal((reg as any).x_worker, 1);
  assert.equal((reg.capabilities as any).gpu, 'none');
  assert.deepEqual(reg.capabilities.features, []);
  assert.equal(reg.configuration.privileged, false);
});
