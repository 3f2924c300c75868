/**
 * Sequential read throughput of a 1 GiB qcow2 (plain and zlib-compressed),
 * next to `qemu-img convert -O raw` of the same files in the same run, and our
 * own convert to raw. Images are generated once under bench/out/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertImage } from '../src/disk/convert.js';
import { openImage } from '../src/disk/open.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');
const GiB = 1 << 30;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function sh(cmd: string): void {
  execFileSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function prepare(): { plain: string; zlib: string } {
  mkdirSync(OUT, { recursive: true });
  const raw = join(OUT, 'seq-1g.raw');
  const plain = join(OUT, 'seq-1g.qcow2');
  const zlib = join(OUT, 'seq-1g-zlib.qcow2');
  if (!existsSync(raw)) {
    // Fully allocated 1 GiB: alternating 64 MiB of random and of base64 text (compressible ~25%).
    sh(`set -e; f='${raw}.tmp'; : > "$f"; for i in $(seq 0 15); do
          if [ $((i % 2)) = 0 ]; then head -c 64M /dev/urandom; else head -c 48M /dev/urandom | base64 -w 0 | head -c 64M; fi >> "$f"
        done; mv "$f" '${raw}'`);
  }
  if (!existsSync(plain)) sh(`qemu-img convert -f raw -O qcow2 '${raw}' '${plain}.tmp' && mv '${plain}.tmp' '${plain}'`);
  if (!existsSync(zlib)) sh(`qemu-img convert -f raw -O qcow2 -c '${raw}' '${zlib}.tmp' && mv '${zlib}.tmp' '${zlib}'`);
  return { plain, zlib };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function readAll(path: string, chunk: number): Promise<void> {
  const dev = await openImage(path);
  try {
    for (let off = 0; off < dev.size; off += chunk) await dev.read(off, Math.min(chunk, dev.size - off));
  } finally {
    await dev.close();
  }
}

async function main(): Promise<void> {
  const imgs = prepare();
  const rows: string[] = [];
  for (const [label, path] of Object.entries(imgs)) {
    const dst = join(OUT, 'bench-convert.raw');
    const t = { read1m: [] as number[], read64k: [] as number[], ours: [] as number[], qemu: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      t.read1m.push(await timeIt(() => readAll(path, 1 << 20)));
      t.read64k.push(await timeIt(() => readAll(path, 64 << 10)));
      t.qemu.push(await timeIt(() => sh(`qemu-img convert -O raw '${path}' '${dst}'`)));
      rmSync(dst, { force: true });
      t.ours.push(
        await timeIt(async () => {
          const dev = await openImage(path);
          try {
            await convertImage(dev, dst, { format: 'raw' });
          } finally {
            await dev.close();
          }
        }),
      );
      rmSync(dst, { force: true });
    }
    const mbs = (s: number) => `${(GiB / 1048576 / s).toFixed(0)} MiB/s (${s.toFixed(2)} s)`;
    rows.push(`${label.padEnd(6)} guestkit read 1 MiB chunks: ${mbs(median(t.read1m))}`);
    rows.push(`${label.padEnd(6)} guestkit read 64 KiB chunks: ${mbs(median(t.read64k))}`);
    rows.push(`${label.padEnd(6)} guestkit convert -O raw:   ${mbs(median(t.ours))}`);
    rows.push(`${label.padEnd(6)} qemu-img convert -O raw:   ${mbs(median(t.qemu))}`);
  }
  console.log(`disk-read: 1 GiB qcow2, medians of ${RUNS} runs`);
  for (const r of rows) console.log('  ' + r);
}

await main();
