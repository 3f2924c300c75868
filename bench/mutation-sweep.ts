// Whole-pipeline mutation sweep: the real fixture images (every image format, partition and
// volume layout, filesystem and OS family under test/fixtures/out), each copied once to a
// scratch file, a few bytes flipped per iteration in the regions a clean inspection of that
// image reads (headers, tables, superblocks, inodes, directories, the guest files the
// collectors read), then open → volumes → filesystems → inspect (`inspect({ disks })`).
// Each outcome is success or a typed error (GuestkitError / FsError, by code); anything else
// (an untyped exception, a collector bug, a hang, a process that dies) is a finding, written
// with the exact mutation so it can be replayed (`--only N`).
//
// Deterministic: iteration N always mutates the same image the same way (seed, N). Resumable:
// outcomes are appended to a JSONL file and done iterations are skipped; run in chunks with
// --start/--count. Inspections run in a child process the parent restarts after a hang
// (--timeout-ms) or a crash; the child resets and reads VmHWM around each inspection.
//
// Run: node --import tsx bench/mutation-sweep.ts [--count=10000] [--start=0] [--seed=17]
//        [--max-bytes=8] [--out=bench/out/mutation-sweep] [--timeout-ms=60000] [--only=N] [--list] [--summary]
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync, appendFileSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(repo, 'test', 'fixtures', 'out');
const args = process.argv.slice(2);
const opt = (name: string, def?: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const flag = (name: string) => args.includes(`--${name}`);

const SEED = Number(opt('seed', '17'));
const OUT = opt('out', join(repo, 'bench', 'out', 'mutation-sweep'))!;
const TIMEOUT_MS = Number(opt('timeout-ms', '60000'));
/** Bytes flipped per iteration: 1 to this many. */
const MAX_BYTES = Number(opt('max-bytes', '8'));

/** One guest: its disks in order; `mutable` are the ones bytes are flipped in. */
interface Guest {
  name: string;
  disks: string[];
}

/** Every fixture guest, in a fixed order (the iteration → guest mapping must not move). */
function guests(): Guest[] {
  const out: Guest[] = [];
  const files = (dir: string, re: RegExp) => (existsSync(join(fixtures, dir)) ? readdirSync(join(fixtures, dir)).filter((f) => re.test(f)).sort().map((f) => join(fixtures, dir, f)) : []);
  const single = (dir: string, re: RegExp, skip: RegExp = /^$/) => {
    for (const f of files(dir, re)) if (!skip.test(basename(f)) && statSync(f).isFile()) out.push({ name: `${dir}/${basename(f)}`, disks: [f] });
  };
  single('inspect', /\.(qcow2|img)$/);
  single('inspect-guests', /\.qcow2$/);
  single('inspect-layouts', /\.qcow2$/, /^multi-[ab]\.qcow2$/);
  const multi = files('inspect-layouts', /^multi-[ab]\.qcow2$/);
  if (multi.length === 2) out.push({ name: 'inspect-layouts/multi-a+b', disks: multi });
  single('windows', /\.(qcow2|img|vmdk)$/);
  single('disk-formats', /\.(vhd|vhdx|vmdk|vdi|ova)$/);
  single('disk', /\.qcow2$/);
  single('fs-ext', /\.img$/);
  single('fs-ntfs', /\.img$/);
  single('fs-xfs-btrfs', /\.img$/);
  single('flatcar', /\.img$/);
  single('nixos', /\.img$/);
  single('ostree', /\.img$/);
  single('beside-pm', /\.qcow2$/);
  single('compare', /\.qcow2$/);
  single('cli', /^(garbage|empty)\.img$/);
  for (const d of existsSync(join(fixtures, 'volume')) ? readdirSync(join(fixtures, 'volume')).sort() : []) {
    const imgs = files(`volume/${d}`, /\.(img|vmdk)$/).filter((f) => !/-f\d+\.vmdk$/.test(f));
    if (d === 'gpt' || d === 'probe') for (const f of imgs) out.push({ name: `volume/${d}/${basename(f)}`, disks: [f] });
    else if (imgs.length) out.push({ name: `volume/${d}`, disks: imgs });
  }
  for (const d of existsSync(join(fixtures, 'md')) ? readdirSync(join(fixtures, 'md')).sort() : []) {
    const imgs = files(`md/${d}`, /\.img$/);
    if (imgs.length) out.push({ name: `md/${d}`, disks: imgs });
  }
  return out;
}

/** xorshift32 seeded from (seed, iteration): the same mutation for the same iteration, every run. */
function rng(seed: number, n: number): () => number {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35)) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

interface Mutation {
  disk: number;
  offset: number;
  from: number;
  to: number;
}
interface Outcome {
  i: number;
  guest: string;
  outcome: 'success' | 'typed' | 'finding';
  code?: string;
  ms?: number;
  rss_mb?: number;
  hwm_mb?: number;
  os?: number;
  mutations?: Mutation[];
  error?: string;
}

// ---------------------------------------------------------------- child: runs inspections
if (process.env.GK_SWEEP_CHILD) {
  const { inspect } = await import('../src/inspect/index.js');
  const { isCollectorBug } = await import('../src/inspect/faults.js');
  const { FileSource } = await import('../src/disk/file-source.js');
  const { GuestkitError } = await import('../src/protocol/errors.js');
  const { FsError } = await import('../src/fs/errors.js');
  const all = guests();
  const scratchRoot = join('/dev/shm', `gk-sweep-${process.pid}`);
  let current: { guest: Guest; scratch: string[]; regions: { path: string; off: number; len: number }[][] } | undefined;

  const hwmReset = () => {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      /* not permitted: VmHWM is the process peak then */
    }
  };
  const vmHwmMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

  /** Copies a guest's disks (siblings linked, so backing files and extents resolve) and records what a clean inspection reads. */
  async function prepare(g: Guest): Promise<NonNullable<typeof current>> {
    rmSync(scratchRoot, { recursive: true, force: true });
    const scratch: string[] = [];
    for (const [k, disk] of g.disks.entries()) {
      const dir = join(scratchRoot, String(k));
      mkdirSync(dir, { recursive: true });
      for (const sib of readdirSync(dirname(disk))) if (sib !== basename(disk)) symlinkSync(join(dirname(disk), sib), join(dir, sib));
      const copy = join(dir, basename(disk));
      copyFileSync(disk, copy);
      scratch.push(copy);
    }
    const regions: { path: string; off: number; len: number }[][] = scratch.map(() => []);
    const orig = FileSource.prototype.read;
    FileSource.prototype.read = function (this: { path: string; size: number }, offset: number, length: number, zero?: boolean) {
      const k = scratch.indexOf(this.path);
      if (k >= 0 && length > 0 && regions[k]!.length < 200_000) regions[k]!.push({ path: this.path, off: offset, len: Math.min(length, Math.max(0, this.size - offset)) });
      return orig.call(this, offset, length, zero);
    };
    try {
      await inspect({ disks: scratch }).catch(() => undefined);
    } finally {
      FileSource.prototype.read = orig;
    }
    // files the clean run did not read at all (an unrecognised image) still get their head mutated
    for (const [k, path] of scratch.entries()) {
      const size = statSync(path).size;
      regions[k] = regions[k]!.filter((r) => r.len > 0 && r.off < size);
      if (regions[k]!.length === 0 && size > 0) regions[k]!.push({ path, off: 0, len: Math.min(size, 1 << 20) });
    }
    return { guest: g, scratch, regions };
  }

  function mutations(i: number, c: NonNullable<typeof current>): Mutation[] {
    const r = rng(SEED, i);
    const n = 1 + Math.floor(r() * MAX_BYTES);
    const out: Mutation[] = [];
    const disks = c.scratch.map((_, k) => k).filter((k) => c.regions[k]!.length > 0);
    if (disks.length === 0) return out;
    for (let j = 0; j < n; j++) {
      const disk = disks[Math.floor(r() * disks.length)]!;
      const regs = c.regions[disk]!;
      // reads of whole clusters and blocks hold much zero padding: a nonzero byte (a field in
      // use) is preferred, up to 8 draws
      let offset = 0;
      for (let tries = 0; tries < 8; tries++) {
        const reg = regs[Math.floor(r() * regs.length)]!;
        offset = reg.off + Math.floor(r() * reg.len);
        if (byteAt(c.scratch[disk]!, offset) !== 0) break;
      }
      const kind = r();
      // a random byte, a bit flip, or a boundary value (0, 0xff, 0x80, 0x7f)
      const to = kind < 0.4 ? Math.floor(r() * 256) : kind < 0.8 ? -1 - Math.floor(r() * 8) : [0, 0xff, 0x80, 0x7f][Math.floor(r() * 4)]!;
      out.push({ disk, offset, from: 0, to });
    }
    return out;
  }

  function byteAt(path: string, offset: number): number {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, offset);
      return b[0]!;
    } finally {
      closeSync(fd);
    }
  }

  function apply(c: NonNullable<typeof current>, ms: Mutation[]): void {
    for (const m of ms) {
      const fd = openSync(c.scratch[m.disk]!, 'r+');
      try {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, m.offset);
        m.from = b[0]!;
        const to = m.to < 0 ? b[0]! ^ (1 << (-1 - m.to)) : m.to;
        m.to = to;
        writeSync(fd, Buffer.from([to]), 0, 1, m.offset);
      } finally {
        closeSync(fd);
      }
    }
  }

  function undo(c: NonNullable<typeof current>, ms: Mutation[]): void {
    for (const m of [...ms].reverse()) {
      const fd = openSync(c.scratch[m.disk]!, 'r+');
      try {
        writeSync(fd, Buffer.from([m.from]), 0, 1, m.offset);
      } finally {
        closeSync(fd);
      }
    }
  }

  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const i = Number(line);
    const g = all[i % all.length]!;
    if (current?.guest !== g) current = await prepare(g);
    const ms = mutations(i, current);
    apply(current, ms);
    process.stdout.write(`START ${i} ${JSON.stringify(ms)}\n`);
    hwmReset();
    const t = performance.now();
    let o: Outcome;
    try {
      const r = await inspect({ disks: current.scratch });
      o = { i, guest: g.name, outcome: 'success', os: r.operating_systems.length };
    } catch (err) {
      if (isCollectorBug(err) || !(err instanceof GuestkitError || err instanceof FsError)) {
        o = { i, guest: g.name, outcome: 'finding', error: String((err as Error)?.stack ?? err).slice(0, 4000) };
      } else {
        o = { i, guest: g.name, outcome: 'typed', code: err instanceof GuestkitError ? err.code : `FsError:${err.code}` };
      }
    }
    o.ms = Math.round((performance.now() - t) * 10) / 10;
    o.rss_mb = Math.round(process.memoryUsage().rss / 1048576);
    o.hwm_mb = Math.round(vmHwmMb());
    o.mutations = ms.map((m) => ({ ...m }));
    undo(current, ms);
    process.stdout.write(`DONE ${JSON.stringify(o)}\n`);
  }
  rmSync(scratchRoot, { recursive: true, force: true });
  process.exit(0);
}

// ---------------------------------------------------------------- parent: schedules, times out, records
const all = guests();
if (flag('list')) {
  all.forEach((g, k) => console.log(k, g.name, g.disks.length > 1 ? `(${g.disks.length} disks)` : ''));
  process.exit(0);
}
mkdirSync(OUT, { recursive: true });
const results = join(OUT, `outcomes-seed${SEED}${MAX_BYTES === 8 ? '' : `-bytes${MAX_BYTES}`}.jsonl`);
const done = new Map<number, Outcome>();
if (existsSync(results)) {
  for (const l of readFileSync(results, 'utf8').split('\n')) {
    if (!l) continue;
    const o = JSON.parse(l) as Outcome;
    done.set(o.i, o);
  }
}

function summary(): void {
  const os = [...done.values()];
  const by = (f: (o: Outcome) => string) => os.reduce<Record<string, number>>((m, o) => ((m[f(o)] = (m[f(o)] ?? 0) + 1), m), {});
  const slowest = os.reduce<Outcome | undefined>((a, o) => (o.ms !== undefined && (!a || o.ms > a.ms!) ? o : a), undefined);
  const hwm = os.reduce<Outcome | undefined>((a, o) => (o.hwm_mb !== undefined && (!a || o.hwm_mb > a.hwm_mb!) ? o : a), undefined);
  const rss = Math.max(0, ...os.map((o) => o.rss_mb ?? 0));
  console.log(
    JSON.stringify({
      seed: SEED,
      max_bytes: MAX_BYTES,
      iterations: os.length,
      guests: all.length,
      outcomes: by((o) => o.outcome),
      typed_codes: by((o) => (o.outcome === 'typed' ? o.code! : o.outcome)),
      findings: os.filter((o) => o.outcome === 'finding').map((o) => ({ i: o.i, guest: o.guest, code: o.code, error: o.error?.split('\n').slice(0, 3).join(' | ') })),
      max_ms: slowest ? { ms: slowest.ms, i: slowest.i, guest: slowest.guest } : null,
      max_vmhwm_mb: hwm ? { mb: hwm.hwm_mb, i: hwm.i, guest: hwm.guest } : null,
      max_rss_after_mb: rss,
    }),
  );
}
if (flag('summary')) {
  summary();
  process.exit(0);
}

const only = opt('only');
const start = Number(opt('start', '0'));
const count = Number(opt('count', '10000'));
// in guest order, so each scratch copy is made once per chunk
const todo = (only !== undefined ? [Number(only)] : Array.from({ length: count }, (_, k) => start + k).filter((i) => !done.has(i))).sort(
  (a, b) => (a % all.length) - (b % all.length) || a - b,
);
console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${all.length} guests; ${todo.length} iterations to run (seed ${SEED}); outcomes in ${results}`);

let next = 0;
const t0 = Date.now();
while (next < todo.length) {
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, '--max-old-space-size=3072', fileURLToPath(import.meta.url), ...args], {
      env: { ...process.env, GK_SWEEP_CHILD: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let running: { i: number; ms: string; at: number } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const feed = () => {
      if (next >= todo.length) {
        child.stdin.end();
        return;
      }
      child.stdin.write(`${todo[next++]}\n`);
    };
    const record = (o: Outcome) => {
      if (only === undefined) appendFileSync(results, JSON.stringify(o) + '\n');
      done.set(o.i, o);
      if (o.outcome === 'finding' || only !== undefined) console.log(JSON.stringify(o));
      if (done.size % 100 === 0) process.stderr.write(`${done.size} done, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('START ')) {
        const [, i, ms] = /^START (\d+) (.*)$/.exec(line)!;
        running = { i: Number(i), ms: ms!, at: Date.now() };
        clearTimeout(timer);
        // a hang: the child is stopped and restarted with the next iteration
        timer = setTimeout(() => {
          record({ i: running!.i, guest: all[running!.i % all.length]!.name, outcome: 'finding', code: 'HANG', ms: TIMEOUT_MS, mutations: JSON.parse(running!.ms), error: `no answer in ${TIMEOUT_MS} ms` });
          running = undefined;
          child.kill('SIGKILL');
        }, TIMEOUT_MS);
      } else if (line.startsWith('DONE ')) {
        clearTimeout(timer);
        running = undefined;
        record(JSON.parse(line.slice(5)) as Outcome);
        feed();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (running) {
        // died mid-inspection (out of memory, a native crash): a finding
        record({ i: running.i, guest: all[running.i % all.length]!.name, outcome: 'finding', code: `EXIT_${signal ?? code}`, mutations: JSON.parse(running.ms), error: `child exited (${signal ?? code}) mid-inspection` });
      }
      resolve();
    });
    feed();
  });
}
summary();
