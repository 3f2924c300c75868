/**
 * The Linux collectors over hostile guest files (the inputs of test/inspect/collectors-fuzz.test.ts,
 * which bounds their work, not their time): each target file made of 20,000 copies of each hostile
 * directive or of one ~1 MB line, and /boot with 20,000 kernels, modules dirs and BLS entries, over
 * the Ubuntu-style guest fixture. Prints the median time of the whole matrix, its slowest cases and
 * the big-directory collectors over BENCH_RUNS runs.
 * Run: bash test/fixtures/build-all.sh (inspect-guests), then bash bench/run.sh collectors-hostile
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FsError } from '../src/fs/errors.js';
import { Vfs } from '../src/fs/vfs.js';
import { assembleRoot } from '../src/inspect/guest.js';
import { GuestView } from '../src/inspect/guest-view.js';
import { GuestSession } from '../src/inspect/index.js';
import { detectBootloader, detectKernels } from '../src/inspect/linux/boot.js';
import { GuestkitError } from '../src/protocol/errors.js';
import { C, HOSTILE_LINES, LONG_LINES, TARGETS, addBigBootDirectories, placeFile } from '../test/inspect/hostile-guest.js';
import { OverlayFs } from '../test/inspect/overlay-fs.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const image = join(import.meta.dirname, '..', 'test/fixtures/out/inspect-guests/ubuntu-like.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const session = await GuestSession.open([image]);
try {
  const root = (await session.mountables()).find((m) => m.role === 'linux-root');
  if (!root) throw new Error('the Ubuntu-style guest has no Linux root');

  const inputs: [string, Buffer][] = [
    ...HOSTILE_LINES.map((line, i): [string, Buffer] => [`hostile line ${i}`, Buffer.from(`${line}\n`.repeat(20_000))]),
    ...LONG_LINES.map((line, i): [string, Buffer] => [`long line ${i}`, Buffer.from(`${line}\n`)]),
  ];
  /** ms per "<file> <input> <collector>" case, one array entry per run. */
  const cases = new Map<string, number[]>();
  const totals: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    for (const [path, names] of TARGETS) {
      for (const [label, data] of inputs) {
        const overlay = new OverlayFs(root.fs);
        await placeFile(root.fs, overlay, path, data);
        for (const name of names) {
          const t = performance.now();
          try {
            if (name === 'fstab') await assembleRoot({ ...root, fs: overlay }, session.devices, session.pool);
            else await C[name](new GuestView(new Vfs(overlay, root.device.device), []));
          } catch (err) {
            if (!(err instanceof GuestkitError || err instanceof FsError)) throw err;
          }
          const key = `${path} ${label} ${name}`;
          if (!cases.has(key)) cases.set(key, []);
          cases.get(key)!.push(performance.now() - t);
        }
      }
    }
    totals.push(performance.now() - t0);
  }
  console.log(`collectors-hostile: ${cases.size} cases (${TARGETS.length} files × ${inputs.length} inputs), median of ${RUNS} runs`);
  console.log(`  whole matrix ${median(totals).toFixed(0)} ms`);
  const slowest = [...cases].map(([k, ts]) => [k, median(ts)] as const).sort((a, b) => b[1] - a[1]).slice(0, 10);
  for (const [k, ms] of slowest) console.log(`  ${ms.toFixed(1).padStart(8)} ms  ${k}`);

  const kernels: number[] = [];
  const boot: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const overlay = new OverlayFs(root.fs);
    await addBigBootDirectories(root.fs, overlay);
    const g = new GuestView(new Vfs(overlay, root.device.device), []);
    let t = performance.now();
    await detectKernels(g);
    kernels.push(performance.now() - t);
    t = performance.now();
    await detectBootloader(g);
    boot.push(performance.now() - t);
  }
  console.log(`  20,000 kernels + 20,000 modules dirs: kernels ${median(kernels).toFixed(0)} ms; 20,000 BLS entries: bootloader ${median(boot).toFixed(0)} ms`);
} finally {
  await session.close();
}
