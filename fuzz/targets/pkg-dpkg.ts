import { dpkgApplications } from '../../src/inspect/linux/packages/dpkg.js';
import { memGuest } from '../lib/mem-fs.js';
import { fileSeeds, fixtureFile, stanzaSlices } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'dpkg: /var/lib/dpkg/status (deb822 stanzas, Status/Version/Source) to the application list',
  async run(data) {
    await expectTyped(() => dpkgApplications(memGuest({ '/var/lib/dpkg/status': data })));
  },
  seeds: async () =>
    fileSeeds([fixtureFile('inspect', 'debian-root', 'var', 'lib', 'dpkg', 'status'), fixtureFile('profile', 'linux-bad-root', 'var', 'lib', 'dpkg', 'status')]).flatMap((b) =>
      stanzaSlices(b, [2048, 8192, 32768]),
    ),
};
export default target;
