import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

const IBODY_MAGIC = 0xea020000;
/** Name indexes (prefixes) of ext4 xattrs; 7 = "system." (where inline data lives). */
export const XATTR_INDEX_SYSTEM = 7;

/**
 * Finds one xattr value in an inode's in-body xattr area (the bytes after
 * i_extra_isize). Only in-inode values are supported: inline data never
 * lives in an xattr block or an EA inode.
 */
export function findIbodyXattr(ino: number, area: Buffer, index: number, name: string): Buffer | undefined {
  if (area.length < 4) return undefined;
  const r = new BinaryReader(area, `ext inode ${ino} in-inode xattrs`);
  if (r.u32le(0) !== IBODY_MAGIC) return undefined;
  const base = 4; // value offsets count from the first entry
  let off = base;
  // Each entry is at least 16 bytes, so this bounds the loop.
  while (off + 4 <= area.length) {
    if (r.u32le(off) === 0) break;
    const nameLen = r.u8(off);
    const nameIndex = r.u8(off + 1);
    const valueOffs = r.u16le(off + 2);
    const valueInum = r.u32le(off + 4);
    const valueSize = r.u32le(off + 8);
    const entName = r.bytes(off + 16, nameLen).toString('latin1');
    if (nameIndex === index && entName === name) {
      if (valueInum !== 0) return undefined;
      if (base + valueOffs + valueSize > area.length) {
        throw corrupt(`ext inode ${ino}: xattr value ${valueOffs}+${valueSize} lies outside the inode's xattr area`, { inode: ino });
      }
      return area.subarray(base + valueOffs, base + valueOffs + valueSize);
    }
    off += (16 + nameLen + 3) & ~3;
  }
  return undefined;
}
