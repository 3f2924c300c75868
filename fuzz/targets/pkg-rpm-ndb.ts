import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fromGuestBytes } from '../../src/inspect/faults.js';
import { applicationOfHeader } from '../../src/inspect/linux/packages/rpm-header.js';
import { ndbBlobs } from '../../src/inspect/linux/packages/rpm-ndb.js';
import { repoRoot } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'rpm Packages.db (ndb: slot pages, blob headers) and each header',
  async run(data) {
    await expectTyped(async () => {
      let blobs: Buffer[];
      try {
        blobs = ndbBlobs(data);
      } catch (err) {
        // the boundary rpmApplications has: Buffer bounds errors of a truncated file are CORRUPT_IMAGE
        throw fromGuestBytes(err, 'Packages.db');
      }
      for (const b of blobs) if (b.length >= 16) await expectTyped(() => applicationOfHeader(b));
    });
  },
  // committed, written by rpm 4.18 built with --enable-ndb (test/fixtures/inspect/rpm-ndb/make-ndb.sh)
  seeds: async () => [gunzipSync(readFileSync(join(repoRoot(), 'test', 'fixtures', 'inspect', 'rpm-ndb', 'Packages.db.gz')))],
};
export default target;
