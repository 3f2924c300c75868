import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FatFs } from '../../src/fs/fat/index.js';
import { MemDevice, fixture, fuzzRegions, walkEverything } from './ext4-fat-helpers.js';

/*
 * Hostile input: random bytes over a real FAT12 image's boot sector, FAT, root directory and
 * directory clusters; then everything is walked and read. Failures must be typed, loops must
 * end (the test timeout catches hangs). Seeded for replay.
 */

/** Seeds per run (the test runner's async hooks make each walk ~5x slower than a plain script). */
const SEEDS = Number(process.env.FUZZ_SEEDS ?? 150);

test('FAT fuzz: corrupted boot sector, FAT and directories give typed errors, never a crash or hang', async () => {
  const img = fixture('fat12.img');
  const base = readFileSync(img);
  const fs0 = await FatFs.open(new MemDevice(base));
  const b = fs0.bs;
  const regions: [number, number][] = [
    [0, 90], // BPB and extended boot record
    [b.fatOffset, Math.min(b.fatSectors * b.bytesPerSector, 2048)],
    [b.rootDirOffset, b.rootDirBytes],
  ];
  for (const dir of ['/etc', '/names', '/unicode', '/many', '/deep']) {
    const out = execFileSync('mshowfat', ['-i', img, `::${dir}`], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    for (const m of out.matchAll(/<(\d+)/g)) regions.push([b.dataOffset + (Number(m[1]) - 2) * b.clusterSize, b.clusterSize]);
  }
  const clean = await walkEverything(fs0, 'clean');
  assert.ok(clean > 300, `${clean} entries in the clean image`);

  const opened = await fuzzRegions(base, regions, SEEDS, (dev) => FatFs.open(dev), 'fuzz');
  assert.ok(opened > SEEDS / 2, `only ${opened} of ${SEEDS} corrupted images opened`);
});
