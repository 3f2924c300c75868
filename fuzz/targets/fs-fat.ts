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
  describe: 'FAT12/16/32: boot sector, FAT chains, directories, long file names, readdir, lookup, stat, read',
  async run(data) {
    await expectTyped(async () => {
      const fs = await openFilesystem(new SparseDevice(data), 'vfat');
      try {
        await walkFs(fs, WALK);
      } finally {
        await fs.close?.();
      }
    });
  },
  // the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
  seeds: () =>
    tracedFsSeeds('vfat', [
      ...['fat12.img', 'fat16.img', 'fat32.img'].map((n) => fixtureFile('fs-ext', n)),
      ...['fat12.img', 'fat16.img', 'fat32.img', 'fatnolabel.img'].map((n) => fixtureFile('volume', 'probe', n)),
    ], WALK),
};
export default target;
