import { fsTarget } from '../lib/fs-target.js';
import { fixtureFile } from '../lib/seeds.js';
import { tracedFsSeeds } from '../lib/traced.js';

// the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
export default fsTarget('xfs', 'XFS (v4, v5): superblock, AG headers, inode btrees, directories (short form, block, leaf, node, btree), extents and bmap btrees, symlinks, readdir, lookup, stat, read', (walk) =>
  tracedFsSeeds('xfs', ['xfs-v5.img', 'xfs-v4.img', 'xfs-v4-ftype.img', 'xfs-frag.img'].map((n) => fixtureFile('fs-xfs-btrfs', n)), walk),
);
