import { readdirSync } from 'node:fs';
import { enumerateVolumes } from '../../src/volume/enumerate.js';
import { SparseDevice } from '../lib/mem-device.js';
import { decodeParts, encodeParts } from '../lib/parts.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeed } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

/**
 * Windows dynamic disks: one input is the disks of one guest (parts.ts, each sparse), enumerated
 * as inspection does, so the LDM database (PRIVHEAD, TOCBLOCK, VMDB, VBLK records) of each disk
 * is parsed, the group linked and every volume found read at its start and end.
 */
const target: FuzzTarget = {
  describe: 'volume-ldm: Windows dynamic disks (PRIVHEAD, TOCBLOCK, VMDB, VBLKs; simple, spanned, striped, mirrored, RAID-5 volumes; MBR and GPT styles)',
  async run(data) {
    await expectTyped(async () => {
      const disks = decodeParts(data).map((p, i) => new SparseDevice(p, `disk${i}.img`));
      const { devices } = await enumerateVolumes(disks);
      for (const d of devices) {
        if (d.kind !== 'ldm' || d.error || d.size <= 0) continue;
        await expectTyped(async () => {
          await d.dev.read(0, Math.min(d.size, 65536));
          await d.dev.read(Math.max(0, d.size - 4096), Math.min(d.size, 4096));
        });
      }
    });
  },
  async seeds() {
    const out: Buffer[] = [];
    for (const set of ['group', 'windows']) {
      const dir = fixtureFile('ldm', set);
      if (!dir) continue;
      const files = readdirSync(dir).filter((f) => f.endsWith('.img')).sort();
      // each disk: its tables and the GPT-style database near the start, the MBR-style database in the last 1 MiB
      const parts: Buffer[] = [];
      for (const f of files) {
        const s = await imageSeed(fixtureFile('ldm', set, f), 256 << 10, 1 << 20, true);
        if (s) parts.push(s);
      }
      if (parts.length === files.length && parts.length > 0) {
        out.push(encodeParts(parts));
        // one disk alone: the others' volumes missing
        out.push(encodeParts(parts.slice(0, 1)));
      }
    }
    return out;
  },
};
export default target;
