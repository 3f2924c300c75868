import { fromGuestBytes } from '../../src/inspect/faults.js';
import { bdbHashValues } from '../../src/inspect/linux/packages/rpm-bdb.js';
import { applicationOfHeader } from '../../src/inspect/linux/packages/rpm-header.js';
import { fileSeeds, fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'rpm Packages (Berkeley DB hash: metadata, hash pages, overflow chains) and each header',
  async run(data) {
    await expectTyped(async () => {
      let values: Buffer[];
      try {
        values = bdbHashValues(data);
      } catch (err) {
        // the boundary rpmApplications has: Buffer bounds errors of a truncated file are CORRUPT_IMAGE
        throw fromGuestBytes(err, 'Packages');
      }
      for (const v of values) if (v.length >= 16) await expectTyped(() => applicationOfHeader(v));
    });
  },
  seeds: async () => fileSeeds([fixtureFile('inspect', 'rpm-Packages.bdb')]),
};
export default target;
