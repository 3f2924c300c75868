import { FileSource } from '../../src/disk/file-source.js';
import { openOvaDisk, ovaFormat } from '../../src/disk/ova/image.js';
import { listTar } from '../../src/disk/ova/tar.js';
import { exerciseDevice, exerciseImage, fuzzContext } from '../lib/image.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { rangesSeed, writeTempImage } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'OVA file: tar (ustar, GNU long names, pax), OVF descriptor, disks inside (stream VMDK, VHD, raw), info, reads',
  async run(data) {
    const path = writeTempImage('fuzz.ova', data);
    await expectTyped(() => exerciseImage(ovaFormat, path));
    // the second disk, when the OVF names one
    await expectTyped(async () => {
      const dev = await openOvaDisk(path, 1, fuzzContext());
      try {
        await exerciseDevice(dev);
      } finally {
        await dev.close();
      }
    });
  },
  // sparse-encoded: every tar header, and of each member its first 256 KiB and last 64 KiB (OVF, disk headers, stream VMDK footers)
  async seeds() {
    const out: Buffer[] = [];
    for (const n of ['appliance.ova', 'longnames.ova', 'pax.ova', 'mixed.ova']) {
      const p = fixtureFile('disk-formats', n);
      if (!p) continue;
      const src = await FileSource.open(p);
      const members = await listTar(src).finally(() => src.close());
      const ranges: [number, number][] = members.flatMap((m): [number, number][] => [
        [m.offset - 4096, m.offset + Math.min(m.size, 256 << 10)],
        [m.offset + m.size - (64 << 10), m.offset + m.size + 4096],
      ]);
      ranges.push([src.size - 8192, src.size]);
      const seed = await rangesSeed(p, ranges);
      if (seed) out.push(seed);
    }
    return out;
  },
};
export default target;
