import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { vmdkFormat } from '../../src/disk/vmdk/image.js';
import { exerciseImage } from '../lib/image.js';
import { decodeParts, encodeParts, MAX_PARTS } from '../lib/parts.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { imageSeed, imageSeeds, tempDir, writeTempImage } from '../lib/temp-image.js';
import { expectTyped } from '../lib/typed.js';

/**
 * One input is a VMDK file (sparse extent, stream-optimized, or a text descriptor), or a
 * descriptor with its extents (parts.ts): the descriptor becomes disk.vmdk, the extents
 * e1.vmdk, e2.vmdk, … (the seeds' descriptors are rewritten to name those).
 */
const target: FuzzTarget = {
  describe: 'VMDK: sparse extent header, grain directory/tables, stream-optimized markers and footer, descriptor + extents (flat, sparse, split), info, reads',
  async run(data) {
    const parts = decodeParts(data);
    const path = writeTempImage('disk.vmdk', parts[0]!);
    for (let i = 1; i < MAX_PARTS; i++) {
      const name = `e${i}.vmdk`;
      if (i < parts.length) writeTempImage(name, parts[i]!);
      else if (existsSync(join(tempDir(), name))) rmSync(join(tempDir(), name));
    }
    await expectTyped(() => exerciseImage(vmdkFormat, path));
  },
  async seeds() {
    const dir = (...p: string[]) => fixtureFile('disk-formats', ...p);
    const single = await imageSeeds(['sparse.vmdk', 'stream.vmdk', 'stream-footer.vmdk', 'child.vmdk'].map((n) => dir(n)));
    // a descriptor with its extents, renamed e1.vmdk, e2.vmdk, …
    const pair = async (desc: string | undefined, extents: (string | undefined)[]): Promise<Buffer | undefined> => {
      if (!desc || extents.some((e) => !e)) return undefined;
      let text = readFileSync(desc, 'latin1');
      const files: Buffer[] = [];
      for (const [i, e] of extents.entries()) {
        text = text.split(`"${e!.replace(/.*\//, '')}"`).join(`"e${i + 1}.vmdk"`);
        const s = await imageSeed(e, 256 << 10, 64 << 10);
        if (!s) return undefined;
        files.push(s);
      }
      return encodeParts([Buffer.from(text, 'latin1'), ...files]);
    };
    const pairs = await Promise.all([
      pair(dir('flat.vmdk'), [dir('flat-flat.vmdk')]),
      pair(dir('vmfs.vmdk'), [dir('flat-flat.vmdk')]),
      pair(dir('split-sparse', 'disk.vmdk'), [dir('split-sparse', 'disk-s001.vmdk'), dir('split-sparse', 'disk-s002.vmdk')]),
      pair(dir('split-flat', 'disk.vmdk'), [dir('split-flat', 'disk-f001.vmdk'), dir('split-flat', 'disk-f002.vmdk')]),
    ]);
    return [...single, ...pairs.filter((p): p is Buffer => p !== undefined)];
  },
};
export default target;
