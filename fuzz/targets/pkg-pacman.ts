import { pacmanApplications, parsePacmanDesc } from '../../src/inspect/linux/packages/pacman.js';
import { guestImageFiles, guestImageList, memGuest } from '../lib/mem-fs.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const LOCAL = '/var/lib/pacman/local';
const SEP = Buffer.from('\n\0\n');

/**
 * pacman's local database: the input is one or more `desc` files joined by "\n\0\n"; each
 * becomes /var/lib/pacman/local/pkgN/desc (the whole local dir, in memory).
 */
const target: FuzzTarget = {
  describe: 'pacman: /var/lib/pacman/local/*/desc (%KEY% sections), one or more package entries',
  async run(data) {
    await expectTyped(async () => {
      const files: Record<string, Buffer> = {};
      let start = 0;
      for (let i = 0; i < 64; i++) {
        const at = data.indexOf(SEP, start);
        const part = data.subarray(start, at < 0 ? data.length : at);
        if (i === 0) parsePacmanDesc(part.toString('utf8'));
        files[`${LOCAL}/pkg${i}/desc`] = part;
        if (at < 0) break;
        start = at + SEP.length;
      }
      files[`${LOCAL}/ALPM_DB_VERSION`] = Buffer.from('9\n');
      await pacmanApplications(memGuest(files));
    });
  },
  async seeds() {
    const img = fixtureFile('inspect', 'arch-guest.img');
    const names = (await guestImageList(img, LOCAL)).filter((n) => n !== 'ALPM_DB_VERSION').slice(0, 12);
    const files = await guestImageFiles(img, names.map((n) => `${LOCAL}/${n}/desc`));
    const descs = [...files.values()];
    if (descs.length === 0) return [];
    return [...descs.slice(0, 6), Buffer.concat(descs.flatMap((d, i) => (i ? [SEP, d] : [d])))];
  },
};
export default target;
