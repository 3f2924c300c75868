import { GuestkitError } from '../../src/protocol/errors.js';
import { openHive } from '../../src/registry/index.js';
import { fileSeeds, fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

/** Keys one input may visit. */
const MAX_KEYS = 3000;

const target: FuzzTarget = {
  describe: 'Windows registry hive (REGF): base block, hbins, key nodes, subkey lists (lf, lh, li, ri), value keys, big data (db), names, walk of keys and values',
  async run(data) {
    await expectTyped(async () => {
      const hive = await openHive(data, 'fuzz.hive');
      await hive.key('ControlSet001\\Control\\Session Manager');
      await hive.key('Microsoft/Windows NT/CurrentVersion');
      let budget = MAX_KEYS;
      // the walk inspection uses (loops are its CORRUPT_IMAGE), stopped by a typed error past the budget
      await hive.walk(async (key) => {
        if (--budget <= 0) throw new GuestkitError('CORRUPT_IMAGE', 'fuzz: key budget spent');
        void key.name;
        void key.lastWritten;
        for (const v of await key.values()) {
          void v.typeName;
          v.strings();
          v.number();
        }
        await key.value('');
      });
    });
  },
  seeds: async () => {
    const w = (...p: string[]) => fixtureFile('windows', ...p);
    return fileSeeds([
      w('bcd.hiv'), w('dirtylog', 'SOFTWARE-after'), w('mixedcase', 'SOFTWARE-a'), w('mixedcase', 'SOFTWARE-b'),
      w('lists', 'SYSTEM-lf'), w('lists', 'SYSTEM-li'), w('lists', 'SYSTEM-ri'),
      ...['DEFAULT', 'NTUSER-500.DAT', 'NTUSER-1000.DAT', 'SAM', 'SECURITY', 'SOFTWARE', 'SYSTEM'].map((n) => w('server2019', n)),
      ...['DEFAULT', 'NTUSER-1001.DAT', 'SAM', 'SECURITY', 'SOFTWARE'].map((n) => w('win11', n)),
    ]);
  },
};
export default target;
