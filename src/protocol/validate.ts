import { GuestkitError, type ErrorCode } from './errors.js';
import {
  DISK_SIZE_WARN_GB,
  JobSchema,
  TIMEOUT_WARN_SECONDS,
  type JobDocument,
  type JsonValue,
} from './envelope.js';
import { fromZodIssues, formatIssue, plainErrorMap, type ValidationIssue } from './issues.js';
import { isWellFormedChecksum } from './payloads/image.js';
import { operationSpec } from './payloads/registry.js';
import { timestampMillis } from './timestamp.js';

export interface JobValidation {
  ok: boolean;
  /** The parsed job (defaults filled in, timestamps in UTC) when ok. */
  job?: JobDocument;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

export interface PayloadValidation {
  ok: boolean;
  /** VALIDATION_ERROR for bad data; UNSUPPORTED_OPERATION when this version has no such operation or payload type. */
  code?: Extract<ErrorCode, 'VALIDATION_ERROR' | 'UNSUPPORTED_OPERATION'>;
  /** payload.data parsed by the operation's schema (defaults filled in) when ok. */
  data?: unknown;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

/** Largest job document text accepted; jobs are small, this only bounds hostile input. */
export const MAX_JOB_TEXT_BYTES = 4 * 1024 * 1024;

/** Bounds on the shape of a document: zod spends ~10 µs per issue, so a hostile 4 MiB list of wrong values must stop here. */
export const MAX_JOB_VALUES = 50_000;
export const MAX_JOB_DEPTH = 128;

/** Counts values and depth without recursion; a message when the document is too big or deep to be a job. */
export function shapeProblem(doc: unknown): string | null {
  const values: unknown[] = [doc];
  const depths: number[] = [1];
  let seen = 1;
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_JOB_DEPTH) return `is nested deeper than ${MAX_JOB_DEPTH} levels`;
    const children = Array.isArray(v) ? v : Object.values(v);
    // counted before anything is queued, so a huge list costs nothing
    seen += children.length;
    if (seen > MAX_JOB_VALUES) return `has more than ${MAX_JOB_VALUES} values`;
    for (const child of children) {
      values.push(child);
      depths.push(depth + 1);
    }
  }
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a job envelope and reports every problem at once, each with its
 * JSON path. Warnings never make a job invalid. payload.data is not checked
 * here (see validatePayload).
 */
export function validateJob(doc: unknown): JobValidation {
  if (!isObject(doc)) return { ok: false, errors: [{ path: '', message: 'must be a JSON object' }], warnings: [] };
  const shape = shapeProblem(doc);
  if (shape) return { ok: false, errors: [{ path: '', message: shape }], warnings: [] };
  const parsed = JobSchema.safeParse(doc, { error: plainErrorMap });
  const warnings = envelopeWarnings(doc);
  if (!parsed.success) return { ok: false, errors: fromZodIssues(parsed.error.issues), warnings };
  return { ok: true, job: parsed.data, errors: [], warnings };
}

function envelopeWarnings(doc: Record<string, unknown>): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const exec = isObject(doc.execution) ? doc.execution : {};
  const cons = isObject(doc.constraints) ? doc.constraints : {};
  if (typeof exec.timeout_seconds === 'number' && exec.timeout_seconds > TIMEOUT_WARN_SECONDS) {
    out.push({ path: 'execution.timeout_seconds', message: `exceeds 24 hours (${exec.timeout_seconds} s)` });
  }
  if (typeof cons.maximum_disk_size_gb === 'number' && cons.maximum_disk_size_gb > DISK_SIZE_WARN_GB) {
    out.push({ path: 'constraints.maximum_disk_size_gb', message: `exceeds ${DISK_SIZE_WARN_GB} GB (${cons.maximum_disk_size_gb})` });
  }
  if (typeof exec.deadline === 'string' && typeof doc.created_at === 'string') {
    const deadline = timestampMillis(exec.deadline);
    const created = timestampMillis(doc.created_at);
    if (deadline < created) out.push({ path: 'execution.deadline', message: 'is before created_at' });
  }
  return out;
}

/** Image references inside each operation's data, for checksum warnings. */
const IMAGE_KEYS = ['image', 'baseline', 'target', 'source'] as const;

/**
 * Checks payload.data against the schema of the job's operation. An operation
 * or payload type this version does not know is reported with code
 * UNSUPPORTED_OPERATION (what a worker answers), not as a validation error.
 */
export function validatePayload(job: { operation: string; payload: { type: string; data?: unknown } }): PayloadValidation {
  const spec = operationSpec(job.operation);
  if (!spec) {
    return {
      ok: false,
      code: 'UNSUPPORTED_OPERATION',
      errors: [{ path: 'operation', message: `"${job.operation}" is not an operation this version supports` }],
      warnings: [],
    };
  }
  if (!spec.payloadTypes.includes(job.payload.type)) {
    return {
      ok: false,
      code: 'UNSUPPORTED_OPERATION',
      errors: [{ path: 'payload.type', message: `"${job.payload.type}" is not supported (expected ${spec.payloadTypes.join(' or ')})` }],
      warnings: [],
    };
  }
  const warnings: ValidationIssue[] = [];
  const data = job.payload.data;
  if (isObject(data)) {
    for (const key of IMAGE_KEYS) {
      const ref = data[key];
      if (isObject(ref) && typeof ref.checksum === 'string' && !isWellFormedChecksum(ref.checksum)) {
        warnings.push({
          path: `payload.data.${key}.checksum`,
          message: 'is not sha256:<64 hex digits>; the job will fail with IMAGE_CHECKSUM_MISMATCH',
        });
      }
    }
  }
  const parsed = spec.schema.safeParse(data, { error: plainErrorMap });
  if (!parsed.success) {
    return { ok: false, code: 'VALIDATION_ERROR', errors: fromZodIssues(parsed.error.issues, 'payload.data'), warnings };
  }
  return { ok: true, data: parsed.data, errors: [], warnings };
}

export interface DocumentValidation extends JobValidation {
  payload?: PayloadValidation;
}

/**
 * Envelope and payload together, as `guestkit job validate` and the builder
 * check a document: payload errors of a known operation are errors; an
 * operation this version does not know is only a warning.
 */
export function validateDocument(doc: unknown): DocumentValidation {
  const env = validateJob(doc);
  if (!env.job) return env;
  const payload = validatePayload(env.job);
  const warnings = [...env.warnings, ...payload.warnings];
  if (payload.code === 'UNSUPPORTED_OPERATION') {
    warnings.push(...payload.errors.map((e) => ({ ...e, message: `${e.message}; a worker answers UNSUPPORTED_OPERATION` })));
    return { ...env, warnings, payload };
  }
  if (!payload.ok) return { ok: false, errors: payload.errors, warnings, payload };
  return { ...env, warnings, payload };
}

/** A GuestkitError VALIDATION_ERROR carrying every issue (message lists the first few). */
export function validationError(errors: ValidationIssue[], what = 'invalid job document'): GuestkitError {
  const shown = errors.slice(0, 5).map(formatIssue).join('; ');
  const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
  return new GuestkitError('VALIDATION_ERROR', `${what}: ${shown}${more}`, {
    phase: 'validation',
    details: { errors },
  });
}

/** JSON.parse with a VALIDATION_ERROR that says where (line and column) the text went wrong. */
export function parseJsonText(text: string): JsonValue {
  if (Buffer.byteLength(text, 'utf8') > MAX_JOB_TEXT_BYTES) {
    throw new GuestkitError('VALIDATION_ERROR', `job document is larger than ${MAX_JOB_TEXT_BYTES} bytes`, { phase: 'validation' });
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as JsonValue;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const at = Number(pos[1]);
      const before = body.slice(0, at);
      const line = before.split('\n').length;
      const column = at - before.lastIndexOf('\n');
      where = ` at line ${line} column ${column}`;
    } else if (body.trim() === '') {
      return failJson('document is empty');
    }
    return failJson(`not valid JSON${where}: ${msg.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

function failJson(message: string): never {
  throw new GuestkitError('VALIDATION_ERROR', message, { phase: 'validation' });
}

/**
 * Job text (a spool file, an HTTP body) to a validated job envelope; bad JSON
 * or an invalid envelope throws VALIDATION_ERROR with every issue in details.
 */
export function parseJobText(text: string): JobDocument {
  const res = validateJob(parseJsonText(text));
  if (!res.job) throw validationError(res.errors);
  return res.job;
}
