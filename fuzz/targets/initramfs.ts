import { listInitramfs } from '../../src/profile/migration/initramfs.js';
import { fileSeeds, fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'initramfs listing: newc cpio archives behind early microcode, gzip / zstd / xz / lz4 (legacy and frame)',
  async run(data) {
    await expectTyped(() => listInitramfs(data, { maxOutput: 64 << 20, maxEntries: 100_000 }));
  },
  seeds: async () => fileSeeds(['gz', 'zst', 'xz', 'lz4'].map((c) => fixtureFile('migration', `small-${c}.img`))),
};
export default target;
