import { apkApplications } from '../../src/inspect/linux/packages/apk.js';
import { guestImageFiles, memGuest } from '../lib/mem-fs.js';
import { fixtureFile, stanzaSlices } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const PATH = '/lib/apk/db/installed';

const target: FuzzTarget = {
  describe: "apk: Alpine's /lib/apk/db/installed (blank-line separated X:value records)",
  async run(data) {
    await expectTyped(() => apkApplications(memGuest({ [PATH]: data })));
  },
  async seeds() {
    const files = await guestImageFiles(fixtureFile('inspect-guests', 'alpine.qcow2'), [PATH]);
    return [...files.values()].flatMap((b) => stanzaSlices(b, [1024, 4096, 16384]));
  },
};
export default target;
