import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_NAMES, jsonSchema, jsonSchemaText, schemaFileName } from '../../src/protocol/index.js';
import { repoRoot } from '../helpers/cli.js';

test('committed schemas/*.json match the zod schemas (run `npm run schemas` after changing them)', () => {
  for (const name of SCHEMA_NAMES) {
    const file = join(repoRoot(), 'schemas', schemaFileName(name));
    const committed = readFileSync(file, 'utf8');
    assert.equal(committed, jsonSchemaText(name), `${file} drifted from src/protocol; run npm run schemas`);
  }
});

test('JSON Schemas describe the protocol: ids, required fields, defaults, enums', () => {
  const job = jsonSchema('job') as any;
  assert.equal(job.$id, 'https://guestkit.dev/schemas/job-v1.json');
  assert.equal(job.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(job.required.sort(), ['created_at', 'job_id', 'kind', 'operation', 'payload', 'version']);
  assert.equal(job.properties.version.const, '1.0');
  assert.equal(job.properties.created_at.format, 'date-time');
  const exec = job.properties.execution;
  assert.equal(exec.properties.priority.default, 5);
  assert.equal(exec.properties.priority.minimum, 1);
  assert.equal(exec.properties.priority.maximum, 10);
  assert.equal(exec.properties.timeout_seconds.default, 3600);
  assert.equal(exec.properties.cancellable.default, true);
  // unknown fields are allowed
  assert.deepEqual(job.additionalProperties, {});
  // payload.data of each known payload type is described and applied by payload.type
  assert.deepEqual(Object.keys(job.$defs), ['guestkit.inspect.v1', 'guestkit.profile.v1', 'guestkit.compare.v1', 'guestkit.convert.v1', 'guestkit.fix.v1']);
  assert.deepEqual(job.$defs['guestkit.inspect.v1'].required, ['image']);
  assert.deepEqual(job.$defs['guestkit.inspect.v1'].properties.image.properties.format.enum, ['raw', 'img', 'qcow2', 'vmdk', 'vdi', 'vhd', 'vhdx', 'ova', 'auto']);
  assert.equal(job.$defs['guestkit.inspect.v1'].properties.options.properties.include_databases.default, false);
  assert.equal(job.allOf.length, 5);
  assert.equal(job.allOf[0].if.properties.payload.properties.type.const, 'guestkit.inspect.v1');
  assert.equal(job.allOf[0].then.properties.payload.properties.data.$ref, '#/$defs/guestkit.inspect.v1');
  const result = jsonSchema('result') as any;
  assert.deepEqual(result.properties.status.enum, ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled', 'timeout']);
  const worker = jsonSchema('worker') as any;
  assert.deepEqual(worker.properties.status.properties.state.enum, ['ready', 'busy', 'draining', 'offline']);
  const progress = jsonSchema('progress') as any;
  assert.deepEqual(progress.required.sort(), ['job_id', 'message', 'phase', 'sequence', 'timestamp']);
});
