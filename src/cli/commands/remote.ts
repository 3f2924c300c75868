import { readFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ApiClient, DEFAULT_SERVER, statusOf } from '../../client/api-client.js';
import type { JobDetail, JobFilter, JobTree, JobView, SseMessage, TreeNode } from '../../client/types.js';
import { ERROR_CODES, GuestkitError, type ErrorCode } from '../../protocol/errors.js';
import { table } from '../format.js';
import { action, EXIT_FAILED, EXIT_OK, usage, writeJson } from '../output.js';

/* The client side of `guestkit serve`: job commands over the HTTP API (docs/api.md). */

export interface RemoteFlags {
  server?: string;
  token?: string;
  json?: boolean;
}

/** --server, --token and --json, the options every command that talks to a server has. */
export function remoteOptions(cmd: Command, json = 'print JSON for scripts'): Command {
  return cmd
    .option('--server <url>', `the guestkit serve address [GUESTKIT_SERVER] (default: ${DEFAULT_SERVER})`)
    .option('--token <token>', 'API token [GUESTKIT_TOKEN] (default: <data-dir>/admin-token when run beside the server)')
    .option('--json', json);
}

/** The token: --token, GUESTKIT_TOKEN, or the admin token `guestkit serve` saved on its first start. */
export function resolveToken(flag: string | undefined): { token?: string; source?: string } {
  if (flag !== undefined) return { token: flag, source: '--token' };
  if (process.env.GUESTKIT_TOKEN) return { token: process.env.GUESTKIT_TOKEN, source: 'GUESTKIT_TOKEN' };
  // serve's default data folder is ./.guestkit (serve-config.ts; not imported: it loads zod and yaml)
  const dirs = [process.env.GUESTKIT_DATA_DIR, './.guestkit'].filter((d): d is string => Boolean(d));
  for (const dir of dirs) {
    const file = join(dir, 'admin-token');
    try {
      const token = readFileSync(file, 'utf8').trim();
      if (token) return { token, source: file };
    } catch {
      // not there (or not ours to read): go on without
    }
  }
  return {};
}

export function clientOf(flags: RemoteFlags): ApiClient {
  const { token, source } = resolveToken(flags.token);
  return new ApiClient({ server: flags.server ?? (process.env.GUESTKIT_SERVER || DEFAULT_SERVER), token, tokenSource: source });
}

export const when = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

const DURATION = /^(\d{1,6})([smhdw])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A time option: RFC 3339 as is, or a duration (`90m`, `24h`, `7d`) meaning that long ago. */
export function timeOption(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = DURATION.exec(v.trim());
  if (m) return new Date(Date.now() - Number(m[1]) * UNIT_MS[m[2]!]!).toISOString();
  if (!Number.isFinite(Date.parse(v))) throw usage(`${flag} must be an RFC 3339 time (2026-01-31T12:00:00Z) or a duration ago (90m, 24h, 7d); got "${v}"`);
  return v;
}

function intOption(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw usage(`${flag} must be an integer from ${min} to ${max}; got "${v}"`);
  return n;
}

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : text + '\n');

// --- event lines ---

function eventLine(m: SseMessage): string {
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(m.data) as Record<string, unknown>;
  } catch {
    return `${clock(undefined)}  ${m.event.padEnd(8)}  ${m.data}`;
  }
  if (m.event === 'progress') {
    const pct = typeof data.progress_percent === 'number' ? `${Math.round(data.progress_percent)}%` : '-';
    return `${clock(data.timestamp)}  progress  #${String(data.sequence ?? m.id ?? '?').padEnd(3)} ${pct.padStart(4)}  ${String(data.phase ?? '')}  ${String(data.message ?? '')}`;
  }
  const s = statusOf(m);
  if (s) {
    const extra = [
      s.attempt !== undefined && s.attempt > 0 ? `attempt ${s.attempt}` : '',
      s.worker_id ? `on ${s.worker_id}` : '',
      s.error_code ? s.error_code : '',
      s.retry_in_ms !== undefined ? `retry in ${(s.retry_in_ms / 1000).toFixed(1)} s` : '',
    ].filter(Boolean);
    return `${clock(s.finished_at)}  status    ${s.status}${extra.length ? `  (${extra.join(', ')})` : ''}`;
  }
  return `${clock(undefined)}  ${m.event.padEnd(8)}  ${m.data}`;
}

function clock(ts: unknown): string {
  const d = typeof ts === 'string' && Number.isFinite(Date.parse(ts)) ? new Date(ts) : new Date();
  return d.toISOString().slice(11, 23);
}

function jsonLine(m: SseMessage): string {
  let data: unknown = m.data;
  try {
    data = JSON.parse(m.data);
  } catch {
    // not JSON: kept as text
  }
  return JSON.stringify({ ...(m.id === undefined ? {} : { id: m.id }), event: m.event, data });
}

/** Follows a job to its final status, then reads its final view. */
async function waitFinal(client: ApiClient, id: string, onEvent?: (m: SseMessage) => void): Promise<JobDetail> {
  for await (const m of client.follow(id, { onReconnect: (r) => process.stderr.write(`guestkit: event stream of ${id} dropped (${r.reason}); reconnecting in ${r.delayMs} ms\n`) })) {
    onEvent?.(m);
  }
  return client.get(id);
}

/** Why a job did not complete, as an error (its result's error when there is one). */
async function failure(client: ApiClient, v: JobView): Promise<GuestkitError> {
  let message = '';
  try {
    message = (await client.result(v.job_id)).error?.message ?? '';
  } catch {
    // no result (cancelled before it ran): the status says enough
  }
  const code = v.error_code && (ERROR_CODES as readonly string[]).includes(v.error_code) ? (v.error_code as ErrorCode) : v.status === 'cancelled' ? 'CANCELLED' : 'EXECUTION_ERROR';
  return new GuestkitError(code, `job ${v.job_id} ended ${v.status}${v.error_code ? ` (${v.error_code})` : ''}${message ? `: ${message}` : ''}`, {
    details: { job_id: v.job_id, status: v.status },
  });
}

// --- tables ---

function jobsTable(items: JobView[]): string {
  const rows = [['JOB ID', 'STATUS', 'OPERATION', 'NAMESPACE', 'QUEUED', 'NAME']];
  for (const j of items) rows.push([j.job_id, j.status + (j.error_code ? ` (${j.error_code})` : ''), j.operation, j.namespace, when(j.queued_at), j.name ?? j.image_path ?? '']);
  return table(rows);
}

function detailText(j: JobDetail): string {
  const last = j.attempts?.[j.attempts.length - 1];
  const worker = j.worker_id ?? last?.worker_id ?? null;
  const labels = Object.entries(j.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const rows = [
    ['job', j.job_id],
    ['status', `${j.status}${j.error_code ? ` (${j.error_code})` : ''}`],
    ['operation', j.operation],
    ['namespace', j.namespace],
    ['name', j.name ?? '-'],
    ['labels', labels || '-'],
    ['image', j.image_path ?? '-'],
    ['priority', String(j.priority)],
    ['attempt', `${j.attempt} of ${j.max_attempts}${worker ? ` (worker ${worker})` : ''}`],
    ['source', j.source ?? '-'],
    ...(j.hold ? [['held', `${j.hold.kind}: ${j.hold.reason}`]] : []),
    ...(j.depends_on?.length ? [['depends on', j.depends_on.join(', ')]] : []),
    ['queued', when(j.queued_at)],
    ['started', when(j.started_at)],
    ['finished', when(j.finished_at)],
  ].map(([k, v]) => [`${k}:`, v!]);
  let text = table(rows);
  if (j.attempts?.length) {
    const a = [['  #', 'WORKER', 'STATUS', 'ERROR', 'STARTED', 'FINISHED']];
    for (const x of j.attempts) a.push([`  ${x.attempt}`, x.worker_id, x.status, x.error_code ?? '-', when(x.started_at), when(x.finished_at)]);
    text += `\nattempts:\n${table(a)}`;
  }
  return text;
}

// --- commands ---

async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw usage(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a folder' : e.message}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

interface SubmitFlags extends RemoteFlags {
  wait?: boolean;
  idempotencyKey?: string;
}

async function submitCmd(file: string, flags: SubmitFlags): Promise<number> {
  const name = file === '-' ? 'stdin' : file;
  const text = (await readInput(file)).replace(/^\uFEFF/, '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new GuestkitError('VALIDATION_ERROR', `${name} is not JSON: ${(err as Error).message}`, { phase: 'validation' });
  }
  const client = clientOf(flags);
  const batch = typeof body === 'object' && body !== null && !Array.isArray(body) && Array.isArray((body as { jobs?: unknown }).jobs) && !('operation' in body);
  const opts = { idempotencyKey: flags.idempotencyKey };
  let jobs: JobView[] = batch ? await client.submitBatch((body as { jobs: unknown[] }).jobs, opts) : [await client.submit(body, opts)];
  if (!flags.wait) {
    if (flags.json) writeJson(batch ? { jobs } : { job: jobs[0] });
    else out(jobsTable(jobs));
    return EXIT_OK;
  }
  const single = jobs.length === 1 && !batch;
  if (!flags.json) process.stderr.write(single ? `submitted ${jobs[0]!.job_id}; following its events\n` : `submitted ${jobs.length} jobs; waiting for them to end\n`);
  const final: JobView[] = [];
  for (const j of jobs) {
    const v = await waitFinal(client, j.job_id, single && !flags.json ? (m) => out(eventLine(m)) : undefined);
    if (!single && !flags.json) out(`${v.job_id}  ${v.status}${v.error_code ? ` (${v.error_code})` : ''}`);
    final.push(v);
  }
  jobs = final;
  const bad = jobs.filter((j) => j.status !== 'completed');
  const error = bad.length === 0 ? undefined : bad.length === 1 ? await failure(client, bad[0]!) : new GuestkitError('EXECUTION_ERROR', `${bad.length} of ${jobs.length} jobs did not complete: ${bad.map((b) => `${b.job_id} ${b.status}`).join(', ')}`);
  if (flags.json) writeJson({ ...(batch ? { jobs } : { job: jobs[0] }), ...(error ? { error: error.toProtocol() } : {}) });
  else {
    if (!single) out(jobsTable(jobs));
    if (error) process.stderr.write(`guestkit: ${error.code}: ${error.message}\n`);
  }
  return error ? EXIT_FAILED : EXIT_OK;
}

async function statusCmd(id: string, flags: RemoteFlags & { watch?: boolean }): Promise<number> {
  const client = clientOf(flags);
  if (!flags.watch) {
    const j = await client.get(id);
    if (flags.json) writeJson(j);
    else out(detailText(j));
    return EXIT_OK;
  }
  const j = await waitFinal(client, id, flags.json ? undefined : (m) => out(eventLine(m)));
  if (flags.json) writeJson(j);
  else out(`\n${detailText(j)}`);
  return j.status === 'completed' ? EXIT_OK : EXIT_FAILED;
}

async function treeCmd(id: string, flags: RemoteFlags): Promise<number> {
  const t = await clientOf(flags).tree(id);
  if (flags.json) {
    writeJson(t);
    return EXIT_OK;
  }
  out(treeText(t));
  return EXIT_OK;
}

/** Parents above the job (each indented under the job that waits for it), dependants below. */
function treeText(t: JobTree): string {
  const label = (n: Omit<TreeNode, 'children'>) => `${n.job_id}  ${n.status}${n.error_code ? ` (${n.error_code})` : ''}${n.hold ? `  [held: ${n.hold.kind}]` : ''}  ${n.operation}${n.truncated ? '  …' : ''}`;
  const lines: string[] = [];
  const walk = (nodes: TreeNode[], depth: number, arrow: string) => {
    for (const n of nodes) {
      lines.push(`${'  '.repeat(depth)}${arrow} ${label(n)}`);
      if (n.children) walk(n.children, depth + 1, arrow);
    }
  };
  if (t.parents.length) {
    lines.push('waits for:');
    walk(t.parents, 1, '↑');
  }
  lines.push(label(t));
  if (t.dependants.length) {
    lines.push('waited for by:');
    walk(t.dependants, 1, '↓');
  }
  return lines.join('\n');
}

async function resultCmd(id: string, flags: RemoteFlags & { output?: string }): Promise<number> {
  const result = await clientOf(flags).result(id);
  const text = JSON.stringify(result, null, 2) + '\n';
  if (flags.output === undefined || flags.output === '-') {
    process.stdout.write(text);
    return EXIT_OK;
  }
  const tmp = `${flags.output}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, flags.output);
  } catch (err) {
    throw usage(`cannot write ${flags.output}: ${(err as Error).message}`);
  }
  if (flags.json) writeJson({ job_id: id, status: result.status, file: flags.output });
  else out(`result of ${id} (${result.status}) written to ${flags.output}`);
  return EXIT_OK;
}

interface ListFlags extends RemoteFlags {
  status: string[];
  operation?: string;
  namespace?: string;
  labels?: string;
  imagePrefix?: string;
  from?: string;
  to?: string;
  limit?: string;
  cursor?: string;
  all?: boolean;
}

async function listCmd(flags: ListFlags): Promise<number> {
  const filter: JobFilter = {
    status: flags.status.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
    operation: flags.operation,
    namespace: flags.namespace,
    labels: flags.labels,
    imagePrefix: flags.imagePrefix,
    from: timeOption('--from', flags.from),
    to: timeOption('--to', flags.to),
    limit: intOption('--limit', flags.limit, 1, 1000),
    cursor: flags.cursor,
  };
  const client = clientOf(flags);
  let items: JobView[];
  let next: string | undefined;
  if (flags.all) {
    items = [];
    for await (const j of client.listAll(filter)) items.push(j);
  } else ({ items, next } = await client.list(filter));
  if (flags.json) writeJson({ items, ...(next ? { next } : {}) });
  else {
    out(items.length ? jobsTable(items) : 'no jobs match');
    if (next) process.stderr.write(`more jobs: add --all, or --cursor ${next} for the next page\n`);
  }
  return EXIT_OK;
}

async function cancelCmd(id: string, flags: RemoteFlags): Promise<number> {
  const a = await clientOf(flags).cancel(id);
  if (flags.json) writeJson(a);
  else out(a.outcome === 'cancelled' ? `cancelled ${id}` : `cancelling ${id}: it stops at its next check (guestkit job status ${id} --watch)`);
  return EXIT_OK;
}

async function retryCmd(id: string, flags: RemoteFlags): Promise<number> {
  const job = await clientOf(flags).retry(id);
  if (flags.json) writeJson({ job });
  else out(`retried ${id} as ${job.job_id} (${job.status})`);
  return EXIT_OK;
}

async function deleteCmd(id: string, flags: RemoteFlags): Promise<number> {
  await clientOf(flags).delete(id);
  if (flags.json) writeJson({ job_id: id, deleted: true });
  else out(`deleted ${id} (its result, events and attempts too)`);
  return EXIT_OK;
}

async function eventsCmd(id: string, flags: RemoteFlags & { follow: boolean; after?: string }): Promise<number> {
  const client = clientOf(flags);
  const after = intOption('--after', flags.after, 0, Number.MAX_SAFE_INTEGER);
  if (!flags.follow) {
    const events = await client.events(id, after);
    const msgs: SseMessage[] = events.map((e) => ({ id: String(e.sequence), event: 'progress', data: JSON.stringify(e) }));
    for (const m of msgs) out(flags.json ? jsonLine(m) : eventLine(m));
    return EXIT_OK;
  }
  await client.get(id); // a missing job is a NOT_FOUND now, not a stream that never starts
  for await (const m of client.follow(id, { after })) out(flags.json ? jsonLine(m) : eventLine(m));
  return EXIT_OK;
}

const SERVER_NOTE = `
Talks to guestkit serve at --server (or GUESTKIT_SERVER, default ${DEFAULT_SERVER})
with --token (or GUESTKIT_TOKEN; beside a server, <data-dir>/admin-token is used).`;

const collect = (v: string, prev: string[]) => [...prev, v];

/** Adds the server-side job commands (submit, status, list …) to `guestkit job`. */
export function registerRemoteJobCommands(job: Command): void {
  job.description('Create and validate job documents; submit, follow and manage jobs on a guestkit server');

  remoteOptions(
    job
      .command('submit')
      .description('Submit a job document, or a batch {"jobs": […]}, to the server')
      .argument('<file>', 'a JSON file with one job document or {"jobs": [...]}; - reads stdin')
      .option('--wait', 'follow the events until the job ends; exit 0 only if it completed')
      .option('--idempotency-key <key>', 'a repeat with the same key returns the first job instead of a new one'),
    'print the server answer ({job} or {jobs}; the final state with --wait) as JSON',
  )
    .addHelpText('after', `${SERVER_NOTE}

Examples:
  guestkit job create system.echo --data '{"message":"hi"}' > echo.json
  guestkit job submit echo.json --wait
  guestkit job create guestkit.inspect --image /data/web.qcow2 | guestkit job submit - --json
  guestkit job submit batch.json --idempotency-key nightly-2026-01-31`)
    .action(action(submitCmd));

  remoteOptions(
    job
      .command('status')
      .description("Show a job's state and attempts")
      .argument('<id>', 'the job id')
      .option('--watch', 'print its events until it ends, then its final state; exit 0 only if it completed'),
  )
    .addHelpText('after', `${SERVER_NOTE}

Examples:
  guestkit job status job-01J8Z…
  guestkit job status job-01J8Z… --watch`)
    .action(action(statusCmd));

  remoteOptions(
    job
      .command('result')
      .description("Print a finished job's result document")
      .argument('<id>', 'the job id')
      .option('-o, --output <file>', 'write it to this file instead of stdout'),
  )
    .addHelpText('after', `${SERVER_NOTE}

Examples:
  guestkit job result job-01J8Z… | jq .data
  guestkit job result job-01J8Z… -o result.json`)
    .action(action(resultCmd));

  remoteOptions(
    job
      .command('list')
      .description('List jobs, newest first, with filters')
      .option('--status <list>', 'pending, running, completed, failed, cancelled, timeout, … (comma list or repeated)', collect, [] as string[])
      .option('--operation <op>', 'only this operation')
      .option('--namespace <ns>', 'only this namespace (admins; others see their own)')
      .option('--labels <selector>', 'label selector: env=prod,tier!=db,team')
      .option('--image-prefix <path>', 'only jobs whose image path starts with this')
      .option('--from <time>', 'queued at or after: RFC 3339, or a duration ago (24h, 7d)')
      .option('--to <time>', 'queued before: RFC 3339, or a duration ago')
      .option('--limit <n>', 'jobs per page, 1 to 1000 (default 100)')
      .option('--cursor <cursor>', 'the page after this cursor (as a previous list printed it)')
      .option('--all', 'every page, not only the first'),
  )
    .addHelpText('after', `${SERVER_NOTE}

Examples:
  guestkit job list --status failed,timeout --from 24h
  guestkit job list --labels env=prod,tier!=db --all --json`)
    .action(action(listCmd));

  remoteOptions(
    job
      .command('tree')
      .description("Show a job's dependencies: the jobs it waits for (execution.depends_on) and the jobs that wait for it")
      .argument('<id>', 'the job id'),
    'print the tree as JSON ({parents, dependants}, each node with its children)',
  )
    .addHelpText('after', `${SERVER_NOTE}

Example:
  guestkit job tree job-01J8Z…`)
    .action(action(treeCmd));

  for (const [name, description, fn] of [
    ['cancel', 'Cancel a waiting or running job', cancelCmd],
    ['retry', 'Run a failed, timed-out or cancelled job again, as a new job', retryCmd],
    ['delete', 'Delete a finished job with its result, events and attempts', deleteCmd],
  ] as const) {
    remoteOptions(job.command(name).description(description).argument('<id>', 'the job id'))
      .addHelpText('after', `${SERVER_NOTE}\n\nExample:\n  guestkit job ${name} job-01J8Z…`)
      .action(action(fn));
  }

  remoteOptions(
    job
      .command('events')
      .description("Follow a job's events (server-sent) until it ends, one line each")
      .argument('<id>', 'the job id')
      .option('--no-follow', 'print the stored events and stop')
      .option('--after <seq>', 'only events after this sequence number'),
    'print one JSON object per event ({id, event, data})',
  )
    .addHelpText('after', `${SERVER_NOTE}

Examples:
  guestkit job events job-01J8Z…
  guestkit job events job-01J8Z… --json | jq -c .data`)
    .action(action(eventsCmd));
}
