import { fsTarget } from '../lib/fs-target.js';
import { fixtureFile, sparseSeeds } from '../lib/seeds.js';

// the small ext fixtures fit whole (nonzero blocks) in a seed, so the default, deeper walk is used
export default fsTarget(
  'ext4',
  'ext2/3/4: open (superblock, group descriptors, journal replay), readdir, lookup, stat, readlink, read',
  () => sparseSeeds(['ext4-small.img', 'ext4-inline-small.img', 'ext4-casefold.img', 'ext4-journal.img', 'ext4-1k.img', 'ext3.img', 'ext2.img', 'ext4-no64.img', 'ext4-noextent.img', 'ext4-metabg.img'].map((n) => fixtureFile('fs-ext', n))),
  {},
);
