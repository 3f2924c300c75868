import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daemon } from '../worker/helpers/daemon.js';
import { repoRoot } from './cli.js';

/** A spawned `guestkit serve` on a free port, with what a test needs to talk to it. */
export interface Served {
  daemon: Daemon;
  url: string;
  dataDir: string;
  /** The admin token serve made on first start (token auth), or '' with --auth none. */
  adminToken: string;
  stop(): Promise<void>;
}

export function cliEntry(): string[] {
  const root = repoRoot();
  const compiled = fileURLToPath(import.meta.url).includes(join('dist', 'test'));
  return compiled ? [join(root, 'dist', 'src', 'cli', 'run.js')] : ['--import', 'tsx', join(root, 'src', 'cli', 'run.ts')];
}

export function tempDataDir(prefix = 'gk-serve-'): string {
  return join(mkdtempSync(join(tmpdir(), prefix)), 'data');
}

/** Starts serve on `dataDir` (made fresh unless given) and waits for "api ready". */
export async function startServe(opts: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<Served> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const proc = spawn(process.execPath, [...cliEntry(), 'serve', '--data-dir', dataDir, '--port', '0', ...(opts.args ?? [])], {
    cwd: repoRoot(),
    env: { ...process.env, GUESTKIT_TEST_HANDLERS: '1', GUESTKIT_RETRY_BASE_MS: '50', GUESTKIT_SPOOL_POLL_MS: '100', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const daemon = new Daemon(proc);
  const ready = await Promise.race([
    daemon.waitForLog((l) => l.msg === 'api ready', 30_000),
    daemon.exited.then((e) => {
      throw new Error(`guestkit serve exited (${e.code ?? e.signal}) before it was ready: ${daemon.stderr.join('')}`);
    }),
  ]);
  let adminToken = '';
  try {
    adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  } catch {
    /* --auth none, or tokens made earlier */
  }
  return {
    daemon,
    url: `${String(ready.url)}/api/v1`,
    dataDir,
    adminToken,
    stop: async () => {
      await daemon.stop();
    },
  };
}

export function removeDataDir(dataDir: string): void {
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** One JSON request; the body is parsed when the answer is JSON. */
export async function call<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  const parsed = (res.headers.get('content-type') ?? '').startsWith('application/json') && text ? (JSON.parse(text) as T) : (text as unknown as T);
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Polls a job until it reaches a final status. */
export async function waitFinal(url: string, token: string, jobId: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(url, 'GET', `/jobs/${jobId}`, { token });
    if (r.status === 200 && ['completed', 'failed', 'cancelled', 'timeout'].includes(String(r.body.status))) return r.body;
    if (Date.now() > end) throw new Error(`job ${jobId} not final after ${timeoutMs} ms: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export function echo(message = 'hi', over: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: '1.0', kind: 'VMOperation', operation: 'system.echo', payload: { type: 'system.echo.v1', data: { message } }, ...over };
}

export function testJob(operation: string, data: unknown, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: '1.0', kind: 'VMOperation', operation, payload: { type: `${operation}.v1`, data }, ...over };
}
