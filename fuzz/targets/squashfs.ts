import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lzo1x, squashfsReadFile } from '../../src/inspect/linux/snap-squashfs.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

/**
 * The snap reader: squashfs 4.0 (superblock, metadata blocks, directory listings, inodes,
 * fragments; gzip / xz / lzo / zstd blocks) looked up for meta/snap.yaml as inspection does,
 * and the LZO1X decoder on the raw input.
 */
const target: FuzzTarget = {
  describe: 'squashfs: snap files (squashfs 4.0 directories, inodes, fragments; gzip, xz, lzo, zstd blocks) read for meta/snap.yaml; LZO1X',
  async run(data) {
    const readAt = async (offset: number, length: number) => data.subarray(Math.min(offset, data.length), Math.min(offset + length, data.length));
    await expectTyped(() => squashfsReadFile(readAt, data.length, 'meta/snap.yaml', 1 << 20));
    await expectTyped(() => lzo1x(data, 1 << 20));
  },
  // Snaps as snap pack makes them (mksquashfs, from Debian's squashfs-tools), one per compressor,
  // with and without fragments.
  async seeds() {
    const dir = mkdtempSync(join(tmpdir(), 'gk-fuzz-squashfs-'));
    try {
      const tree = join(dir, 'tree');
      mkdirSync(join(tree, 'meta'), { recursive: true });
      mkdirSync(join(tree, 'bin'));
      writeFileSync(join(tree, 'meta', 'snap.yaml'), 'name: hello\nversion: 2.10-1\nsummary: fuzz seed\narchitectures: [amd64]\n');
      writeFileSync(join(tree, 'bin', 'hello'), Buffer.alloc(70_000, 'hello world\n'));
      const seeds: Buffer[] = [];
      for (const comp of ['xz', 'gzip', 'lzo', 'zstd']) {
        for (const frag of [[], ['-no-fragments']]) {
          const out = join(dir, `${comp}${frag.length}.snap`);
          execFileSync('mksquashfs', [tree, out, '-noappend', '-no-progress', '-quiet', '-all-root', '-no-xattrs', '-comp', comp, ...frag]);
          seeds.push(readFileSync(out));
        }
      }
      return seeds;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
export default target;
