import { openFilesystem } from '../../src/fs/open.js';
import { SparseDevice } from './mem-device.js';
import type { FuzzTarget } from './target.js';
import { expectTyped } from './typed.js';
import { walkFs, type WalkLimits } from './walk-fs.js';

/** Smaller than the default walk: thousands of executions a minute, and seeds that hold what it reaches. */
export const SMALL_WALK: Partial<WalkLimits> = { entries: 200, fileBytes: 8192, depth: 8 };

/** A filesystem driver's target: open the sparse input as `type`, walk it as inspection does. */
export function fsTarget(type: string, describe: string, seeds: (walk: Partial<WalkLimits>) => Promise<Buffer[]>, walk: Partial<WalkLimits> = SMALL_WALK): FuzzTarget {
  return {
    describe,
    async run(data) {
      await expectTyped(async () => {
        const fs = await openFilesystem(new SparseDevice(data), type);
        try {
          await walkFs(fs, walk);
        } finally {
          await fs.close?.();
        }
      });
    },
    seeds: () => seeds(walk),
  };
}
