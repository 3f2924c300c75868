import { fsTarget } from '../lib/fs-target.js';
import { fixtureFile } from '../lib/seeds.js';
import { tracedFsSeeds } from '../lib/traced.js';

// the metadata the walk reads (traced.ts): the fixtures' file data is far over MAX_SEED
export default fsTarget('vfat', 'FAT12/16/32: boot sector, FAT chains, directories, long file names, readdir, lookup, stat, read', (walk) =>
  tracedFsSeeds(
    'vfat',
    [
      ...['fat12.img', 'fat16.img', 'fat32.img'].map((n) => fixtureFile('fs-ext', n)),
      ...['fat12.img', 'fat16.img', 'fat32.img', 'fatnolabel.img'].map((n) => fixtureFile('volume', 'probe', n)),
    ],
    walk,
  ),
);
