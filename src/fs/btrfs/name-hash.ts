import { crc32c } from '../../util/crc32c.js';

/** btrfs_name_hash: the DIR_ITEM key offset of a name, the kernel's raw crc32c(~1, name) without inversions. */
export function btrfsNameHash(name: Uint8Array): number {
  return ~crc32c(name, ~0xfffffffe >>> 0) >>> 0;
}
