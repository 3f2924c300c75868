import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { isGuestkitError } from '../../src/protocol/errors.js';
import type { ImageFormat } from '../../src/disk/image.js';
import { ovaFormat } from '../../src/disk/ova/image.js';
import { vdiFormat } from '../../src/disk/vdi/image.js';
import { vhdFormat } from '../../src/disk/vhd/image.js';
import { vhdxFormat } from '../../src/disk/vhdx/image.js';
import { vmdkFormat } from '../../src/disk/vmdk/image.js';
import { formatFixture, openWith, patch, readAt, rng, scratchCopy } from './helpers.js';

/**
 * Hostile metadata: random bytes written over the regions each format's metadata lives in.
 * Every outcome must be a successful read or a GuestkitError: never a RangeError, TypeError or hang.
 */
const CASES: [string, ImageFormat, [number, number][]][] = [
  ['sparse.vmdk', vmdkFormat, [[0, 512], [512, 10240], [10752, 2 * 65536]]],
  ['stream-footer.vmdk', vmdkFormat, [[0, 1024], [-4096, 4096]]],
  ['dynamic.vhd', vhdFormat, [[0, 1536 + 128], [-512, 512]]],
  ['dynamic.vdi', vdiFormat, [[0, 0x200 + 256]]],
  // VHDX: header fields, region table, and (found below) the BAT and the metadata table and items
  ['dynamic.vhdx', vhdxFormat, [[64 * 1024, 80], [192 * 1024, 80]]],
  ['diff.vhdx', vhdxFormat, []],
  // the log entries that get replayed (qemu puts the log at 1 MiB)
  ['log.vhdx', vhdxFormat, [[(1 << 20) + 8192, 8192], [(1 << 20) + 8192, 64]]],
  ['appliance.ova', ovaFormat, [[0, 4096]]],
];

for (const [name, format, regions] of CASES) {
  test(`fuzz ${name}: damaged metadata gives typed errors, never a crash`, async () => {
    const s = await scratchCopy(name);
    if (name.startsWith('diff')) {
      await copyFile(formatFixture('dynamic.vhdx'), s.dir + '/dynamic.vhdx');
    }
    const size = statSync(s.path).size;
    if (format === vhdxFormat) regions.push(...(await vhdxRegions(s.path)));
    const rnd = rng(name.length * 7919);
    let typed = 0;
    try {
      for (let i = 0; i < 80; i++) {
        const [start, len] = regions[i % regions.length]!;
        const base = start < 0 ? size + start : start;
        const n = 1 + Math.floor(rnd() * 8);
        const at = base + Math.floor(rnd() * Math.max(1, len - n));
        const saved = await readAt(s.path, at, n);
        const junk = Buffer.alloc(n);
        for (let k = 0; k < n; k++) junk[k] = rnd() < 0.3 ? 0xff : Math.floor(rnd() * 256);
        await patch(s.path, at, junk);
        try {
          const dev = await openWith(format, s.path);
          try {
            for (let r = 0; r < 4; r++) {
              const off = Math.floor(rnd() * Math.max(1, dev.size - 70000));
              await dev.read(off, Math.min(dev.size - off, 1 + Math.floor(rnd() * 70000)));
            }
            dev.info();
          } finally {
            await dev.close();
          }
        } catch (err) {
          assert.ok(isGuestkitError(err), `patch ${junk.toString('hex')} at ${at}: ${String((err as Error)?.stack ?? err)}`);
          typed++;
        }
        await patch(s.path, at, saved);
      }
      assert.ok(typed > 0, 'some damage was detected');
    } finally {
      await s.cleanup();
    }
  });
}

/** BAT start and metadata table/items of a VHDX, from its region table. */
async function vhdxRegions(path: string): Promise<[number, number][]> {
  const rt = await readAt(path, 192 * 1024, 16 + 2 * 32);
  const out: [number, number][] = [];
  for (let i = 0; i < 2; i++) {
    const o = 16 + i * 32;
    const first = rt.readUInt32LE(o);
    const off = Number(rt.readBigUInt64LE(o + 16));
    if (first === 0x2dc27766) out.push([off, 16 * 8]);
    else out.push([off, 32 * 8], [off + 64 * 1024, 256]);
  }
  return out;
}
