import type { BlockDevice } from '../disk/types.js';
import { GuestkitError } from '../protocol/errors.js';
import type { FileSystem } from './types.js';

export interface FsOpenOptions {
  /** Btrfs: subvolume path (fstab `subvol=`) or id (`subvolid=`). */
  subvol?: string;
  subvolid?: number;
}

type Opener = (dev: BlockDevice, opts: FsOpenOptions) => Promise<FileSystem>;

/**
 * Filesystem type (as the probe names it: ext2/ext3/ext4, vfat, xfs, btrfs, ntfs)
 * → driver. Each driver module adds its own line.
 */
const OPENERS: Record<string, () => Promise<Opener>> = {
  ext2: async () => (await import('./ext4/index.js')).openExt,
  ext3: async () => (await import('./ext4/index.js')).openExt,
  ext4: async () => (await import('./ext4/index.js')).openExt,
  vfat: async () => (await import('./fat/index.js')).openFat,
  xfs: async () => (await import('./xfs/index.js')).openXfs,
  btrfs: async () => (await import('./btrfs/index.js')).openBtrfs,
  ntfs: async () => (await import('./ntfs/ntfs.js')).openNtfs,
};

/** Drivers already imported: a dynamic import() of a loaded module still pays the loader's resolve. */
const loaded = new Map<string, Promise<Opener>>();

export function supportedFilesystems(): string[] {
  return Object.keys(OPENERS).sort();
}

/** Opens the filesystem of `type` on `dev`; UNSUPPORTED_FORMAT for types guestkit cannot read. */
export async function openFilesystem(dev: BlockDevice, type: string, opts: FsOpenOptions = {}): Promise<FileSystem> {
  const load = OPENERS[type];
  if (!load) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${dev.name}: filesystem type '${type}' cannot be read (readable: ${supportedFilesystems().join(', ') || 'none'})`, {
      details: { device: dev.name, type },
    });
  }
  let opener = loaded.get(type);
  if (!opener) {
    opener = load();
    loaded.set(type, opener);
    opener.catch(() => loaded.delete(type));
  }
  return (await opener)(dev, opts);
}
