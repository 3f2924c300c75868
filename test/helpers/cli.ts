import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from test/ (tsx) or dist/test/ (compiled). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'guestkit') return dir;
    dir = dirname(dir);
  }
  throw new Error('guestkit repository root not found above test/helpers');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment variables (merged over the current environment). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the CLI after this long (default 30 s) and fail. */
  timeoutMs?: number;
}

/**
 * Runs the `guestkit` CLI as a child process. From compiled tests (dist/) it
 * runs the compiled entry; from TypeScript it runs src/cli/run.ts with tsx.
 */
export function runCli(args: readonly string[], stdin?: string | Buffer, opts: CliOptions = {}): Promise<CliResult> {
  const root = repoRoot();
  const compiled = fileURLToPath(import.meta.url).includes(`${join('dist', 'test')}`);
  const entry = compiled ? [join(root, 'dist', 'src', 'cli', 'run.js')] : ['--import', 'tsx', join(root, 'src', 'cli', 'run.ts')];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: opts.cwd ?? root,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`guestkit ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 30000} ms`));
    }, opts.timeoutMs ?? 30000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {
      // the CLI may exit without reading stdin
    });
    child.stdin.end(stdin ?? '');
  });
}

/** A usage error as the README promises it: one `guestkit: USAGE_ERROR: …` line on stderr, exit 2. */
export function assertUsage(r: CliResult, message: RegExp, opts: { stdoutEmpty?: boolean } = {}): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^guestkit: USAGE_ERROR: /);
  assert.match(lines[0]!, message);
  if (opts.stdoutEmpty) assert.equal(r.stdout, '');
}
