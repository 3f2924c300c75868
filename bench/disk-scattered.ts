/**
 * Open + 100 scattered 4 KiB reads of sparse qcow2 images of 1 GiB, 100 GiB
 * and 4 TiB (each with the same amount of data): time and bytes read should
 * not grow with the virtual size.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openImage } from '../src/disk/open.js';
import { newReadStats } from '../src/disk/types.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');
const RUNS = Number(process.env.BENCH_RUNS ?? 21);

function prepare(size: string, bytes: number): string {
  mkdirSync(OUT, { recursive: true });
  const p = join(OUT, `sparse-${size}.qcow2`);
  if (existsSync(p)) return p;
  execFileSync('qemu-img', ['create', '-f', 'qcow2', `${p}.tmp`, size], { stdio: 'ignore' });
  // 200 scattered 64 KiB writes across the whole disk.
  const cmds: string[] = [];
  for (let i = 0; i < 200; i++) {
    const off = Math.floor((bytes / 200) * i / 65536) * 65536 + 65536;
    cmds.push('-c', `write -P ${(i % 250) + 1} ${off} 65536`);
  }
  execFileSync('qemu-io', ['-f', 'qcow2', ...cmds, `${p}.tmp`], { stdio: 'ignore' });
  execFileSync('mv', [`${p}.tmp`, p]);
  return p;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  console.log(`disk-scattered: open + 100 scattered 4 KiB reads, medians of ${RUNS} runs`);
  for (const [label, bytes] of [
    ['1G', 2 ** 30],
    ['100G', 100 * 2 ** 30],
    ['4T', 4 * 2 ** 40],
  ] as const) {
    const path = prepare(label, bytes);
    const times: number[] = [];
    const read: number[] = [];
    // Run 0 warms the JIT and the page cache and is not counted.
    for (let r = -1; r < RUNS; r++) {
      const stats = newReadStats();
      const t = process.hrtime.bigint();
      const dev = await openImage(path, { stats });
      for (let i = 0; i < 100; i++) {
        const off = Math.floor(((dev.size - 8192) / 100) * i + (((r + 1) * 7919 + i * 104729) % 65536));
        await dev.read(off, 4096);
      }
      await dev.close();
      if (r < 0) continue;
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      read.push(stats.bytesRead);
    }
    console.log(`  ${label.padEnd(5)} ${median(times).toFixed(2)} ms, ${(median(read) / 1024).toFixed(0)} KiB read from the file`);
  }
}

await main();
