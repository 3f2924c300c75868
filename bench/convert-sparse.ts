/**
 * The sparse convert case of issue 14: a 100 GiB qcow2 holding 200 scattered 64 KiB
 * writes (12.5 MiB of data), converted to qcow2 and to sparse raw by guestkit's engine
 * (`convertImage`, in process, the source opened fresh each run) and by `qemu-img convert`
 * (a process, so its figure includes ~10-20 ms of process start). Time should follow the
 * data, not the virtual size. guestkit flushes its output (fsync of the file and its folder)
 * before it reports success; qemu-img convert does not by default (strace shows no fsync), so
 * guestkit is also timed with `durable: false`, which is the like-for-like figure. The same
 * layout on an empty 100 GiB disk (no L2 table at all) shows the cost of the hole scan alone.
 *
 *   node --import tsx bench/convert-sparse.ts [runs=7]
 *
 * Prints the median and the range of `runs` runs after one warm-up run of each, and the
 * machine (cores, CPU model, load average) the figures were taken on.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertImage } from '../src/disk/convert.js';
import { openImage } from '../src/disk/open.js';
import { newReadStats } from '../src/disk/types.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'convert-sparse');
const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 7);

/** A sparse qcow2 of `gib` GiB with `writes` 64 KiB writes spread evenly (made once, kept). */
function prepare(gib: number, writes: number): string {
  mkdirSync(OUT, { recursive: true });
  const p = join(OUT, `sparse-${gib}G-${writes}w.qcow2`);
  if (existsSync(p)) return p;
  const bytes = gib * 2 ** 30;
  execFileSync('qemu-img', ['create', '-f', 'qcow2', `${p}.tmp`, `${gib}G`], { stdio: 'ignore' });
  const cmds: string[] = [];
  for (let i = 0; i < writes; i++) {
    const off = Math.floor(((bytes / writes) * i) / 65536) * 65536 + 65536;
    cmds.push('-c', `write -P ${(i % 250) + 1} ${off} 65536`);
  }
  if (cmds.length > 0) execFileSync('qemu-io', ['-f', 'qcow2', ...cmds, `${p}.tmp`], { stdio: 'ignore' });
  renameSync(`${p}.tmp`, p);
  return p;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms (${s[0]!.toFixed(1)}–${s[s.length - 1]!.toFixed(1)})`;
}

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  let mem = '';
  try {
    mem = `, ${Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1048576)} GiB RAM`;
  } catch {
    // not Linux
  }
  return `${cpus().length} cores (${model})${mem}, Node ${process.version}, qemu-img ${execFileSync('qemu-img', ['--version']).toString().split('\n')[0]!.replace(/^qemu-img version /, '')}`;
}

async function ours(src: string, dst: string, fmt: 'qcow2' | 'raw', durable: boolean): Promise<{ ms: number; read: number }> {
  const st = newReadStats();
  const t = process.hrtime.bigint();
  const dev = await openImage(src, { stats: st });
  try {
    await convertImage(dev, dst, { format: fmt, durable });
  } finally {
    await dev.close();
  }
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, read: st.bytesRead };
}

function qemu(src: string, dst: string, fmt: 'qcow2' | 'raw'): number {
  const t = process.hrtime.bigint();
  execFileSync('qemu-img', ['convert', '-O', fmt, src, dst]);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
  const l0 = loadavg();
  console.log(`convert-sparse: medians of ${RUNS} runs after a warm-up`);
  console.log(`machine: ${machine()}; load average at start ${l0.map((x) => x.toFixed(2)).join(' ')}`);
  for (const [gib, writes] of [
    [100, 200],
    [100, 0],
  ] as const) {
    const src = prepare(gib, writes);
    for (const fmt of ['qcow2', 'raw'] as const) {
      const dst = join(OUT, `out.${fmt}`);
      const g: number[] = [];
      const gn: number[] = [];
      const q: number[] = [];
      let read = 0;
      let size = 0;
      for (let i = -1; i < RUNS; i++) {
        rmSync(dst, { force: true });
        const r = await ours(src, dst, fmt, true);
        size = statSync(dst).blocks * 512;
        rmSync(dst, { force: true });
        const rn = await ours(src, dst, fmt, false);
        rmSync(dst, { force: true });
        const qm = qemu(src, dst, fmt);
        rmSync(dst, { force: true });
        if (i < 0) continue;
        g.push(r.ms);
        gn.push(rn.ms);
        q.push(qm);
        read = r.read;
      }
      console.log(`  ${gib} GiB, ${writes} x 64 KiB -> ${fmt}: ${(read / 1048576).toFixed(1)} MiB read, output ${(size / 1048576).toFixed(1)} MiB allocated`);
      console.log(`    guestkit, fsync       ${stats(g)}`);
      console.log(`    guestkit, no fsync    ${stats(gn)}`);
      console.log(`    qemu-img convert      ${stats(q)}`);
    }
  }
  console.log(`load average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

await main();
