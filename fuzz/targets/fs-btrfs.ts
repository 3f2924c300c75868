import { openFilesystem } from '../../src/fs/open.js';
import { SparseDevice } from '../lib/mem-device.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { tracedFsSeeds } from '../lib/traced.js';
import { expectTyped } from '../lib/typed.js';
import { walkFs } from '../lib/walk-fs.js';

/** Smaller than the default walk: thousands of executions a minute, and seeds that hold what it reaches. */
const WALK = { entries: 200, fileBytes: 8192, depth: 8 };

const target: FuzzTarget = {
  describe: 'btrfs: superblock, chunk tree, root tree, FS trees, subvolumes, inline and compressed extents (zlib, lzo, zstd), readdir, lookup, stat, readlink, read',
  async run(data) {
    await expectTyped(async () => {
      const fs = await openFilesystem(new SparseDevice(data), 'btrfs');
      try {
        await walkFs(fs, WALK);
      } finally {
        await fs.close?.();
      }
    });
  },
  // the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
  seeds: () => tracedFsSeeds('btrfs', ['btrfs-plain.img', 'btrfs-sub.img', 'btrfs-zlib.img', 'btrfs-lzo.img', 'btrfs-zstd.img'].map((n) => fixtureFile('fs-xfs-btrfs', n)), WALK),
};
export default target;
