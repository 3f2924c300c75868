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
  describe: 'XFS (v4, v5): superblock, AG headers, inode btrees, directories (short form, block, leaf, node, btree), extents and bmap btrees, symlinks, readdir, lookup, stat, read',
  async run(data) {
    await expectTyped(async () => {
      const fs = await openFilesystem(new SparseDevice(data), 'xfs');
      try {
        await walkFs(fs, WALK);
      } finally {
        await fs.close?.();
      }
    });
  },
  // the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
  seeds: () => tracedFsSeeds('xfs', ['xfs-v5.img', 'xfs-v4.img', 'xfs-v4-ftype.img', 'xfs-frag.img'].map((n) => fixtureFile('fs-xfs-btrfs', n)), WALK),
};
export default target;
