import { readFileSync } from 'node:fs';
import { sqliteBlobs } from '../../src/inspect/linux/packages/rpm.js';
import { applicationOfHeader } from '../../src/inspect/linux/packages/rpm-header.js';
import { fileSeeds, fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'rpm rpmdb.sqlite (better-sqlite3 deserialize of the bytes, SELECT blob FROM Packages) and each header',
  async run(data) {
    await expectTyped(async () => {
      for (const blob of await sqliteBlobs(data)) await expectTyped(() => applicationOfHeader(blob));
    });
  },
  async seeds() {
    const db = fixtureFile('inspect', 'rpm-rpmdb.sqlite');
    const out = fileSeeds([db]);
    if (db) {
      // the same database with its free pages cut: the tables and indexes, the first pages of Packages
      const full = readFileSync(db);
      const pageSize = full.readUInt16BE(16) === 1 ? 65536 : full.readUInt16BE(16);
      out.push(full.subarray(0, Math.min(full.length, pageSize * 8)));
    }
    return out;
  },
};
export default target;
