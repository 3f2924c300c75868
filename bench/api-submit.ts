// POST /api/v1/jobs per second with persistence: `guestkit serve` (compiled, token auth,
// SQLite in --data-dir) driven by autocannon (programmatic API, in this process) with
// `system.echo` jobs for a fixed duration at N connections, next to a bare fastify server
// whose POST handler only JSON-parses the body and answers 202 (the ceiling of the HTTP layer
// on this machine, started as a child process like serve, same client, same body).
// Modes, each in a fresh server and data folder per cell:
//   bare   — the bare fastify reference;
//   busy   — serve with its embedded workers consuming the echo jobs while they arrive;
//   idle   — serve with `quotas.default.max_running: 0` (the queue dispatches nothing: the
//            workers stay idle, jobs pile up `pending`);
//   batch  — serve (busy), body {"jobs": [100 echo docs]}: jobs/s = 2xx answers × 100 / s.
// Per cell: requests/s (2xx only), p50/p99 latency, non-2xx and socket errors, jobs the
// workers completed during the measured window (guestkit_jobs_total from /metrics), server
// CPU per request (user+sys of all its threads, /proc), and the load average. Data folders:
// tmpfs (/dev/shm) and ext4 (/tmp, when it is ext4). Modes alternate within a run, so load
// drift hits all alike; figures are medians over the runs.
// --profile: after the runs, one more cell (--profile-mode, default busy; tmpfs; the first connection count) under
// `node --cpu-prof`, summarised for the measured window only (bench/lib/cpuprofile-top.ts).
// Needs `npm run build` (it runs bin/guestkit.js, i.e. dist/).
// Usage: node --import tsx bench/api-submit.ts [--duration=10] [--warmup=2] [--runs=3]
//          [--connections=10,50,100] [--batch-connections=10] [--modes=bare,busy,idle,batch]
//          [--fs=tmpfs|ext4|both] [--profile] [--profile-only] [--profile-mode=busy|idle|batch]
//          [--log-level=info]
//          [--guestkit-root=DIR[,DIR…]]
// --guestkit-root: the checkout(s) whose bin/guestkit.js runs (built; e.g. a `git archive`
// extracted elsewhere with a node_modules link while this tree is mid-edit). Several, comma-
// separated: each serve cell runs once per root, roots alternating within a run, and the
// table has a row per root (labelled by the folder's name).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { formatSummary, summarise, SUBMIT_CATEGORIES, SUBMIT_PATH_FUNCTIONS, type CpuProfile } from './lib/cpuprofile-top.js';
import { cpuMsOf, load, load1, machine, median, metricSum, ROOT, sleep, startServe, track, type Serve } from './lib/serve-proc.js';

// ---- autocannon (no bundled types): the part of its API used here
interface AcResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  requests: { total: number; sent: number };
}
interface AcOptions {
  url: string;
  connections: number;
  duration: number;
  method: string;
  headers: Record<string, string>;
  body: string;
  pipelining?: number;
  timeout?: number;
}
type Autocannon = ((o: AcOptions, cb: (err: Error | null, r: AcResult) => void) => unknown) & { track?: unknown };
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const cannon = (o: AcOptions) => new Promise<AcResult>((resolve, reject) => autocannon(o, (err, r) => (err ? reject(err) : resolve(r))));

type Mode = 'bare' | 'busy' | 'idle' | 'batch';
type FsKind = 'tmpfs' | 'ext4';

interface Cell {
  mode: Mode;
  /** Which guestkit checkout served it ('' = this one; bare cells too). */
  root: string;
  fs: FsKind;
  connections: number;
  rps: number; // 2xx answers per second
  jobsPerS: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  completed: number;
  pendingAfter: number;
  serverCpuUsPerReq: number;
  clientCpuUsPerReq: number;
  load1: number;
  codes: string;
}

function opt(name: string, dflt: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const ECHO = { version: '1.0', kind: 'VMOperation', operation: 'system.echo', payload: { type: 'system.echo.v1', data: { message: 'x' } } };
const ONE = JSON.stringify(ECHO);
const BATCH = JSON.stringify({ jobs: Array.from({ length: 100 }, () => ECHO) });

async function startBare(): Promise<{ proc: ChildProcess; pid: number; url: string; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'api-submit.ts'), '--bare-server'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  track(proc);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (c) => reject(new Error(`bare server exited (${c})`)));
  });
  const exit = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    pid: proc.pid!,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM');
      await exit;
    },
  };
}

async function measure(mode: Mode, fs: FsKind, c: number, dir: string, duration: number, warmup: number, o: { root?: string; logLevel: string; profile?: boolean; outDir: string }): Promise<{ cell: Cell; profile?: string }> {
  let server: { pid: number; url: string; stop(): Promise<void> };
  let serve: Serve | undefined;
  const dataDir = join(dir, `data-${mode}-${c}`);
  if (mode === 'bare') server = await startBare();
  else {
    serve = await startServe({
      root: o.root,
      dataDir,
      outDir: o.outDir,
      logLevel: o.logLevel,
      cpuProf: o.profile,
      configYaml: mode === 'idle' ? 'quotas:\n  default:\n    max_running: 0\n' : undefined,
    });
    server = serve;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(serve ? { authorization: `Bearer ${serve.token}` } : {}) };
  const body = mode === 'batch' ? BATCH : ONE;
  const per = mode === 'batch' ? 100 : 1;
  const url = `${server.url}/api/v1/jobs`;
  try {
    if (warmup > 0) await cannon({ url, connections: c, duration: warmup, method: 'POST', headers, body });
    await sleep(200);
    const done0 = serve ? await metricSum(serve.url, 'guestkit_jobs_total') : 0;
    const cpu0 = cpuMsOf(server.pid);
    const cc0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await cannon({ url, connections: c, duration, method: 'POST', headers, body, timeout: 30 });
    const t1 = process.hrtime.bigint();
    const cpu1 = cpuMsOf(server.pid);
    const cc = process.cpuUsage(cc0);
    const done1 = serve ? await metricSum(serve.url, 'guestkit_jobs_total') : 0;
    const pending = serve ? await metricSum(serve.url, 'guestkit_queue_depth') : 0;
    const ok = r['2xx'];
    const codes = Object.entries(r.statusCodeStats)
      .map(([k, v]) => `${k}:${v.count}`)
      .join(' ');
    const cell: Cell = {
      mode,
      root: mode === 'bare' ? '' : label(o.root),
      fs,
      connections: c,
      rps: ok / r.duration,
      jobsPerS: (ok * per) / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      completed: done1 - done0,
      pendingAfter: pending,
      serverCpuUsPerReq: ((cpu1 - cpu0) * 1000) / Math.max(1, r.requests.total),
      clientCpuUsPerReq: (cc.user + cc.system) / Math.max(1, r.requests.total),
      load1: load1(),
      codes,
    };
    let profile: string | undefined;
    if (o.profile && serve) {
      await serve.stop();
      const file = readdirSync(o.outDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(o.outDir, f))[0];
      if (file) {
        const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
        const s = summarise(p, { top: 30, inclusive: SUBMIT_PATH_FUNCTIONS, categories: SUBMIT_CATEGORIES, window: { fromUs: Number(t0 / 1000n), toUs: Number(t1 / 1000n) } });
        profile = `${file}\n${formatSummary(s, r.requests.total, cell.serverCpuUsPerReq)}`;
      }
    }
    return { cell, profile };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function fsDirs(choice: string): { fs: FsKind; dir: string; what: string }[] {
  const out: { fs: FsKind; dir: string; what: string }[] = [];
  const tag = `gk-api-bench-${process.pid}`;
  if (choice !== 'ext4') out.push({ fs: 'tmpfs', dir: join('/dev/shm', tag), what: '/dev/shm (tmpfs)' });
  if (choice !== 'tmpfs') {
    const ext4 = statfsSync('/tmp').type === 0xef53;
    out.push({ fs: 'ext4', dir: join(ext4 ? '/tmp' : join(ROOT, 'bench', 'out'), tag), what: ext4 ? '/tmp (ext4)' : `bench/out (/tmp is not ext4)` });
  }
  return out;
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');

async function main(): Promise<void> {
  const duration = Number(opt('duration', '10'));
  const warmup = Number(opt('warmup', '2'));
  const runs = Number(opt('runs', '3'));
  const conns = opt('connections', '10,50,100').split(',').map(Number);
  const batchConns = opt('batch-connections', '10').split(',').map(Number);
  const modes = opt('modes', 'bare,busy,idle,batch').split(',') as Mode[];
  const logLevel = opt('log-level', 'info');
  const rootArg = opt('guestkit-root', '');
  const roots: (string | undefined)[] = rootArg ? rootArg.split(',') : [undefined];
  const root = roots[0];
  const places = fsDirs(opt('fs', 'both'));
  const outBase = join(ROOT, 'bench', 'out', 'api-submit');
  rmSync(outBase, { recursive: true, force: true });
  mkdirSync(outBase, { recursive: true });

  console.log(`api submit — POST /api/v1/jobs (system.echo), autocannon ${duration} s per cell after ${warmup} s warm-up, median of ${runs} runs; guestkit serve compiled (dist)${rootArg ? ` from ${roots.join(', ')}` : ''}, --auth token, log level ${logLevel}`);
  console.log(`machine: ${machine()}, load average ${load()}`);
  console.log(`data folders: ${places.map((p) => `${p.fs} = ${p.what}`).join(', ')}`);
  const cells: Cell[] = [];
  const startLoad = load();
  if (!flag('profile-only')) {
    for (let run = 1; run <= runs; run++) {
      for (const place of places) {
        mkdirSync(place.dir, { recursive: true });
        for (const mode of modes) {
          if (mode === 'bare' && place !== places[0]) continue; // the bare server keeps no data: once per run
          for (const c of mode === 'batch' ? batchConns : conns) {
            for (const r of mode === 'bare' ? [undefined] : roots) {
              const outDir = join(outBase, `${place.fs}-${mode}-${c}-r${run}${r ? `-${label(r)}` : ''}`);
              try {
                const { cell } = await measure(mode, place.fs, c, place.dir, duration, warmup, { root: r, logLevel, outDir });
                cells.push(cell);
                console.log(
                  `  run ${run} ${place.fs.padEnd(5)} ${mode.padEnd(5)}${cell.root ? ` ${cell.root}` : ''} c=${String(c).padEnd(3)} ${f0(cell.rps).padStart(6)} req/s${mode === 'batch' ? ` (${f0(cell.jobsPerS)} jobs/s)` : ''}  p50 ${f1(cell.p50)} p99 ${f1(cell.p99)} max ${f0(cell.max)} ms  non2xx ${cell.non2xx} err ${cell.errors}  completed ${cell.completed} pending ${cell.pendingAfter}  server ${f0(cell.serverCpuUsPerReq)} µs CPU/req  client ${f0(cell.clientCpuUsPerReq)} µs/req  load ${cell.load1.toFixed(2)}  [${cell.codes}]`,
                );
              } catch (err) {
                console.log(`  run ${run} ${place.fs} ${mode} c=${c}: FAILED ${(err as Error).message}`);
              }
            }
          }
        }
        rmSync(place.dir, { recursive: true, force: true });
      }
    }
    report(cells, places.map((p) => p.fs), modes, conns, batchConns, startLoad, roots.map(label));
  }
  if (flag('profile') || flag('profile-only')) {
    const place = places[0]!;
    mkdirSync(place.dir, { recursive: true });
    const pmode = opt('profile-mode', 'busy') as Mode;
    const outDir = join(outBase, `profile-${place.fs}-${pmode}-${conns[0]}`);
    const { cell, profile } = await measure(pmode, place.fs, conns[0]!, place.dir, duration, warmup, { root, logLevel, outDir, profile: true });
    rmSync(place.dir, { recursive: true, force: true });
    console.log(
      `\nCPU profile of serve (${pmode}, ${place.fs}, c=${cell.connections}, ${duration} s): ${f0(cell.rps)} req/s${pmode === 'batch' ? ` (${f0(cell.jobsPerS)} jobs/s)` : ''}, p99 ${f1(cell.p99)} ms, ${cell.completed} jobs completed meanwhile, ${f0(cell.serverCpuUsPerReq)} µs process CPU per request, load ${cell.load1.toFixed(2)}`,
    );
    console.log(profile ?? '(no profile written)');
  }
}

function label(root: string | undefined): string {
  return root ? basename(root.replace(/\/+$/, '')) : '';
}

function report(cells: Cell[], fss: FsKind[], modes: Mode[], conns: number[], batchConns: number[], startLoad: string, roots: string[]): void {
  console.log(`\nmedians (load average now ${load()}, at start ${startLoad}); ratio = guestkit req/s ÷ bare fastify req/s at the same connections (batch, marked j: jobs/s ÷ bare req/s)`);
  console.log('fs     mode   conns   req/s (runs)                 jobs/s   p50 ms  p99 ms  non2xx  errors  completed/run  server µs CPU/req  ratio  target ≥5000/s  load 1m');
  const bareAt = new Map<number, number>();
  for (const c of conns) {
    const xs = cells.filter((x) => x.mode === 'bare' && x.connections === c);
    if (xs.length) bareAt.set(c, median(xs.map((x) => x.rps)));
  }
  const row = (fs: string, mode: Mode, c: number, xs: Cell[], root = '') => {
    const rps = median(xs.map((x) => x.rps));
    const jobs = median(xs.map((x) => x.jobsPerS));
    const bare = bareAt.get(c);
    // batch: jobs/s against the bare server's single-document requests/s
    const ratio = mode === 'bare' ? '1' : bare ? `${((mode === 'batch' ? jobs : rps) / bare).toFixed(2)}${mode === 'batch' ? 'j' : ''}` : '–';
    const target = mode === 'bare' ? '' : jobs >= 5000 ? '✓' : '✗';
    const loads = xs.map((x) => x.load1);
    console.log(
      [
        fs.padEnd(6),
        (root ? `${mode} ${root}` : mode).padEnd(roots.some(Boolean) ? 20 : 6),
        String(c).padStart(5),
        `${f0(rps).padStart(7)} (${xs.map((x) => f0(x.rps)).join(', ')})`.padEnd(28),
        f0(jobs).padStart(7),
        f1(median(xs.map((x) => x.p50))).padStart(8),
        f1(median(xs.map((x) => x.p99))).padStart(7),
        String(xs.reduce((s, x) => s + x.non2xx, 0)).padStart(7),
        String(xs.reduce((s, x) => s + x.errors, 0)).padStart(7),
        f0(median(xs.map((x) => x.completed))).padStart(14),
        f0(median(xs.map((x) => x.serverCpuUsPerReq))).padStart(18),
        ratio.padStart(6),
        target.padStart(15),
        `  ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`,
      ].join(' '),
    );
  };
  for (const c of conns) {
    const xs = cells.filter((x) => x.mode === 'bare' && x.connections === c);
    if (xs.length) row('-', 'bare', c, xs);
  }
  for (const fs of fss)
    for (const mode of modes) {
      if (mode === 'bare') continue;
      for (const c of mode === 'batch' ? batchConns : conns)
        for (const r of roots) {
          const xs = cells.filter((x) => x.fs === fs && x.mode === mode && x.connections === c && x.root === r);
          if (xs.length) row(fs, mode, c, xs, r);
        }
    }
}

// ---- the bare reference server (this file, run as a child with --bare-server)
async function bareServer(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.post('/api/v1/jobs', async (req, reply) => {
    reply.code(202);
    return { accepted: typeof req.body === 'object' };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  console.log(JSON.stringify({ msg: 'bare ready', port: (app.server.address() as { port: number }).port, address }));
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

if (process.argv.includes('--bare-server')) await bareServer();
else await main();

