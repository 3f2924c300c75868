// SSE fan-out: W watchers (raw http.get with Accept: text/event-stream, one socket each, no
// EventSource library) on one busy job of `guestkit serve` (compiled, token auth, tmpfs data
// folder, GUESTKIT_TEST_HANDLERS=1). The busy job is `test.sleep {seconds: S}`: the closest
// the test handlers come to a steady progress emitter — after the first quarter-second it
// emits one progress event per second (step = min(1 s, S/4)), so S seconds give ~S events.
// None of the handlers emits faster; a `test.progress {count, interval_ms}` handler would
// let this bench drive tens of events per second.
// So that every watcher sees the job's events live (not replayed from the store), serve runs
// with --max-concurrent 1 and a blocker job (test.sleep 3600) holds the only slot while the
// watchers connect; once every watcher has its first `event: status` (pending) the blocker
// is cancelled over the API and the busy job starts.
// Measured per delivery: the receive time (wall clock, sub-ms) minus the event's own
// `timestamp` field (set by the worker when the handler reports progress, ms precision, so a
// delay reads up to 1 ms high); p50 / p99 / max over all deliveries, and per event the spread
// from the first to the last watcher. Checked: every watcher got every progress event of the
// job (the stored list, GET /jobs/{id}/events) once and in order, then the final status.
// --load=C: meanwhile a separate autocannon process posts echo jobs at C connections (a
// busy server, not only a busy job).
// Needs `npm run build`. Usage: node --import tsx bench/sse-fanout.ts [--watchers=1000]
//   [--seconds=20] [--runs=3] [--load=0] [--guestkit-root=DIR] [--profile]
// --profile: serve runs under node --cpu-prof (bench/out/sse-fanout/r<run>/*.cpuprofile; read
// it with bench/lib/cpuprofile-top.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, get, type IncomingMessage } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMsOf, load, load1, machine, median, pct, ROOT, sleep, startServe, track, type Serve } from './lib/serve-proc.js';

function opt(name: string, dflt: string): string {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
}

const now = () => performance.timeOrigin + performance.now();

interface Watcher {
  seqs: number[];
  delays: number[];
  recvAt: Map<number, number>;
  statuses: string[];
  ended: boolean;
  error?: string;
  firstStatus: Promise<void>;
}

function watch(url: string, token: string, agent: Agent, onStatus: () => void): Watcher {
  const w: Watcher = { seqs: [], delays: [], recvAt: new Map(), statuses: [], ended: false, firstStatus: Promise.resolve() };
  let gotFirst: () => void = () => undefined;
  w.firstStatus = new Promise<void>((r) => (gotFirst = r));
  const req = get(url, { agent, headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } }, (res: IncomingMessage) => {
    if (res.statusCode !== 200) {
      w.error = `HTTP ${res.statusCode}`;
      res.resume();
      gotFirst();
      return;
    }
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk: string) => {
      const at = now(); // before any parsing
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (event === 'progress') {
          const ev = JSON.parse(data) as { sequence: number; timestamp: string };
          w.seqs.push(ev.sequence);
          w.delays.push(at - Date.parse(ev.timestamp));
          w.recvAt.set(ev.sequence, at);
        } else if (event === 'status') {
          w.statuses.push((JSON.parse(data) as { status: string }).status);
          if (w.statuses.length === 1) {
            gotFirst();
            onStatus();
          }
        }
      }
    });
    res.on('end', () => {
      w.ended = true;
    });
  });
  req.on('error', (err) => {
    w.error = err.message;
    gotFirst();
  });
  return w;
}

async function api<T>(s: Serve, method: string, path: string, body?: unknown): Promise<T> {
  const r = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${s.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const sleepJob = (seconds: number) => ({ version: '1.0', kind: 'VMOperation', operation: 'test.sleep', payload: { type: 'test.sleep.v1', data: { seconds } } });

interface RunResult {
  connectMs: number;
  events: number;
  deliveries: number;
  p50: number;
  p99: number;
  max: number;
  spreadP50: number;
  spreadMax: number;
  complete: number;
  problems: string[];
  serverCpuMs: number;
  load1: number;
  loadReqs?: number;
}

async function runOnce(run: number, watchers: number, seconds: number, loadConns: number, root: string | undefined, profile: boolean): Promise<RunResult> {
  const dir = join('/dev/shm', `gk-sse-bench-${process.pid}`);
  const outDir = join(ROOT, 'bench', 'out', 'sse-fanout', `r${run}`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const serve = await startServe({ root, dataDir: join(dir, 'data'), outDir, env: { GUESTKIT_TEST_HANDLERS: '1' }, maxConcurrent: 1, cpuProf: profile });
  let loader: ChildProcess | undefined;
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const blocker = await api<{ job: { job_id: string } }>(serve, 'POST', '/jobs', sleepJob(3600));
    // the blocker must hold the slot before the busy job is queued
    for (let i = 0; i < 200; i++) {
      const j = await api<{ status: string }>(serve, 'GET', `/jobs/${blocker.job.job_id}`);
      if (j.status === 'running') break;
      await sleep(25);
    }
    const busy = await api<{ job: { job_id: string } }>(serve, 'POST', '/jobs', sleepJob(seconds));
    const id = busy.job.job_id;
    const url = `${serve.url}/api/v1/jobs/${id}/events`;
    const t0 = now();
    let connected = 0;
    const ws: Watcher[] = [];
    for (let i = 0; i < watchers; i++) {
      ws.push(watch(url, serve.token, agent, () => connected++));
      if (i % 100 === 99) await sleep(5); // let the accept queue drain
    }
    await Promise.all(ws.map((w) => w.firstStatus));
    const connectMs = now() - t0;
    const failed = ws.filter((w) => w.error);
    if (loadConns > 0) {
      const body = JSON.stringify({ version: '1.0', kind: 'VMOperation', operation: 'system.echo', payload: { type: 'system.echo.v1', data: { message: 'x' } } });
      loader = spawn(
        process.execPath,
        [join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), '-c', String(loadConns), '-d', String(seconds + 5), '-m', 'POST', '-H', `authorization=Bearer ${serve.token}`, '-H', 'content-type=application/json', '-b', body, '-j', `${serve.url}/api/v1/jobs`],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      track(loader);
      await sleep(1000);
    }
    const cpu0 = cpuMsOf(serve.pid);
    await api(serve, 'POST', `/jobs/${blocker.job.job_id}/cancel`);
    // the busy job runs `seconds`, then its final status ends every stream
    const until = now() + (seconds + 60) * 1000;
    while (ws.some((w) => !w.ended && !w.error) && now() < until) await sleep(100);
    const serverCpuMs = cpuMsOf(serve.pid) - cpu0;
    let loadReqs: number | undefined;
    if (loader) {
      const out = await new Promise<string>((resolve) => {
        let s = '';
        loader!.stdout!.on('data', (d: Buffer) => (s += d.toString()));
        loader!.once('exit', () => resolve(s));
      });
      try {
        loadReqs = (JSON.parse(out) as { requests: { average: number } }).requests.average;
      } catch {
        /* no summary */
      }
      loader = undefined;
    }
    const stored = (await api<{ items: { sequence: number }[] }>(serve, 'GET', `/jobs/${id}/events`)).items.map((e) => e.sequence);
    const problems: string[] = [];
    if (failed.length) problems.push(`${failed.length} watchers failed (${failed[0]!.error})`);
    let complete = 0;
    for (const [i, w] of ws.entries()) {
      if (w.error) continue;
      const same = w.seqs.length === stored.length && w.seqs.every((s, k) => s === stored[k]);
      const final = w.statuses[w.statuses.length - 1];
      if (same && final === 'completed' && w.ended) complete++;
      else if (problems.length < 5) problems.push(`watcher ${i}: ${w.seqs.length}/${stored.length} events${same ? '' : ' (missing or out of order)'}, last status ${final}, ended ${w.ended}`);
    }
    const delays = ws.flatMap((w) => w.delays);
    const spreads = stored.map((seq) => {
      const ts = ws.map((w) => w.recvAt.get(seq)).filter((t): t is number => t !== undefined);
      return ts.length ? Math.max(...ts) - Math.min(...ts) : NaN;
    });
    return {
      connectMs,
      events: stored.length,
      deliveries: delays.length,
      p50: pct(delays, 50),
      p99: pct(delays, 99),
      max: Math.max(...delays),
      spreadP50: pct(spreads, 50),
      spreadMax: Math.max(...spreads),
      complete,
      problems,
      serverCpuMs,
      load1: load1(),
      loadReqs,
    };
  } finally {
    loader?.kill('SIGKILL');
    agent.destroy();
    await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const watchers = Number(opt('watchers', '1000'));
  const seconds = Number(opt('seconds', '20'));
  const runs = Number(opt('runs', '3'));
  const loadConns = Number(opt('load', '0'));
  const root = opt('guestkit-root', '') || undefined;
  const profile = process.argv.includes('--profile');
  console.log(
    `sse fan-out — ${watchers} watchers on one test.sleep ${seconds} s job (~1 progress event/s), median of ${runs} runs; guestkit serve compiled (dist)${root ? ` from ${root}` : ''}, tmpfs data folder${loadConns ? `, with ${loadConns} autocannon connections posting echo jobs meanwhile` : ', no other load on the server'}`,
  );
  console.log(`machine: ${machine()}, load average ${load()}`);
  const rs: RunResult[] = [];
  for (let run = 1; run <= runs; run++) {
    const r = await runOnce(run, watchers, seconds, loadConns, root, profile);
    rs.push(r);
    console.log(
      `  run ${run}: connect ${r.connectMs.toFixed(0)} ms, ${r.events} events × ${watchers} = ${r.deliveries} deliveries; delay p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(1)} ms; first→last watcher p50 ${r.spreadP50.toFixed(1)} max ${r.spreadMax.toFixed(1)} ms; complete & in order ${r.complete}/${watchers}; serve CPU ${r.serverCpuMs.toFixed(0)} ms${r.loadReqs !== undefined ? `; posts ${r.loadReqs.toFixed(0)}/s meanwhile` : ''}; load ${r.load1.toFixed(2)}${r.problems.length ? `\n    problems: ${r.problems.join('; ')}` : ''}`,
    );
  }
  const m = (f: (r: RunResult) => number) => median(rs.map(f)).toFixed(1);
  console.log(
    `median: delay p50 ${m((r) => r.p50)} ms, p99 ${m((r) => r.p99)} ms, max ${m((r) => r.max)} ms; first→last watcher spread p50 ${m((r) => r.spreadP50)} ms; connect ${m((r) => r.connectMs)} ms; complete & in order ${rs.map((r) => `${r.complete}/${watchers}`).join(', ')}; load ${Math.min(...rs.map((r) => r.load1)).toFixed(1)}–${Math.max(...rs.map((r) => r.load1)).toFixed(1)} (now ${load()})`,
  );
}

await main();
