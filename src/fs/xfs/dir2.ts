import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { fileTypeOfDirentType } from '../mode.js';
import type { FileType } from '../types.js';

/** One directory entry as stored (names are raw bytes, shown as UTF-8). */
export interface XfsDirEntry {
  name: string;
  ino: number;
  type: FileType;
}

export const XD2B_MAGIC = 0x58443242; // v4 single-block directory
export const XD2D_MAGIC = 0x58443244; // v4 data block
export const XDB3_MAGIC = 0x58444233; // v5 single-block directory
export const XDD3_MAGIC = 0x58444433; // v5 data block
/** Directory address space: data blocks live below 32 GiB, leaf/free index blocks above it. */
export const DIR2_LEAF_OFFSET_BYTES = 32 * 1024 ** 3;

/**
 * Short-form directory (inline in the inode): count, i8count, parent inode,
 * then entries of namelen, 2-byte offset tag, name, [ftype], inode number
 * (4 bytes, or 8 when i8count is non-zero).
 */
export function parseShortformDir(fork: Buffer, size: number, hasFtype: boolean, dirIno: number): { parent: number; entries: XfsDirEntry[] } {
  const r = new BinaryReader(fork.subarray(0, size), `xfs short-form directory ${dirIno}`);
  const count = r.u8(0);
  const i8count = r.u8(1);
  const inoLen = i8count ? 8 : 4;
  const readIno = (off: number) => (inoLen === 8 ? r.u64be(off) : r.u32be(off));
  const parent = readIno(2);
  let off = 2 + inoLen;
  const entries: XfsDirEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = r.u8(off);
    if (nameLen === 0) throw corrupt(`xfs: short-form directory ${dirIno}: empty name in entry ${i}`);
    const name = r.bytes(off + 3, nameLen).toString('utf8');
    let p = off + 3 + nameLen;
    let type: FileType = 'unknown';
    if (hasFtype) type = fileTypeOfDirentType(r.u8(p++));
    entries.push({ name, ino: readIno(p), type });
    off = p + inoLen;
  }
  return { parent, entries };
}

/**
 * Entries of one directory data block (block form XD2B/XDB3, or data block
 * XD2D/XDD3 of the leaf/node/btree forms). `expectBlockForm` says whether this
 * must be the single-block form (whose tail holds the hash leaf).
 */
export function parseDataBlock(buf: Buffer, crc: boolean, hasFtype: boolean, what: string, out: XfsDirEntry[]): void {
  const r = new BinaryReader(buf, what);
  const magic = r.u32be(0);
  const blockMagic = crc ? XDB3_MAGIC : XD2B_MAGIC;
  const dataMagic = crc ? XDD3_MAGIC : XD2D_MAGIC;
  if (magic !== blockMagic && magic !== dataMagic) throw corrupt(`xfs: ${what}: bad directory block magic 0x${magic.toString(16)}`);
  let end = buf.length;
  if (magic === blockMagic) {
    // Block form: the tail (count, stale) and `count` 8-byte leaf entries end the block.
    const leafCount = r.u32be(buf.length - 8);
    end = buf.length - 8 - leafCount * 8;
  }
  let off = crc ? 64 : 16;
  if (end < off) throw corrupt(`xfs: ${what}: directory block tail overlaps its header`);
  while (off < end) {
    if (r.u16be(off) === 0xffff) {
      // Unused region: freetag, length (8-byte multiple).
      const len = r.u16be(off + 2);
      if (len < 8 || len % 8 !== 0 || off + len > end) throw corrupt(`xfs: ${what}: bad free region length ${len} at ${off}`);
      off += len;
      continue;
    }
    const ino = r.u64be(off);
    const nameLen = r.u8(off + 8);
    if (nameLen === 0) throw corrupt(`xfs: ${what}: empty name at offset ${off}`);
    const name = r.bytes(off + 9, nameLen).toString('utf8');
    const type = hasFtype ? fileTypeOfDirentType(r.u8(off + 9 + nameLen)) : 'unknown';
    const len = (8 + 1 + nameLen + (hasFtype ? 1 : 0) + 2 + 7) & ~7;
    if (off + len > end) throw corrupt(`xfs: ${what}: entry at ${off} runs past the data area`);
    out.push({ name, ino, type });
    off += len;
  }
}
