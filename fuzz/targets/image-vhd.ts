import { vhdFormat } from '../../src/disk/vhd/image.js';
import { exerciseImage } from '../lib/image.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeeds, writeTempImage } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'VHD image file: footer, dynamic header, BAT, sector bitmaps, parent locators (differencing), info, reads',
  async run(data) {
    await expectTyped(() => exerciseImage(vhdFormat, writeTempImage('fuzz.vhd', data)));
  },
  // sparse-encoded: first MiB of data (header, BAT) and last 256 KiB (footer), see temp-image.ts
  seeds: () => imageSeeds(['dynamic.vhd', 'fixed.vhd', 'diff.vhd', 'diff-base.vhd', 'chs.vhd'].map((n) => fixtureFile('disk-formats', n))),
};
export default target;
