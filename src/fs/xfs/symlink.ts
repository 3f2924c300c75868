import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const XSLM_MAGIC = 0x58534c4d; // "XSLM": v5 remote symlink block header
const XSLM_HDR = 56;
/** Linux and XFS limit symlink targets to this many bytes. */
export const XFS_SYMLINK_MAXLEN = 1024;

/** Target bytes held in one remote symlink block (v5 blocks start with a header). */
export function remoteSymlinkChunk(block: Buffer, crc: boolean, ino: number, expectOffset: number): Buffer {
  if (!crc) return block;
  const r = new BinaryReader(block, `xfs symlink block of inode ${ino}`);
  if (r.u32be(0) !== XSLM_MAGIC) throw corrupt(`xfs: remote symlink block of inode ${ino} has bad magic (expected XSLM)`, { ino });
  const off = r.u32be(4);
  const bytes = r.u32be(8);
  if (off !== expectOffset || XSLM_HDR + bytes > block.length) throw corrupt(`xfs: remote symlink header of inode ${ino} is inconsistent`, { ino });
  if (r.u64be(32) !== ino) throw corrupt(`xfs: remote symlink block names owner ${r.u64be(32)}, expected ${ino}`, { ino });
  return r.bytes(XSLM_HDR, bytes);
}
