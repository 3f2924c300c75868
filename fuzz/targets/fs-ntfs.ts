import { fsTarget } from '../lib/fs-target.js';
import { fixtureFile } from '../lib/seeds.js';
import { tracedFsSeeds } from '../lib/traced.js';

// the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
export default fsTarget('ntfs', 'NTFS: boot sector, MFT records and fixups, attribute lists, runlists, index roots/allocations, compressed files, reparse points, readdir, lookup, stat, readlink, read', (walk) =>
  tracedFsSeeds('ntfs', ['tree.img', 'c512.img', 'c64k.img', 'mftfrag.img', 'special.img'].map((n) => fixtureFile('fs-ntfs', n)), walk),
);
