import { openFilesystem } from '../../src/fs/open.js';
import { SparseDevice } from '../lib/mem-device.js';
import { fixtureFile, sparseSeeds } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';
import { walkFs } from '../lib/walk-fs.js';

const target: FuzzTarget = {
  describe: 'ext2/3/4: open (superblock, group descriptors, journal replay), readdir, lookup, stat, readlink, read',
  async run(data) {
    await expectTyped(async () => {
      const fs = await openFilesystem(new SparseDevice(data), 'ext4');
      try {
        await walkFs(fs);
      } finally {
        await fs.close?.();
      }
    });
  },
  seeds: () =>
    sparseSeeds(['ext4-small.img', 'ext4-inline-small.img', 'ext4-casefold.img', 'ext4-journal.img', 'ext4-1k.img', 'ext3.img', 'ext2.img', 'ext4-no64.img', 'ext4-noextent.img', 'ext4-metabg.img'].map((n) => fixtureFile('fs-ext', n))),
};
export default target;
