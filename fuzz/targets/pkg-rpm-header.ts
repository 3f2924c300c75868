import { sqliteBlobs } from '../../src/inspect/linux/packages/rpm.js';
import { applicationOfHeader } from '../../src/inspect/linux/packages/rpm-header.js';
import { readFileSync } from 'node:fs';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'rpm header blob (il, dl, index entries, data store) to one application record',
  async run(data) {
    await expectTyped(() => applicationOfHeader(data));
  },
  async seeds() {
    const db = fixtureFile('inspect', 'rpm-rpmdb.sqlite');
    if (!db) return [];
    // the smallest headers: the fuzzer mutates every byte of an input
    const blobs = (await sqliteBlobs(readFileSync(db))).map((b) => Buffer.from(b)).sort((a, b) => a.length - b.length);
    return blobs.slice(0, 6);
  },
};
export default target;
