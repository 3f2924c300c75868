import { qcow2Format } from '../../src/disk/qcow2/format.js';
import { exerciseImage } from '../lib/image.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeeds, writeTempImage } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'qcow2 image file: header, extensions, L1/L2 (incl. extended L2), compressed clusters (zlib, zstd), info, reads',
  async run(data) {
    await expectTyped(() => exerciseImage(qcow2Format, writeTempImage('fuzz.qcow2', data)));
  },
  // small images as they are; big ones sparse-encoded, first MiB of data and last 256 KiB (temp-image.ts)
  seeds: () =>
    imageSeeds(
      [
        'top.qcow2', 'mid.qcow2', 'l2ext-top.qcow2', 'missing-backing.qcow2', 'extdata.qcow2', 'aes.qcow2', 'luks.qcow2',
        'v3.qcow2', 'v2.qcow2', 'l2ext.qcow2', 'zlib.qcow2', 'zlib-4k.qcow2', 'v2-zlib.qcow2', 'zstd.qcow2', 'zstd-2m.qcow2',
        'c512.qcow2', 'c2m.qcow2', 'flags-dirty-corrupt.qcow2', 'bad-unknown-feature.qcow2',
      ].map((n) => fixtureFile('disk', n)),
    ),
};
export default target;
