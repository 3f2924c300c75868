import { corrupt } from '../../protocol/errors.js';
import type { DirEntry, FileType } from '../types.js';

const FT: FileType[] = ['unknown', 'file', 'directory', 'chardev', 'blockdev', 'fifo', 'socket', 'symlink'];

export interface DirParseContext {
  ino: number;
  blockSize: number;
  inodesCount: number;
  /** Entries carry a file type byte (incompat filetype); otherwise name_len is 16 bits. */
  filetype: boolean;
}

/** rec_len as stored; 64 KiB blocks need the extra encoding (ext4_rec_len_from_disk). */
function recLen(raw: number, blockSize: number): number {
  if (blockSize < 65536) return raw;
  if (raw === 65535 || raw === 0) return blockSize;
  return (raw & 65532) | ((raw & 3) << 16);
}

/**
 * Parses one linear directory region (a directory block, or a part of an
 * inline directory). htree interior blocks look like one empty entry
 * (inode 0 spanning the block) and the dx_root hides behind "..", so a
 * linear read of every block returns exactly the live entries.
 */
export function parseDirRegion(ctx: DirParseContext, buf: Buffer, where: string, out: DirEntry[]): void {
  const size = buf.length;
  let off = 0;
  while (off < size) {
    const bad = (what: string) =>
      corrupt(`ext directory inode ${ctx.ino}, ${where}, entry at byte ${off}: ${what}`, { inode: ctx.ino, where, offset: off });
    if (off + 8 > size) throw bad(`entry header runs past the end of the ${size}-byte block`);
    const ino = buf.readUInt32LE(off);
    const rec = recLen(buf.readUInt16LE(off + 4), ctx.blockSize);
    const nameLen = ctx.filetype ? buf[off + 6]! : buf.readUInt16LE(off + 6);
    if (rec < 8 || rec % 4 !== 0) throw bad(`rec_len ${rec} is invalid`);
    if (off + rec > size) throw bad(`rec_len ${rec} runs past the end of the ${size}-byte block`);
    if (ino !== 0) {
      if (nameLen === 0 || 8 + nameLen > rec) throw bad(`name length ${nameLen} does not fit rec_len ${rec}`);
      if (ino > ctx.inodesCount) throw bad(`inode number ${ino} exceeds the inode count ${ctx.inodesCount}`);
      const name = buf.toString('utf8', off + 8, off + 8 + nameLen);
      if (name !== '.' && name !== '..') {
        const t = ctx.filetype ? (FT[buf[off + 7]!] ?? 'unknown') : 'unknown';
        out.push({ name, ino, type: t });
      }
    }
    off += rec;
  }
}
