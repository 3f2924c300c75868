import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { fileTypeOfDirentType } from '../mode.js';
import type { FileType } from '../types.js';
import { KEY_SIZE, readKey, type Key } from './key.js';

const FIXED = KEY_SIZE + 8 + 2 + 2 + 1; // location, transid, data_len, name_len, type

export interface BtrfsDirItem {
  /** INODE_ITEM key of the target, or ROOT_ITEM key of a subvolume. */
  location: Key;
  type: FileType;
  name: Buffer;
}

/** A DIR_ITEM / DIR_INDEX item: one or more packed entries (DIR_ITEM packs hash collisions). */
export function parseDirItems(data: Buffer, what: string): BtrfsDirItem[] {
  const r = new BinaryReader(data, `btrfs ${what}`);
  const out: BtrfsDirItem[] = [];
  let off = 0;
  while (off < data.length) {
    const location = readKey(r, off);
    const dataLen = r.u16le(off + KEY_SIZE + 8);
    const nameLen = r.u16le(off + KEY_SIZE + 10);
    const type = r.u8(off + KEY_SIZE + 12);
    if (nameLen === 0 || nameLen > 255) throw corrupt(`btrfs: ${what}: name length ${nameLen}`);
    const name = r.bytes(off + FIXED, nameLen);
    out.push({ location, type: fileTypeOfDirentType(type), name });
    off += FIXED + nameLen + dataLen;
  }
  return out;
}
