import semver from 'semver';
import { z } from 'zod';
import { Timestamp } from './timestamp.js';

/** The one envelope version this library speaks. */
export const PROTOCOL_VERSION = '1.0';
export const JOB_KIND = 'VMOperation';
export const JOB_SCHEMA_URL = 'https://guestkit.dev/schemas/job-v1.json';

export const JOB_ID_MIN_BYTES = 8;
/** Results are files named `<job_id>-result.json` (plus temp suffixes); stay well under 255 bytes. */
export const JOB_ID_MAX_BYTES = 200;

/** Documented defaults of `execution`. */
export const EXECUTION_DEFAULTS = {
  attempt: 1,
  max_attempts: 1,
  timeout_seconds: 3600,
  priority: 5,
  cancellable: true,
} as const;
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 10;
/** Parents one job may wait for (execution.depends_on, an extension). */
export const MAX_DEPENDENCIES = 100;
/** Over these the envelope is valid but a warning is given. */
export const TIMEOUT_WARN_SECONDS = 24 * 3600;
export const DISK_SIZE_WARN_GB = 100_000;

/** Anything JSON can hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

// Optional strings accept null: the earlier worker's Option<String> fields did.
const optString = z.string().nullish();
const StringMap = z.record(z.string(), z.string());

type Ctx = { value: string; issues: z.core.$ZodRawIssue[] };
const fail = (ctx: Ctx, message: string): void => {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
};

/** Problems with a job id, none when it is usable (also as a file name). */
export function jobIdProblems(id: string): string[] {
  const out: string[] = [];
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes === 0) return ['must not be empty'];
  if (bytes < JOB_ID_MIN_BYTES) out.push(`must be at least ${JOB_ID_MIN_BYTES} bytes`);
  if (bytes > JOB_ID_MAX_BYTES) out.push(`must be at most ${JOB_ID_MAX_BYTES} bytes`);
  if (/[/\\]/.test(id)) out.push('must not contain "/" or "\\" (it names result files)');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) out.push('must not contain NUL or other control characters');
  if (id.includes('..')) out.push('must not contain ".."');
  return out;
}

export const JobId = z
  .string()
  .meta({
    description: `at least ${JOB_ID_MIN_BYTES} bytes; no "/", "\\", "..", NUL or control characters (results are named after it)`,
    pattern: '^(?!.*\\.\\.)[^/\\\\\\u0000-\\u001f\\u007f]{1,200}$',
  })
  .check((ctx) => {
    for (const m of jobIdProblems(ctx.value)) fail(ctx, m);
  });

const NAMESPACED = /^[^.\s]+(\.[^.\s]+)+$/;

export const Operation = z
  .string()
  .meta({ description: 'namespaced <tool>.<operation>, e.g. guestkit.inspect', pattern: '^[^.\\s]+(\\.[^.\\s]+)+$' })
  .check((ctx) => {
    if (ctx.value === '') fail(ctx, 'must not be empty');
    else if (!NAMESPACED.test(ctx.value)) fail(ctx, 'must be namespaced as <tool>.<operation>, e.g. guestkit.inspect');
  });

export const PayloadType = z
  .string()
  .meta({ description: '<tool>.<operation>.v<N>, beginning with the operation', pattern: '^[^.]+\\.[^.]+(\\.[^.]+)*\\.v[^.]*$' })
  .check((ctx) => {
    const parts = ctx.value.split('.');
    if (ctx.value === '') fail(ctx, 'must not be empty');
    else if (parts.length < 3) fail(ctx, 'must be <tool>.<operation>.v<N>, e.g. guestkit.inspect.v1');
    else if (!parts[parts.length - 1]!.startsWith('v')) fail(ctx, 'last part must be a version starting with "v", e.g. v1');
  });

/** Worker versions compare as semver; "0.4" and "v1" are read as 0.4.0 and 1.0.0. */
export function parseVersion(v: string): semver.SemVer | null {
  return semver.parse(v) ?? semver.coerce(v);
}

const MinimumWorkerVersion = z.string().check((ctx) => {
  if (ctx.value.trim() === '') fail(ctx, 'must not be empty');
  else if (!parseVersion(ctx.value)) fail(ctx, 'must be a semver version such as 0.4.0');
});

export const MetadataSchema = z.looseObject({
  name: optString,
  namespace: optString,
  labels: StringMap.nullish(),
  annotations: StringMap.nullish(),
});

const between = { error: `must be between ${PRIORITY_MIN} and ${PRIORITY_MAX}` };

export const ExecutionSchema = z
  .looseObject({
    idempotency_key: z.string().min(1).nullish(),
    attempt: z.int().min(1).default(EXECUTION_DEFAULTS.attempt),
    max_attempts: z.int().min(1).default(EXECUTION_DEFAULTS.max_attempts),
    timeout_seconds: z.int().min(1, { error: 'must be greater than 0' }).default(EXECUTION_DEFAULTS.timeout_seconds),
    deadline: Timestamp.nullish(),
    priority: z.int().min(PRIORITY_MIN, between).max(PRIORITY_MAX, between).default(EXECUTION_DEFAULTS.priority),
    cancellable: z.boolean().default(EXECUTION_DEFAULTS.cancellable),
    // extension: a job waits for these jobs (its parents) to complete before it is queued
    depends_on: z
      .array(JobId)
      .max(MAX_DEPENDENCIES, { error: `at most ${MAX_DEPENDENCIES} parents` })
      .refine((ids) => new Set(ids).size === ids.length, { error: 'lists a job more than once' })
      .nullish()
      .describe('Extension: job ids this job waits for; it is queued once all of them completed'),
    on_dependency_failure: z
      .enum(['fail', 'continue'])
      .nullish()
      .describe('Extension: when a parent ends other than completed: fail (default: this job fails with DEPENDENCY_FAILED) or continue (it runs anyway)'),
  })
  // `when`: also check when a sibling field is invalid, so every problem is reported at once.
  .superRefine(
    (value, ctx) => {
      const { attempt, max_attempts } = value as { attempt?: unknown; max_attempts?: unknown };
      if (Number.isSafeInteger(attempt) && Number.isSafeInteger(max_attempts) && (max_attempts as number) >= 1 && (attempt as number) > (max_attempts as number)) {
        ctx.addIssue({ code: 'custom', path: ['attempt'], message: `must not exceed max_attempts (${max_attempts})`, input: attempt });
      }
    },
    { when: () => true },
  );

export const ConstraintsSchema = z.looseObject({
  required_capabilities: z.array(z.string()).nullish(),
  required_features: z.array(z.string()).nullish(),
  minimum_worker_version: MinimumWorkerVersion.nullish(),
  maximum_disk_size_gb: z.int().min(1).nullish(),
  require_privileged: z.boolean().nullish(),
  allowed_worker_pools: z.array(z.string()).nullish(),
});

export const RoutingSchema = z.looseObject({
  worker_id: optString,
  worker_pool: optString,
  affinity: StringMap.nullish(),
  anti_affinity: z.record(z.string(), z.array(z.string())).nullish(),
  // extension: no live worker can run the job now — hold it until one can, instead of refusing it
  wait_for_capacity: z.boolean().nullish().describe('Extension: when no live worker can run the job, hold it (pending) until one can, instead of refusing it with CAPABILITY_MISMATCH'),
});

export const PayloadSchema = z.looseObject({
  type: PayloadType,
  // z.unknown() as an object property is still required ("is required" when absent).
  data: z.unknown() as z.ZodType<JsonValue>,
});

export const ObservabilitySchema = z.looseObject({
  trace_id: optString,
  span_id: optString,
  parent_span_id: optString,
  correlation_id: optString,
});

export const AuditSchema = z.looseObject({
  submitted_by: optString,
  submitted_from: optString,
  authorization: z.looseObject({ method: z.string(), subject: z.string() }).nullish(),
});

/** The job envelope of protocol v1. Unknown keys are kept at every level. */
export const JobSchema = z
  .looseObject({
    $schema: optString,
    version: z.literal(PROTOCOL_VERSION),
    job_id: JobId,
    created_at: Timestamp,
    kind: z.literal(JOB_KIND),
    operation: Operation,
    metadata: MetadataSchema.nullish(),
    // prefault: a missing section still gets its documented defaults.
    execution: ExecutionSchema.prefault({}),
    constraints: ConstraintsSchema.nullish(),
    routing: RoutingSchema.nullish(),
    payload: PayloadSchema,
    observability: ObservabilitySchema.nullish(),
    audit: AuditSchema.nullish(),
  })
  .superRefine(
    (value, ctx) => {
      const { operation, payload, job_id, execution } = value as { operation?: unknown; payload?: { type?: unknown } | null; job_id?: unknown; execution?: { depends_on?: unknown } };
      const deps = execution?.depends_on;
      if (Array.isArray(deps) && typeof job_id === 'string' && deps.includes(job_id)) {
        ctx.addIssue({ code: 'custom', path: ['execution', 'depends_on'], message: 'a job cannot depend on itself', input: deps });
      }
      if (typeof operation !== 'string' || !NAMESPACED.test(operation)) return;
      const type = payload?.type;
      if (typeof type === 'string' && type.split('.').length >= 3 && !type.startsWith(operation + '.')) {
        ctx.addIssue({
          code: 'custom',
          path: ['payload', 'type'],
          message: `must begin with the operation "${operation}" (e.g. ${operation}.v1)`,
          input: type,
        });
      }
    },
    { when: () => true },
  );

export type JobDocument = z.output<typeof JobSchema>;
export type JobInput = z.input<typeof JobSchema>;
export type Execution = z.output<typeof ExecutionSchema>;
export type Constraints = z.output<typeof ConstraintsSchema>;
export type Routing = z.output<typeof RoutingSchema>;
export type Metadata = z.output<typeof MetadataSchema>;
export type Observability = z.output<typeof ObservabilitySchema>;
export type Audit = z.output<typeof AuditSchema>;
