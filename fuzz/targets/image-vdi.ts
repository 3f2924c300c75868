import { vdiFormat } from '../../src/disk/vdi/image.js';
import { exerciseImage } from '../lib/image.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeeds, writeTempImage } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'VDI image file: pre-header, header (v1.1), block map, info, reads',
  async run(data) {
    await expectTyped(() => exerciseImage(vdiFormat, writeTempImage('fuzz.vdi', data)));
  },
  // sparse-encoded: first MiB of data (header, block map) and last 256 KiB, see temp-image.ts
  seeds: () => imageSeeds(['dynamic.vdi', 'static.vdi'].map((n) => fixtureFile('disk-formats', n))),
};
export default target;
