import { z } from 'zod';
import { JobSchema } from './envelope.js';
import { OPERATIONS } from './payloads/registry.js';
import { ProgressEventSchema } from './progress.js';
import { JobResultSchema } from './result.js';
import { WorkerRegistrationSchema } from './worker.js';

export const SCHEMA_NAMES = ['job', 'result', 'progress', 'worker'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

const SOURCES: Record<SchemaName, { schema: z.ZodType; title: string; description: string }> = {
  job: { schema: JobSchema, title: 'guestkit job v1', description: 'A job document of guestkit job protocol v1.' },
  result: { schema: JobResultSchema, title: 'guestkit job result v1', description: 'The result document of one job.' },
  progress: { schema: ProgressEventSchema, title: 'guestkit progress event v1', description: 'One progress event of a running job.' },
  worker: {
    schema: WorkerRegistrationSchema,
    title: 'guestkit worker registration v1',
    description: 'A worker registration or heartbeat document.',
  },
};

export function schemaFileName(name: SchemaName): string {
  return `${name}-v1.json`;
}

/**
 * The JSON Schema (draft 2020-12) of a protocol document, generated from the
 * zod schemas: it describes what may be sent (inputs; defaults are optional).
 * Rules zod cannot express (byte lengths, cross-field checks) are in descriptions.
 */
export function jsonSchema(name: SchemaName): Record<string, unknown> {
  const src = SOURCES[name];
  const generated = z.toJSONSchema(src.schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const out: Record<string, unknown> = {
    $schema,
    $id: `https://guestkit.dev/schemas/${schemaFileName(name)}`,
    title: src.title,
    description: src.description,
    ...rest,
  };
  if (name === 'job') Object.assign(out, payloadRules());
  return out;
}

/**
 * payload.data of each known payload type as `$defs`, applied with if/then on
 * payload.type; other payload types stay free-form (a worker answers
 * UNSUPPORTED_OPERATION), as does echo's "any JSON".
 */
function payloadRules(): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  const rules: unknown[] = [];
  for (const op of OPERATIONS) {
    const generated = z.toJSONSchema(op.schema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
    delete generated.$schema;
    if (Object.keys(generated).length === 0) continue;
    for (const type of op.payloadTypes) {
      defs[type] = generated;
      rules.push({
        if: {
          required: ['payload'],
          properties: { payload: { required: ['type'], properties: { type: { const: type } } } },
        },
        then: { properties: { payload: { properties: { data: { $ref: `#/$defs/${type}` } } } } },
      });
    }
  }
  return { allOf: rules, $defs: defs };
}

/** The exact text of schemas/<name>-v1.json. */
export function jsonSchemaText(name: SchemaName): string {
  return JSON.stringify(jsonSchema(name), null, 2) + '\n';
}
