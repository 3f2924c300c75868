/**
 * Converting a 100 GiB sparse qcow2 (200 scattered 64 KiB writes) to qcow2
 * and to sparse raw: time should follow the data, not the virtual size.
 * Next to `qemu-img convert` of the same file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertImage } from '../src/disk/convert.js';
import { openImage } from '../src/disk/open.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const src = join(OUT, 'sparse-100G.qcow2');
  if (!existsSync(src)) throw new Error(`${src} missing: run bench/disk-scattered.ts first (bench/run.sh does)`);
  console.log(`disk-convert-sparse: 100 GiB sparse qcow2, medians of ${RUNS} runs`);
  for (const fmt of ['qcow2', 'raw'] as const) {
    const dst = join(OUT, `convert-sparse.${fmt}`);
    const ours: number[] = [];
    const qemu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t = process.hrtime.bigint();
      const dev = await openImage(src);
      try {
        await convertImage(dev, dst, { format: fmt });
      } finally {
        await dev.close();
      }
      ours.push(Number(process.hrtime.bigint() - t) / 1e6);
      rmSync(dst, { force: true });
      t = process.hrtime.bigint();
      execFileSync('qemu-img', ['convert', '-O', fmt, src, dst]);
      qemu.push(Number(process.hrtime.bigint() - t) / 1e6);
      rmSync(dst, { force: true });
    }
    console.log(`  -> ${fmt.padEnd(5)} guestkit ${median(ours).toFixed(0)} ms, qemu-img ${median(qemu).toFixed(0)} ms`);
  }
}

await main();
