import { vhdxFormat } from '../../src/disk/vhdx/image.js';
import { exerciseImage } from '../lib/image.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeeds, writeTempImage } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'VHDX image file: file identifier, headers, region table, log replay, metadata, BAT, parent locator, info, reads',
  async run(data) {
    await expectTyped(() => exerciseImage(vhdxFormat, writeTempImage('fuzz.vhdx', data)));
  },
  // sparse-encoded: the first 2 MiB of data (headers, regions, log, metadata, BAT) and the last 256 KiB
  seeds: () =>
    imageSeeds(['dynamic.vhdx', 'fixed.vhdx', 'diff.vhdx', 'diff-base.vhdx', 'log.vhdx', 'small-block.vhdx'].map((n) => fixtureFile('disk-formats', n)), 2 << 20),
};
export default target;
