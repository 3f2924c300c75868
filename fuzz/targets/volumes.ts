import { readdirSync } from 'node:fs';
import { enumerateVolumes } from '../../src/volume/enumerate.js';
import { SparseDevice } from '../lib/mem-device.js';
import { decodeParts, encodeParts } from '../lib/parts.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeed } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

/**
 * One input is one to eight disks (parts.ts), each a sparse image (sparse.ts): the disks of a
 * guest, enumerated as inspection does (partition tables, LVM, md arrays, probes), and then
 * every device found read at its start and end (LV segments and md layouts mapped).
 */
const target: FuzzTarget = {
  describe: 'volumes: MBR (extended/logical), GPT (backup header, entries), LVM2 (labels, metadata text, segments), md RAID (0.90, 1.x; linear, 0, 1, 5, 10), signature probes',
  async run(data) {
    await expectTyped(async () => {
      const disks = decodeParts(data).map((p, i) => new SparseDevice(p, `disk${i}.img`));
      const { devices } = await enumerateVolumes(disks);
      for (const d of devices) {
        if (d.error || d.size <= 0) continue;
        await expectTyped(async () => {
          await d.dev.read(0, Math.min(d.size, 65536));
          await d.dev.read(Math.max(0, d.size - 4096), Math.min(d.size, 4096));
        });
      }
    });
  },
  async seeds() {
    // each disk: nonzero blocks of its first 512 KiB of data and of its last 128 KiB (GPT backup, md 0.90/1.0 superblocks)
    const disks = async (...paths: (string | undefined)[]): Promise<Buffer | undefined> => {
      const parts: Buffer[] = [];
      for (const p of paths) {
        const s = await imageSeed(p, 512 << 10, 128 << 10, true);
        if (!s) return undefined;
        parts.push(s);
      }
      return encodeParts(parts);
    };
    const imgs = (...dir: string[]): (string | undefined)[] => {
      const d = fixtureFile(...dir);
      if (!d) return [undefined];
      return readdirSync(d).filter((f) => f.endsWith('.img')).sort().map((f) => fixtureFile(...dir, f));
    };
    const sets: (string | undefined)[][] = [
      ...['disk.img', 'noprimary.img', 'noheaders.img', 'badentries.img'].map((n) => [fixtureFile('volume', 'gpt', n)]),
      [fixtureFile('volume', 'gpt4k', 'disk.img')],
      [fixtureFile('volume', 'mbr', 'disk.img')],
      imgs('volume', 'lvm'),
      imgs('volume', 'lvm-wrap'),
      ...['guest-lvm-on-md', 'guest-md-partitioned', 'guest-md-root', 'linear-v0.90', 'linear-v1.2', 'md-on-lvm', 'raid0-v0.90', 'raid0-v1.2', 'raid1-degraded', 'raid1-v0.90', 'raid1-v1.0', 'raid1-v1.1', 'raid1-v1.2', 'raid10-v1.2', 'raid5-v1.2'].map((n) => imgs('md', n)),
      ...['luks1.img', 'luks2.img', 'swap.img', 'iso9660.img', 'exfat.img', 'lvm2pv.img', 'ntfs.img', 'btrfs.img', 'xfs.img'].map((n) => [fixtureFile('volume', 'probe', n)]),
    ];
    const out: Buffer[] = [];
    for (const s of sets) {
      const seed = await disks(...s);
      if (seed) out.push(seed);
    }
    return out;
  },
};
export default target;
