// Starting and stopping `guestkit serve` (compiled) for the API benchmarks, plus small
// helpers they share: /proc CPU time, percentiles, the machine line, load average.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
export const load1 = () => loadavg()[0]!;

export function machine(): string {
  let model = cpus()[0]?.model ?? '?';
  try {
    const m = /^Model name:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8').replace(/^model name\s*:/gm, 'Model name:'));
    if (m) model = m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return `${cpus().length} cores, ${model}, Linux ${release()}, Node ${process.version}`;
}

export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
export const median = (xs: readonly number[]) => pct(xs, 50);

/** User + system CPU time of a process so far (Linux /proc; all its threads), in ms. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 100; // USER_HZ
    return ((Number(f[11]) + Number(f[12])) * 1000) / tick;
  } catch {
    return NaN;
  }
}

/** A port nobody listens on now (for a server whose log level hides the "api ready" line). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Children still running: killed when the bench itself is interrupted. */
const live = new Set<ChildProcess>();
let hooked = false;
export function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const p of live) p.kill('SIGKILL');
      process.exit(130);
    });
  }
}

export interface ServeOptions {
  /** The guestkit checkout whose bin/guestkit.js runs (default: this one). */
  root?: string;
  dataDir: string;
  /** Folder for the log file and the CPU profile. */
  outDir: string;
  /** YAML written to <outDir>/serve.yaml and passed as --config. */
  configYaml?: string;
  env?: Record<string, string>;
  /** node --cpu-prof into outDir. */
  cpuProf?: boolean;
  logLevel?: string;
  maxConcurrent?: number;
  extraArgs?: string[];
}

export interface Serve {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  token: string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * `node bin/guestkit.js serve --data-dir D --port 0 --auth token`; the port comes from the
 * JSON log line "api ready", the admin token from D/admin-token. The log goes to a file (the
 * bench reads none of it while measuring, so it costs the bench nothing).
 */
export async function startServe(o: ServeOptions): Promise<Serve> {
  const root = o.root ?? ROOT;
  const bin = join(root, 'bin', 'guestkit.js');
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`${root}/dist is missing: run npm run build first`);
  rmSync(o.dataDir, { recursive: true, force: true });
  mkdirSync(dirname(o.dataDir), { recursive: true });
  mkdirSync(o.outDir, { recursive: true });
  const logFile = join(o.outDir, 'serve.log');
  const fd = openSync(logFile, 'w');
  const level = o.logLevel ?? 'info';
  const fixedPort = level === 'info' || level === 'debug' || level === 'trace' ? 0 : await freePort();
  const args = [...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.outDir}`] : []), bin, 'serve', '--data-dir', o.dataDir, '--port', String(fixedPort), '--auth', 'token', '--log-level', level];
  if (o.maxConcurrent) args.push('--max-concurrent', String(o.maxConcurrent));
  if (o.configYaml) {
    const cfg = join(o.outDir, 'serve.yaml');
    writeFileSync(cfg, o.configYaml);
    args.push('--config', cfg);
  }
  args.push(...(o.extraArgs ?? []));
  const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', fd, fd], env: { ...process.env, ...o.env } });
  track(proc);
  closeSync(fd);
  let exited: number | null | undefined;
  const exit = new Promise<void>((r) =>
    proc.once('exit', (code) => {
      exited = code;
      r();
    }),
  );
  const tokenFile = join(o.dataDir, 'admin-token');
  const until = Date.now() + 30_000;
  let port = fixedPort;
  for (;;) {
    if (exited !== undefined) throw new Error(`guestkit serve exited (${exited}) before it was ready:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > until) {
      proc.kill('SIGKILL');
      throw new Error(`guestkit serve not ready after 30 s:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    if (port === 0) {
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        if (!line.includes('"api ready"')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'api ready' && j.port) port = j.port;
        } catch {
          /* a partial line */
        }
      }
      if (port !== 0 && existsSync(tokenFile)) break;
    } else if (existsSync(tokenFile) && (await healthy(port))) break;
    await sleep(50);
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  const url = `http://127.0.0.1:${port}`;
  return {
    proc,
    pid: proc.pid!,
    port,
    url,
    token,
    logFile,
    async stop() {
      if (exited !== undefined) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exit;
      clearTimeout(t);
    },
  };
}

async function healthy(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

/** Sum of a Prometheus counter's samples whose labels contain every `match` pair. */
export async function metricSum(url: string, name: string, match: Record<string, string> = {}): Promise<number> {
  const r = await fetch(`${url}/metrics`);
  const text = await r.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = m[2] ?? '';
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
