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
  describe: 'NTFS: boot sector, MFT records and fixups, attribute lists, runlists, index roots/allocations, compressed files, reparse points, readdir, lookup, stat, readlink, read',
  async run(data) {
    await expectTyped(async () => {
      const fs = await openFilesystem(new SparseDevice(data), 'ntfs');
      try {
        await walkFs(fs, WALK);
      } finally {
        await fs.close?.();
      }
    });
  },
  // the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
  seeds: () => tracedFsSeeds('ntfs', ['tree.img', 'c512.img', 'c64k.img', 'mftfrag.img', 'special.img'].map((n) => fixtureFile('fs-ntfs', n)), WALK),
};
export default target;
