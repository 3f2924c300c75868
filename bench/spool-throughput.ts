// Echo jobs through the file spool: `guestkit worker` side by side with the naive reference
// spool (bench/naive-spool.ts: claim by rename, parse, write the result, no store — the upper
// bound a durable spool can approach), with 1 and 2 workers on one folder, on tmpfs and on
// ext4, in the same run (engines alternate run by run, so load drift hits both alike):
//  burst  — N files appear at once (renamed in from a staging folder on the same filesystem,
//           so the submitter's own writes do not compete with the workers for the cores):
//           jobs/s until the last result file exists (its mtime), worker CPU per job (user+sys
//           of the worker processes from /proc/<pid>/stat), drop→result latency (mostly queueing)
//           and how long the renames took (the submitter must not be the bottleneck);
//  paced  — files arrive at a steady RATE per second: drop→result latency p50/p99 (from the
//           rename into jobs/ to the bench's fs.watch seeing the result file) when the workers
//           keep up, and CPU per job at that pace. Burst latency uses result mtimes (kernel
//           coarse clock, up to one tick early — negligible next to its queueing).
// guestkit's store (--data-dir) lives on the same filesystem as the spool. tmpfs: a tmpfs
// mounted at /tmp/gk-bench-tmpfs (mounted here when root and not mounted yet; else /dev/shm).
// ext4: bench/out when it is ext4, else (or with --ext4-loop) a 1 GiB ext4 image loop-mounted
// at bench/out/ext4-mnt. ext4's inode reuse makes file-creation rates swing up to 5x between
// runs: use several runs and read the medians. Prints a table with the team's targets beside
// the figures, and the machine (cores, CPU model, load average — other work moves these
// numbers a lot).
// Runs the workers from the sources (tsx) so it measures the code as it is; --dist runs the
// compiled guestkit worker (npm run build first; the naive spool always runs with tsx);
// --guestkit-root=DIR runs the worker of another checkout (e.g. `git archive HEAD` extracted
// with a node_modules symlink) while this tree is mid-edit. A cell whose worker fails to
// start is marked * and the rest of the run goes on.
// Usage: node --import tsx bench/spool-throughput.ts [jobs=4000] [runs=3] [rate=500] [--dist]
//          [--no-burst|--no-paced] [--one-only|--two-only] [--fs=tmpfs|ext4|both]
//          [--engine=guestkit|naive|both] [--ext4-loop] [--guestkit-root=DIR] [--warm=N]
// --warm=N: each run's workers first take N jobs (default 20, only to know they are up), so
// the measured burst meets a hot path V8 has compiled, as in a daemon that has run a while;
// without it a fresh worker's first thousands of jobs also pay for the JIT's warm-up.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 4000);
const RUNS = Number(args[1] ?? 3);
const RATE = Number(args[2] ?? 500);
const flag = (name: string) => process.argv.includes(`--${name}`);
function choice<T extends string>(name: string, allowed: readonly T[], dflt: T): T {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  const v = (a ? a.slice(name.length + 3) : dflt) as T;
  if (!allowed.includes(v)) throw new Error(`--${name}=${v}: expected one of ${allowed.join(', ')}`);
  return v;
}
// jobs each worker set runs before the measured burst (default 20: only that it is up)
const WARM_ARG = process.argv.find((a) => a.startsWith('--warm='))?.slice('--warm='.length);
const WARM_JOBS = WARM_ARG === undefined ? 20 : Number(WARM_ARG);
if (!Number.isInteger(WARM_JOBS) || WARM_JOBS < 1) throw new Error(`--warm=${WARM_ARG}: expected a whole number of jobs, at least 1`);
const FS_CHOICE = choice('fs', ['tmpfs', 'ext4', 'both'] as const, 'both');
const ENGINE_CHOICE = choice('engine', ['guestkit', 'naive', 'both'] as const, 'both');
// --guestkit-root=DIR: the guestkit checkout whose worker runs (default: this one), e.g. a
// `git archive HEAD` extracted elsewhere (with a node_modules link) while this tree is mid-edit
const gkRootArg = process.argv.find((a) => a.startsWith('--guestkit-root='));
const GK_ROOT = gkRootArg ? realpathSync(gkRootArg.slice('--guestkit-root='.length)) : ROOT;
const compiled = flag('dist') && existsSync(join(GK_ROOT, 'dist', 'src', 'cli', 'run.js'));
if (flag('dist') && !compiled) console.log('--dist: dist/src/cli/run.js is missing (npm run build); running the sources with tsx');
// the node flags the `guestkit` command runs with (bin/guestkit.js's shebang), unless BENCH_BIN_FLAGS=0
const binFile = join(GK_ROOT, 'bin', 'guestkit.js');
const binFlags = process.env.BENCH_BIN_FLAGS === '0' || !existsSync(binFile) ? [] : (/^#!.*?\bnode\b(.*)$/m.exec(readFileSync(binFile, 'utf8'))?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
const gkEntry = [...binFlags, ...(compiled ? [join(GK_ROOT, 'dist', 'src', 'cli', 'run.js')] : ['--import', 'tsx', join(GK_ROOT, 'src', 'cli', 'run.ts')])];
const gkWhat = `${compiled ? 'compiled (dist)' : 'tsx'}${GK_ROOT === ROOT ? '' : ` from ${GK_ROOT}`}${binFlags.length ? `, node ${binFlags.join(' ')} (the guestkit command's flags)` : ''}`;
const naiveEntry = ['--import', 'tsx', join(ROOT, 'bench', 'naive-spool.ts')];

type Engine = 'guestkit' | 'naive';
type FsKind = 'tmpfs' | 'ext4';
type Mode = 'burst' | 'paced';

// the team's goals, printed beside the figures
const TARGET = { cpuMsPerJob: 0.2, ratio: 0.3, scaling: 1.6, p99Ms: 20, p99Rate: 500 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function doc(id: string) {
  return JSON.stringify({
    version: '1.0',
    job_id: id,
    created_at: '2026-01-30T16:00:00Z',
    kind: 'VMOperation',
    operation: 'system.echo',
    payload: { type: 'system.echo.v1', data: { message: 'hello', id } },
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const median = (xs: number[]) => pct(xs, 50);

// ---------------------------------------------------------------- filesystems

interface Mount {
  mountPoint: string;
  fstype: string;
  source: string;
}

/** The mount a path lives on (longest mount point prefix in /proc/self/mountinfo). */
function mountOf(path: string): Mount {
  const real = realpathSync(path);
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best: Mount = { mountPoint: '', fstype: '?', source: '?' };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mp = unescape(pre.split(' ')[4]!);
    const [fstype, source] = post.split(' ');
    const under = mp === '/' || real === mp || real.startsWith(mp + '/');
    if (under && mp.length >= best.mountPoint.length) best = { mountPoint: mp, fstype: fstype!, source: source! };
  }
  return best;
}

interface Place {
  fs: FsKind;
  /** Folder the runs create their spools under. */
  dir: string;
  note: string;
  /** Unmounts what this bench mounted. */
  release(): void;
}

const sh = (cmd: string, argv: string[]) => execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });

function tmpfsPlace(): Place {
  const mnt = '/tmp/gk-bench-tmpfs';
  let mounted = false;
  let base: string | undefined;
  if (existsSync(mnt) && mountOf(mnt).fstype === 'tmpfs') base = mnt;
  else {
    try {
      mkdirSync(mnt, { recursive: true });
      sh('mount', ['-t', 'tmpfs', '-o', 'size=1g', 'tmpfs', mnt]);
      mounted = true;
      base = mnt;
    } catch (err) {
      if (existsSync('/dev/shm') && mountOf('/dev/shm').fstype === 'tmpfs') base = '/dev/shm';
      else throw new Error(`no tmpfs: mounting ${mnt} failed (${String(err).split('\n')[0]}) and /dev/shm is not tmpfs`);
    }
  }
  const dir = join(base, 'gk-spool-bench');
  mkdirSync(dir, { recursive: true });
  return {
    fs: 'tmpfs',
    dir,
    note: `tmpfs ${mountOf(dir).mountPoint}${mounted ? ' (mounted by the bench)' : ''}`,
    release() {
      rmSync(dir, { recursive: true, force: true });
      if (mounted) sh('umount', [mnt]);
    },
  };
}

function ext4Place(): Place {
  const out = join(ROOT, 'bench', 'out');
  mkdirSync(out, { recursive: true });
  const here = mountOf(out);
  if (here.fstype === 'ext4' && !flag('ext4-loop')) {
    const dir = join(out, 'spool');
    mkdirSync(dir, { recursive: true });
    return { fs: 'ext4', dir, note: `ext4 bench/out (${here.source} on ${here.mountPoint}, shared with the rest of the machine)`, release: () => rmSync(dir, { recursive: true, force: true }) };
  }
  const img = join(out, 'ext4.img');
  const mnt = join(out, 'ext4-mnt');
  mkdirSync(mnt, { recursive: true });
  let mounted = false;
  if (mountOf(mnt).mountPoint !== realpathSync(mnt)) {
    rmSync(img, { force: true });
    sh('truncate', ['-s', '1G', img]);
    sh('mkfs.ext4', ['-q', '-F', img]);
    sh('mount', ['-o', 'loop', img, mnt]);
    mounted = true;
  }
  const m = mountOf(mnt);
  if (m.fstype !== 'ext4') throw new Error(`${mnt} is ${m.fstype}, not ext4`);
  const dir = join(mnt, 'spool');
  mkdirSync(dir, { recursive: true });
  return {
    fs: 'ext4',
    dir,
    note: `ext4 1 GiB image loop-mounted at bench/out/ext4-mnt (${m.source}, image on ${here.fstype})`,
    release() {
      rmSync(dir, { recursive: true, force: true });
      if (mounted) {
        sh('umount', [mnt]);
        rmSync(img, { force: true });
      }
    },
  };
}

// ---------------------------------------------------------------- one run

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of a process so far (Linux /proc; all its threads), in ms. */
function cpuMs(p: ChildProcess): number {
  try {
    const f = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface RunResult {
  jobsPerSec: number;
  p50: number;
  p99: number;
  cpuPerJob: number;
  load1: number;
  /** burst: how long renaming the N files in took */
  dropMs: number;
}

function countResults(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('-result.json')) n++;
  return n;
}

async function waitCount(dir: string, n: number, timeoutMs: number, procs: ChildProcess[], everyMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (countResults(dir) >= n) return;
    const dead = procs.find((p) => p.exitCode !== null || p.signalCode !== null);
    if (dead) throw new Error(`worker pid ${dead.pid} exited (${dead.exitCode ?? dead.signalCode}) with ${countResults(dir)}/${n} results`);
    await sleep(everyMs);
  }
  throw new Error(`timed out: only ${countResults(dir)}/${n} results in ${dir}`);
}

function spawnWorker(engine: Engine, w: number, jobs: string, results: string, state: string): ChildProcess {
  const argv =
    engine === 'guestkit'
      ? [...gkEntry, 'worker', '--worker-id', `bench-${w}`, '--jobs-dir', jobs, '--results-dir', results, '--data-dir', state, '--log-level', 'warn', '--max-concurrent', String(cpus().length)]
      : [...naiveEntry, '--worker-id', `naive-${w}`, '--jobs-dir', jobs, '--results-dir', results, '--poll-ms', '200'];
  return spawn(process.execPath, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GUESTKIT_SPOOL_POLL_MS: '200' },
  });
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
  await Promise.all(
    procs.map(async (p) => {
      if (exited(p)) return;
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }),
  );
}

async function run(engine: Engine, workers: number, mode: Mode, place: Place): Promise<RunResult> {
  const root = join(place.dir, `${engine}-${workers}w`);
  rmSync(root, { recursive: true, force: true });
  const jobs = join(root, 'jobs');
  const results = join(root, 'results');
  const staging = join(root, 'staging');
  for (const d of [jobs, results, staging]) mkdirSync(d, { recursive: true });
  const procs: ChildProcess[] = [];
  for (let w = 0; w < workers; w++) procs.push(spawnWorker(engine, w, jobs, results, join(root, 'state')));
  try {
    // warm-up: every worker is up once a few jobs came back (--warm=N: N jobs, so V8 has
    // compiled the hot path before the measured burst, as in a daemon that has run a while)
    const WARM = WARM_JOBS;
    for (let i = 0; i < WARM; i++) {
      writeFileSync(join(staging, `warm-${i}.json`), doc(`warmup-${String(i).padStart(6, '0')}`));
      renameSync(join(staging, `warm-${i}.json`), join(jobs, `warm-${i}.json`));
    }
    await waitCount(results, WARM, 120_000, procs, 20);
    await sleep(300);
    const ids = Array.from({ length: N }, (_, i) => `job-${String(i).padStart(6, '0')}`);
    for (const id of ids) writeFileSync(join(staging, `${id}.json`), doc(id));
    const dropped = new Map<string, number>();
    // paced: when the bench sees each result appear (what a submitter watching results/ gets);
    // file mtimes come from the kernel's coarse clock (one tick, 4 ms at HZ=250, early), too
    // coarse for a 20 ms p99, so they are only the fallback for results the watcher missed
    const seen = new Map<string, number>();
    const watcher =
      mode === 'paced'
        ? watch(results, (_e, name) => {
            if (typeof name === 'string' && name.endsWith('-result.json') && !seen.has(name)) seen.set(name, performance.now());
          })
        : undefined;
    const cpu0 = procs.map(cpuMs);
    // stamps are performance.now(); wall = the clock of file mtimes (steady over one run)
    const wall = Date.now() - performance.now();
    const t0 = performance.now();
    let dropMs = NaN;
    if (mode === 'burst') {
      for (const id of ids) {
        renameSync(join(staging, `${id}.json`), join(jobs, `${id}.json`));
        dropped.set(id, performance.now());
      }
      dropMs = performance.now() - t0;
    } else {
      let i = 0;
      while (i < N) {
        const due = Math.min(N, Math.floor(((performance.now() - t0) / 1000) * RATE) + 1);
        for (; i < due; i++) {
          renameSync(join(staging, `${ids[i]}.json`), join(jobs, `${ids[i]}.json`));
          dropped.set(ids[i]!, performance.now());
        }
        await sleep(2);
      }
    }
    // the end time is the newest result's mtime, so this poll's period does not bias jobs/s
    await waitCount(results, N + WARM, 300_000, procs, 25);
    watcher?.close();
    const cpuPerJob = procs.reduce((a, p, i) => a + cpuMs(p) - cpu0[i]!, 0) / N;
    const lat: number[] = [];
    let last = t0;
    for (const [id, at] of dropped) {
      const m = statSync(join(results, `${id}-result.json`)).mtimeMs - wall;
      lat.push((seen.get(`${id}-result.json`) ?? m) - at);
      if (m > last) last = m;
    }
    return { jobsPerSec: N / Math.max(1e-3, (last - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99), cpuPerJob, load1: loadavg()[0]!, dropMs };
  } finally {
    await stopAll(procs);
    rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- main

const modes = (['burst', 'paced'] as const).filter((m) => !flag(`no-${m}`));
const workerCounts = flag('two-only') ? [2] : flag('one-only') ? [1] : [1, 2];
const engines: Engine[] = ENGINE_CHOICE === 'both' ? ['guestkit', 'naive'] : [ENGINE_CHOICE];
const fsKinds: FsKind[] = FS_CHOICE === 'both' ? ['tmpfs', 'ext4'] : [FS_CHOICE];
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
const machine = () => `${cpus().length} cores, ${cpuModel}, Linux ${release()}, Node ${process.version}, load average ${load()}`;
const startLoad = load();

console.log(`spool: ${N} echo jobs per run after ${WARM_JOBS} warm-up jobs, ${RUNS} runs, paced at ${RATE}/s; guestkit worker ${gkWhat}, naive spool tsx`);
console.log(`machine: ${machine()}`);

interface Cell {
  runs: RunResult[];
  error?: string;
}
const cells = new Map<string, Cell>();
const key = (e: Engine, fs: FsKind, w: number, m: Mode) => `${e}|${fs}|${w}|${m}`;
const places = new Map<FsKind, Place>();

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');

try {
  for (const fs of fsKinds) {
    try {
      const place = fs === 'tmpfs' ? tmpfsPlace() : ext4Place();
      places.set(fs, place);
      console.log(`${fs}: ${place.note}, spools under ${place.dir}`);
    } catch (err) {
      console.log(`${fs}: unavailable, skipped: ${String(err).split('\n')[0]}`);
    }
  }
  for (const mode of modes) {
    for (const [fs, place] of places) {
      for (const workers of workerCounts) {
        for (let i = 0; i < RUNS; i++) {
          for (const engine of engines) {
            const c = cells.get(key(engine, fs, workers, mode)) ?? { runs: [] };
            cells.set(key(engine, fs, workers, mode), c);
            if (c.error) continue; // an engine that failed to start is not retried in this cell
            try {
              const r = await run(engine, workers, mode, place);
              c.runs.push(r);
              console.log(
                `  ${mode} ${fs} ${workers}w ${engine} run ${i + 1}/${RUNS}: ${f0(r.jobsPerSec)} jobs/s, CPU ${f3(r.cpuPerJob)} ms/job, drop→result p50 ${f1(r.p50)} ms p99 ${f1(r.p99)} ms,${mode === 'burst' ? ` drop took ${f0(r.dropMs)} ms,` : ''} load ${f2(r.load1)}`,
              );
            } catch (err) {
              c.error = String(err).split('\n')[0]!;
              console.log(`  ${mode} ${fs} ${workers}w ${engine} run ${i + 1}/${RUNS}: FAILED: ${c.error}`);
            }
          }
        }
        for (const engine of engines) {
          const c = cells.get(key(engine, fs, workers, mode))!;
          if (!c.runs.length) continue;
          const what = mode === 'burst' ? `burst of ${N}` : `paced ${RATE}/s`;
          console.log(
            `${engine} ${fs} ${what}, ${workers} worker(s): median ${f0(median(c.runs.map((r) => r.jobsPerSec)))} jobs/s (runs ${c.runs.map((r) => f0(r.jobsPerSec)).join(', ')}); drop→result p50 ${f1(median(c.runs.map((r) => r.p50)))} ms, p99 ${f1(median(c.runs.map((r) => r.p99)))} ms; worker CPU ${f3(median(c.runs.map((r) => r.cpuPerJob)))} ms/job; load average ${load()}`,
          );
        }
      }
    }
  }
} finally {
  for (const p of places.values()) {
    try {
      p.release();
    } catch (err) {
      console.log(`cleanup of ${p.dir}: ${String(err).split('\n')[0]}`);
    }
  }
}

// ---------------------------------------------------------------- table

const med = (e: Engine, fs: FsKind, w: number, m: Mode, f: (r: RunResult) => number) => {
  const c = cells.get(key(e, fs, w, m));
  return c?.runs.length ? median(c.runs.map(f)) : NaN;
};
const mark = (ok: boolean | undefined) => (ok === undefined ? ' ' : ok ? '✓' : '✗');
const chk = (x: number, ok: (x: number) => boolean) => (Number.isFinite(x) ? mark(ok(x)) : ' ');
const loadRange = (e: Engine, fs: FsKind, w: number) => {
  const ls = modes.flatMap((m) => cells.get(key(e, fs, w, m))?.runs.map((r) => r.load1) ?? []);
  return ls.length ? `${f1(Math.min(...ls))}–${f1(Math.max(...ls))}` : '—';
};

const head = ['engine', 'fs', 'w', 'burst jobs/s (runs)', 'CPU ms/job', 'g/n', '2w/1w', 'paced p50 / p99 ms', 'paced CPU ms/job', 'load 1m'];
const rows: string[][] = [];
for (const fs of places.keys()) {
  for (const engine of engines) {
    for (const w of workerCounts) {
      const c = cells.get(key(engine, fs, w, 'burst'));
      const jps = med(engine, fs, w, 'burst', (r) => r.jobsPerSec);
      const cpu = med(engine, fs, w, 'burst', (r) => r.cpuPerJob);
      const naive = med('naive', fs, w, 'burst', (r) => r.jobsPerSec);
      const ratio = engine === 'guestkit' ? jps / naive : NaN;
      const one = med(engine, fs, 1, 'burst', (r) => r.jobsPerSec);
      const scaling = w === 2 ? jps / one : NaN;
      const p50 = med(engine, fs, w, 'paced', (r) => r.p50);
      const p99 = med(engine, fs, w, 'paced', (r) => r.p99);
      const pcpu = med(engine, fs, w, 'paced', (r) => r.cpuPerJob);
      const failed = [cells.get(key(engine, fs, w, 'burst'))?.error, cells.get(key(engine, fs, w, 'paced'))?.error].some(Boolean);
      rows.push([
        engine + (failed ? '*' : ''),
        fs,
        String(w),
        c?.runs.length ? `${f0(jps)} (${c.runs.map((r) => f0(r.jobsPerSec)).join(', ')})` : '—',
        `${f3(cpu)} ${engine === 'guestkit' ? chk(cpu, (x) => x <= TARGET.cpuMsPerJob) : ' '}`,
        Number.isFinite(ratio) ? `${f2(ratio)} ${chk(ratio, (x) => x >= TARGET.ratio)}` : '',
        Number.isFinite(scaling) ? `${f2(scaling)} ${engine === 'guestkit' ? chk(scaling, (x) => x >= TARGET.scaling) : ' '}` : '',
        Number.isFinite(p99) ? `${f1(p50)} / ${f1(p99)} ${engine === 'guestkit' && RATE === TARGET.p99Rate ? chk(p99, (x) => x < TARGET.p99Ms) : ' '}` : '—',
        f3(pcpu),
        loadRange(engine, fs, w),
      ]);
    }
  }
}
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const fmt = (r: string[]) => r.map((x, i) => (i < 3 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
console.log('');
console.log(`spool throughput — ${N} echo jobs after ${WARM_JOBS} warm-up jobs, median of ${RUNS} runs, paced at ${RATE}/s; guestkit worker ${gkWhat}`);
console.log(`machine: ${machine()} (at start: ${startLoad})`);
for (const p of places.values()) console.log(`${p.fs}: ${p.note}`);
console.log(fmt(head));
for (const r of rows) console.log(fmt(r));
console.log(
  `targets (guestkit, ✓/✗ beside the figure): CPU ≤ ${TARGET.cpuMsPerJob} ms per echo job; g/n (guestkit/naive burst jobs/s) ≥ ${TARGET.ratio}; 2w/1w ≥ ${TARGET.scaling}; paced p99 drop→result < ${TARGET.p99Ms} ms at ${TARGET.p99Rate} jobs/s`,
);
for (const [k, c] of cells) if (c.error) console.log(`* ${k.replaceAll('|', ' ')}: ${c.error}`);
