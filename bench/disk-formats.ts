/**
 * VMDK / VHD / VHDX / VDI / OVA readers: open time and bytes read to open, a full
 * sequential read (4 MiB requests), and 2000 random 4 KiB reads. Uses the fixtures of
 * test/fixtures/disk-formats (run `bash test/fixtures/build-all.sh` first). Prints medians of 5.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openImage } from '../src/disk/open.js';
import { newReadStats } from '../src/disk/types.js';

const FIX = join(import.meta.dirname, '../test/fixtures/out/disk-formats');
const IMAGES = [
  'sparse.vmdk', 'stream.vmdk', 'stream-footer.vmdk', 'flat.vmdk',
  'fixed.vhd', 'dynamic.vhd', 'diff.vhd',
  'dynamic.vhdx', 'fixed.vhdx', 'diff.vhdx',
  'static.vdi', 'dynamic.vdi',
  'appliance.ova',
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  console.log('image                open_ms  open_bytes  seq_MiB/s  rand4k_ops/s');
  for (const name of IMAGES) {
    const path = join(FIX, name);
    if (!existsSync(path)) throw new Error(`missing fixture ${path}`);
    const opens: number[] = [];
    const seqs: number[] = [];
    const rands: number[] = [];
    let openBytes = 0;
    for (let run = 0; run < 5; run++) {
      const stats = newReadStats();
      let t = performance.now();
      const dev = await openImage(path, { stats });
      opens.push(performance.now() - t);
      openBytes = stats.bytesRead;
      t = performance.now();
      for (let off = 0; off < dev.size; off += 4 << 20) await dev.read(off, Math.min(4 << 20, dev.size - off));
      seqs.push(dev.size / (1 << 20) / ((performance.now() - t) / 1000));
      let seed = 12345;
      t = performance.now();
      for (let i = 0; i < 2000; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        await dev.read(Math.floor((seed / 2147483648) * (dev.size / 4096)) * 4096, 4096);
      }
      rands.push(2000 / ((performance.now() - t) / 1000));
      await dev.close();
    }
    console.log(
      `${name.padEnd(20)} ${median(opens).toFixed(2).padStart(7)} ${String(openBytes).padStart(11)} ${median(seqs).toFixed(0).padStart(10)} ${median(rands).toFixed(0).padStart(13)}`,
    );
  }
}

await main();
