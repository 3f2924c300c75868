import { fsTarget } from '../lib/fs-target.js';
import { fixtureFile } from '../lib/seeds.js';
import { tracedFsSeeds } from '../lib/traced.js';

// the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
export default fsTarget('btrfs', 'btrfs: superblock, chunk tree, root tree, FS trees, subvolumes, inline and compressed extents (zlib, lzo, zstd), readdir, lookup, stat, readlink, read', (walk) =>
  tracedFsSeeds('btrfs', ['btrfs-plain.img', 'btrfs-sub.img', 'btrfs-zlib.img', 'btrfs-lzo.img', 'btrfs-zstd.img'].map((n) => fixtureFile('fs-xfs-btrfs', n)), walk),
);
