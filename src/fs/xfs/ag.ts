import { corrupt } from '../../protocol/errors.js';
import type { XfsSuperblock } from './superblock.js';

/**
 * Allocation-group address arithmetic. XFS numbers blocks and inodes per AG:
 * an fs block number is (agno << agblklog) | agbno, an inode number is
 * (agno << (agblklog + inopblog)) | (agbno << inopblog) | slot.
 */
export class AgGeometry {
  constructor(private readonly sb: XfsSuperblock) {}

  /** Byte offset on the device of fs block `fsbno` (bmap and btree pointers use this form). */
  fsbToByte(fsbno: number, what: string): number {
    const agno = Math.floor(fsbno / 2 ** this.sb.agBlockLog);
    const agbno = fsbno % 2 ** this.sb.agBlockLog;
    if (!Number.isSafeInteger(fsbno) || fsbno < 0 || agno >= this.sb.agCount || agbno >= this.sb.agBlocks) {
      throw corrupt(`xfs: ${what} points at block ${fsbno} (AG ${agno}, block ${agbno}) outside the filesystem`, { fsbno });
    }
    return (agno * this.sb.agBlocks + agbno) * this.sb.blockSize;
  }

  /** Byte offset on the device of inode `ino`. */
  inodeToByte(ino: number): number {
    const sb = this.sb;
    const perAg = 2 ** (sb.agBlockLog + sb.inoPerBlockLog);
    const agno = Math.floor(ino / perAg);
    const agino = ino % perAg;
    const agbno = Math.floor(agino / sb.inoPerBlock);
    const slot = agino % sb.inoPerBlock;
    if (!Number.isSafeInteger(ino) || ino <= 0 || agno >= sb.agCount || agbno >= sb.agBlocks) {
      throw corrupt(`xfs: inode number ${ino} lies outside the filesystem (AG ${agno}, block ${agbno})`, { ino });
    }
    return (agno * sb.agBlocks + agbno) * sb.blockSize + slot * sb.inodeSize;
  }
}
