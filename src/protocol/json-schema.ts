import { z } from 'zod';
import { JobSchema } from './envelope.js';
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
  return {
    $schema,
    $id: `https://guestkit.dev/schemas/${schemaFileName(name)}`,
    title: src.title,
    description: src.description,
    ...rest,
  };
}

/** The exact text of schemas/<name>-v1.json. */
export function jsonSchemaText(name: SchemaName): string {
  return JSON.stringify(jsonSchema(name), null, 2) + '\n';
}
