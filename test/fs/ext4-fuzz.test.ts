import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ExtFs } from '../../src/fs/ext4/index.js';
import { MemDevice, debugfs, dumpe2fs, expectTyped, fileBlocks, fixture, fuzzRegions, rng, walkEverything } from './ext4-fat-helpers.js';

/*
 * Hostile input: random bytes written over the metadata of a real (small, 1 KiB-block) ext4
 * image — superblock, group descriptors, the used part of the inode table, directory blocks —
 * then everything is walked and read. Every failure must be a typed error; the test's own
 * timeout catches hangs. Seeded, so a failure names a replayable seed.
 */

/** Seeds per run (the test runner's async hooks make each walk ~5x slower than a plain script). */
const SEEDS = Number(process.env.FUZZ_SEEDS ?? 150);

test('ext fuzz: corrupted metadata gives typed errors, never a crash or hang', async () => {
  const img = fixture('ext4-small.img');
  const base = readFileSync(img);
  const bs = 1024;
  const d = dumpe2fs(img);
  assert.equal(Number(d['Block size']), bs);
  const itable = /Group  0: .*inode table at (\d+)/.exec(debugfs(img, "stats"));
  assert.ok(itable, 'inode table location');
  const regions: [number, number][] = [
    [1024, 1024], // superblock
    [2 * bs, bs], // group descriptors
    [Number(itable[1]) * bs, 96 * 256], // inodes 1..96: every inode the tree uses
  ];
  for (const dir of ['/', '/etc', '/links', '/names', '/many/d00', '/deep', '/deep/level00', '/unicode', '/modes']) {
    for (const b of fileBlocks(img, dir)) regions.push([b * bs, bs]);
  }
  const clean = await walkEverything(await ExtFs.open(new MemDevice(base)), 'clean');
  assert.ok(clean > 150, `${clean} entries in the clean image`);

  const opened = await fuzzRegions(base, regions, SEEDS, (dev) => ExtFs.open(dev), 'fuzz');
  assert.ok(opened > SEEDS / 2, `only ${opened} of ${SEEDS} corrupted images opened: the fuzzing hardly reached past the superblock`);
});

test('ext fuzz: a corrupted journal needing recovery gives typed errors or a warning, never a crash or hang', async () => {
  const img = fixture('ext4-journal.img');
  const base = readFileSync(img);
  const bs = 4096;
  const fs0 = await ExtFs.open(new MemDevice(base), {}, { replayJournal: false });
  const runs = await fs0.mapBlocks(await fs0.inode(8), 0, 16);
  const regions: [number, number][] = runs.map((r) => [r.pblk * bs, r.len * bs]);
  const buf = Buffer.from(base);
  let replayed = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = rng(seed);
    const flips: [number, number][] = [];
    const n = 1 + Math.floor(r() * 6);
    for (let i = 0; i < n; i++) {
      const [start, len] = regions[Math.floor(r() * regions.length)]!;
      // Headers and tags sit in the first bytes of the log blocks: aim there most of the time.
      const at = start + (r() < 0.7 ? Math.floor(r() * 64) + bs * Math.floor(r() * (len / bs)) : Math.floor(r() * len));
      flips.push([at, buf[at]!]);
      buf[at] = r() < 0.3 ? 0 : r() < 0.5 ? 0xff : Math.floor(r() * 256);
    }
    try {
      const fs = await ExtFs.open(new MemDevice(buf, `journal-fuzz-${seed}`));
      if ((fs.info.warnings ?? []).some((w) => w.startsWith('journal recovery'))) replayed++;
      await walkEverything(fs, `seed ${seed}`, 300);
    } catch (err) {
      expectTyped(err, `seed ${seed}`);
    }
    for (const [at, v] of flips.reverse()) buf[at] = v;
  }
  assert.ok(replayed > 0 && replayed < SEEDS, `${replayed} of ${SEEDS} corrupted journals replayed`);
});
