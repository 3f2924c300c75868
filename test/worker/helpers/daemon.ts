import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../../helpers/cli.js';

// A test that fails between start and stop must not leave its child running: the child's pipes
// would keep the test file's process alive and the whole run would wait on it. This hook runs
// before the file's own after() hooks (it was registered first), which may still stop their
// daemons gracefully: the kill waits on an unref'd timer, so a file whose children all ended
// exits at once and only a leaked child holds it, for at most a minute.
const live = new Set<ChildProcess>();
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => {
      for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }, 60_000).unref();
  });
}

export interface SpoolDirs {
  root: string;
  jobs: string;
  results: string;
  data: string;
}

export function makeSpool(prefix = 'gk-worker-'): SpoolDirs {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const s = { root, jobs: join(root, 'jobs'), results: join(root, 'results'), data: join(root, 'state') };
  mkdirSync(s.jobs, { recursive: true });
  return s;
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** A `guestkit worker` child process (compiled entry under dist/, tsx from sources). */
export class Daemon {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private buf = '';
  private waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(readonly proc: ChildProcess) {
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!line.trim()) continue;
        let l: LogLine;
        try {
          l = JSON.parse(line) as LogLine;
        } catch {
          l = { level: 'raw', msg: line };
        }
        this.logs.push(l);
        this.waiters = this.waiters.filter((w) => (w.pred(l) ? (w.resolve(l), false) : true));
      }
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (c: string) => this.stderr.push(c));
    this.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  }

  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const hit = this.logs.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`log line not seen within ${timeoutMs} ms; stderr: ${this.stderr.join('')}; last logs: ${JSON.stringify(this.logs.slice(-5))}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  }

  ready(): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === 'worker ready');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

export function startDaemon(spool: SpoolDirs, args: string[] = [], env: Record<string, string> = {}): Daemon {
  const root = repoRoot();
  const compiled = fileURLToPath(import.meta.url).includes(join('dist', 'test'));
  const entry = compiled ? [join(root, 'dist', 'src', 'cli', 'run.js')] : ['--import', 'tsx', join(root, 'src', 'cli', 'run.ts')];
  const proc = spawn(
    process.execPath,
    [...entry, 'worker', '--jobs-dir', spool.jobs, '--results-dir', spool.results, '--data-dir', spool.data, ...args],
    {
      cwd: root,
      env: { ...process.env, GUESTKIT_TEST_HANDLERS: '1', GUESTKIT_SPOOL_POLL_MS: '100', GUESTKIT_SPOOL_SETTLE_MS: '300', GUESTKIT_RETRY_BASE_MS: '50', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Daemon(proc);
}

/** A valid echo job document. */
export function echoJob(jobId: string, over: Record<string, unknown> = {}, data: unknown = { message: `hello ${jobId}` }): Record<string, unknown> {
  return job(jobId, 'system.echo', data, over);
}

export function job(jobId: string, operation: string, data: unknown, over: Record<string, unknown> = {}): Record<string, unknown> {
  const { execution, ...rest } = over as { execution?: Record<string, unknown> };
  return {
    version: '1.0',
    job_id: jobId,
    created_at: '2026-01-30T16:00:00Z',
    kind: 'VMOperation',
    operation,
    execution: { timeout_seconds: 60, ...(execution ?? {}) },
    payload: { type: `${operation}.v1`, data },
    ...rest,
  };
}

/** Drops a job the way submitters should: written beside as a dotfile, then renamed in. */
export function dropJob(spool: SpoolDirs, doc: unknown, name?: string): string {
  const n = name ?? `${(doc as { job_id: string }).job_id}.json`;
  const tmp = join(spool.jobs, `.${n}.tmp`);
  writeFileSync(tmp, typeof doc === 'string' ? doc : JSON.stringify(doc));
  renameSync(tmp, join(spool.jobs, n));
  return n;
}

export interface ResultDoc {
  job_id: string;
  status: string;
  worker_id: string;
  execution_summary: { started_at: string; duration_seconds: number; attempt: number; idempotency_key?: string };
  error?: { code: string; message: string; phase: string; recoverable: boolean; retry_recommended: boolean; details?: Record<string, unknown> };
  data?: unknown;
  [k: string]: unknown;
}

export function resultPath(spool: SpoolDirs, jobId: string): string {
  return join(spool.results, `${jobId}-result.json`);
}

export async function waitForResult(spool: SpoolDirs, jobId: string, timeoutMs = 20_000): Promise<ResultDoc> {
  const p = resultPath(spool, jobId);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(p)) {
      // the job file is archived right after its result is written (the next step of the same
      // asynchronous write): give it that moment, so callers can check done/ and failed/
      const held = `${jobId}.json`;
      const claimedRoot = join(spool.jobs, 'claimed');
      const stillClaimed = () => existsSync(claimedRoot) && readdirSync(claimedRoot).some((w) => existsSync(join(claimedRoot, w, held)));
      for (let i = 0; i < 100 && stillClaimed(); i++) await sleep(20);
      return JSON.parse(readFileSync(p, 'utf8')) as ResultDoc;
    }
    await sleep(20);
  }
  throw new Error(`no result for ${jobId} within ${timeoutMs} ms (results: ${existsSync(spool.results) ? readdirSync(spool.results).slice(0, 20).join(', ') : 'none'})`);
}

export async function waitFor(pred: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (pred()) return;
    await sleep(20);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

export function readEvents(spool: SpoolDirs, jobId: string): { sequence: number; phase: string; message: string }[] {
  const p = join(spool.results, `${jobId}-events.jsonl`);
  if (!existsSync(p)) return [];
  return readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { sequence: number; phase: string; message: string });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function listDir(p: string): string[] {
  return existsSync(p) ? readdirSync(p).filter((n) => !n.startsWith('.')) : [];
}
