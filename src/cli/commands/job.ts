import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { GuestkitError } from '../../protocol/errors.js';
import { formatIssue, type ValidationIssue } from '../../protocol/issues.js';
import { job as newJob } from '../../protocol/builder.js';
import { IMAGE_FORMATS } from '../../protocol/payloads/image.js';
import { KNOWN_OPERATIONS } from '../../protocol/payloads/registry.js';
import { SCHEMA_NAMES, jsonSchema, type SchemaName } from '../../protocol/json-schema.js';
import { MAX_JOB_TEXT_BYTES, parseJsonText, validateDocument } from '../../protocol/validate.js';
import { action, EXIT_FAILED, EXIT_OK, usage, writeJson } from '../output.js';
import { suggest } from '../suggest.js';
import { registerRemoteJobCommands } from './remote.js';

interface FileReport {
  file: string;
  valid: boolean;
  job_id?: string;
  operation?: string;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_JOB_TEXT_BYTES) throw new GuestkitError('VALIDATION_ERROR', `stdin is larger than ${MAX_JOB_TEXT_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function validateOne(file: string, stdinText: () => Promise<string>): Promise<FileReport> {
  const name = file === '-' ? '<stdin>' : file;
  let text: string;
  try {
    text = file === '-' ? await stdinText() : await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : (e.message ?? String(err));
    return { file: name, valid: false, errors: [{ path: '', message: `cannot read: ${why}` }], warnings: [] };
  }
  let doc: unknown;
  try {
    doc = parseJsonText(text);
  } catch (err) {
    return { file: name, valid: false, errors: [{ path: '', message: (err as Error).message }], warnings: [] };
  }
  const res = validateDocument(doc);
  const report: FileReport = { file: name, valid: res.ok, errors: res.errors, warnings: res.warnings };
  if (res.job) {
    report.job_id = res.job.job_id;
    report.operation = res.job.operation;
  }
  return report;
}

async function validateCmd(files: string[], opts: { json?: boolean }): Promise<number> {
  if (files.filter((f) => f === '-').length > 1) throw usage('stdin ("-") can be given only once');
  const stdinText = () => readStdin();
  const reports: FileReport[] = [];
  for (const f of files) reports.push(await validateOne(f, stdinText));
  const invalid = reports.filter((r) => !r.valid).length;
  const error =
    invalid === 0
      ? undefined
      : new GuestkitError('VALIDATION_ERROR', `${invalid} of ${reports.length} job document${reports.length === 1 ? '' : 's'} invalid`, {
          phase: 'validation',
        });
  if (opts.json) {
    writeJson({ ok: invalid === 0, files: reports, ...(error ? { error: error.toProtocol() } : {}) });
    return invalid === 0 ? EXIT_OK : EXIT_FAILED;
  }
  const lines: string[] = [];
  for (const r of reports) {
    if (r.valid) lines.push(`${r.file}: valid (${r.operation} ${r.job_id})`);
    for (const e of r.errors) lines.push(`${r.file}: error: ${formatIssue(e)}`);
    for (const w of r.warnings) lines.push(`${r.file}: warning: ${formatIssue(w)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (error) process.stderr.write(`guestkit: ${error.code}: ${error.message}\n`);
  return invalid === 0 ? EXIT_OK : EXIT_FAILED;
}

interface CreateOpts {
  json?: boolean;
  image?: string;
  format?: string;
  priority?: string;
  pool?: string;
  idempotencyKey?: string;
  label: string[];
  data?: string;
  timeout?: string;
  maxAttempts?: string;
  name?: string;
  namespace?: string;
  jobId?: string;
}

function intOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw usage(`${flag} must be an integer, got "${value}"`);
  return Number(value);
}

async function createCmd(operation: string, opts: CreateOpts): Promise<number> {
  if (!KNOWN_OPERATIONS.includes(operation)) {
    const near = suggest(operation, KNOWN_OPERATIONS);
    throw usage(
      `unknown operation "${operation}"${near.length ? `; did you mean ${near.join(' or ')}?` : ''} (known operations: ${KNOWN_OPERATIONS.join(', ')})`,
    );
  }
  const b = newJob(operation);
  if (opts.format !== undefined && opts.image === undefined) throw usage('--format needs --image');
  if (opts.format !== undefined && !(IMAGE_FORMATS as readonly string[]).includes(opts.format)) {
    throw usage(`--format must be one of ${IMAGE_FORMATS.join(', ')}`);
  }
  if (opts.data !== undefined) {
    let data: unknown;
    try {
      data = JSON.parse(opts.data);
    } catch (err) {
      throw usage(`--data is not valid JSON: ${(err as Error).message}`);
    }
    b.data(data as never);
  }
  if (opts.image !== undefined) b.image(opts.image, opts.format ?? 'auto');
  const priority = intOption('--priority', opts.priority);
  if (priority !== undefined) b.priority(priority);
  const timeout = intOption('--timeout', opts.timeout);
  if (timeout !== undefined) b.timeout(timeout);
  const attempts = intOption('--max-attempts', opts.maxAttempts);
  if (attempts !== undefined) b.maxAttempts(attempts);
  if (opts.pool !== undefined) b.pool(opts.pool);
  if (opts.idempotencyKey !== undefined) b.idempotencyKey(opts.idempotencyKey);
  if (opts.name !== undefined) b.name(opts.name);
  if (opts.namespace !== undefined) b.namespace(opts.namespace);
  if (opts.jobId !== undefined) b.jobId(opts.jobId);
  for (const kv of opts.label) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw usage(`--label must be key=value, got "${kv}"`);
    b.label(kv.slice(0, eq), kv.slice(eq + 1));
  }
  writeJson(b.build());
  return EXIT_OK;
}

async function schemaCmd(name: string): Promise<number> {
  if (!(SCHEMA_NAMES as readonly string[]).includes(name)) throw usage(`unknown schema "${name}" (one of ${SCHEMA_NAMES.join(', ')})`);
  writeJson(jsonSchema(name as SchemaName));
  return EXIT_OK;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerJobCommands(program: Command): void {
  const job = program.command('job').description('Create, validate and describe job documents (job protocol v1)');

  job
    .command('validate')
    .description('Check job documents; every error with its JSON path ("-" reads stdin)')
    .argument('<files...>', 'job files, or - for stdin')
    .option('--json', 'print a JSON report')
    .action(action(validateCmd));

  job
    .command('create')
    .description('Print a new, valid job document')
    .argument('<operation>', `one of ${KNOWN_OPERATIONS.join(', ')}`)
    .option('--image <path>', 'disk image path (payload data.image)')
    .option('--format <format>', `image format: ${IMAGE_FORMATS.join(', ')} (default auto)`)
    .option('--priority <n>', 'priority 1..10 (default 5)')
    .option('--pool <pool>', 'target worker pool (routing.worker_pool)')
    .option('--idempotency-key <key>', 'execution.idempotency_key')
    .option('--label <key=value>', 'metadata label (repeatable)', collect, [] as string[])
    .option('--data <json>', 'payload data as JSON (merged under --image)')
    .option('--timeout <seconds>', 'execution.timeout_seconds (default 3600)')
    .option('--max-attempts <n>', 'execution.max_attempts (default 1)')
    .option('--name <name>', 'metadata.name')
    .option('--namespace <ns>', 'metadata.namespace')
    .option('--job-id <id>', 'job id (default job-<ULID>)')
    .option('--json', 'errors as JSON on stdout')
    .action(action(createCmd));

  job
    .command('schema')
    .description(`Print a JSON Schema: ${SCHEMA_NAMES.join(', ')}`)
    .argument('[name]', 'which document', 'job')
    .option('--json', 'errors as JSON on stdout')
    .action(action(schemaCmd));

  registerRemoteJobCommands(job);
}
