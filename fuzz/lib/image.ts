import type { ImageDevice, ImageFormat, OpenContext } from '../../src/disk/image.js';
import { newReadStats } from '../../src/disk/types.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { tempDir } from './temp-image.js';
import { expectTyped } from './typed.js';

/**
 * The context an image target opens with: backing files never opened, and every file the
 * image names (extents, data files, parents) confined to the target's temp folder.
 */
export function fuzzContext(): OpenContext {
  return {
    stats: newReadStats(),
    chain: [],
    options: { backing: false, allowedRoots: [tempDir()] },
    openBacking(path: string): Promise<ImageDevice> {
      throw new GuestkitError('PATH_NOT_ALLOWED', `fuzz: backing file ${path} is not opened`);
    },
  };
}

/** Opens `path` with `format` and reads it the way inspection does: info, the first MiB, a few odd ranges, the end. */
export async function exerciseImage(format: ImageFormat, path: string): Promise<void> {
  const dev = await format.open(path, fuzzContext());
  try {
    await exerciseDevice(dev);
  } finally {
    await dev.close();
  }
}

export async function exerciseDevice(dev: ImageDevice): Promise<void> {
  dev.info();
  const size = dev.size;
  if (size <= 0) return;
  // each read on its own: a damaged cluster ends that read, the others still reach their tables
  const at = (off: number, len: number) =>
    expectTyped(() => {
      const o = Math.max(0, Math.min(off, size - 1));
      return dev.read(o, Math.max(1, Math.min(len, size - o)));
    });
  await at(0, 65536);
  await at(65536, 1 << 20);
  await at(Math.floor(size / 2 / 4096) * 4096 - 512, 70000); // crosses a block/grain/cluster boundary
  await at(Math.floor(size / 3), 4096 + 13);
  await at(size - 4096, 4096);
}
