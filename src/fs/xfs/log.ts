import type { BlockDevice } from '../../disk/types.js';
import { BinaryReader } from '../../util/binary.js';
import type { XfsSuperblock } from './superblock.js';

const XLOG_HEADER_MAGIC = 0xfeedbabe;
const XLOG_UNMOUNT_TRANS = 0x20;
const BB = 512;
/** How far back from the head the last record header is searched (records are at most 256 KiB). */
const MAX_BACK_BBS = 1024;

/**
 * Whether the internal log holds changes not yet written back (not cleanly
 * unmounted). Finds the head like xlog_find_head (every 512-byte log sector
 * starts with its cycle number; the head is where the cycle drops), then
 * checks that the last record is the single-op unmount record. Never replays.
 * Returns undefined when the state cannot be told (external log, odd layout).
 */
export async function logIsDirty(dev: BlockDevice, sb: XfsSuperblock, fsbToByte: (fsbno: number) => number): Promise<boolean | undefined> {
  if (sb.logStart === 0 || sb.logBlocks === 0) return undefined;
  const base = fsbToByte(sb.logStart);
  const nbb = (sb.logBlocks * sb.blockSize) / BB;
  if (base + nbb * BB > dev.size) return undefined;
  // Record headers start with the magic and hold the cycle in the next word; data sectors start with it.
  const cycleAt = async (i: number) => {
    const b = await dev.read(base + i * BB, 8);
    return b.readUInt32BE(0) === XLOG_HEADER_MAGIC ? b.readUInt32BE(4) : b.readUInt32BE(0);
  };
  const first = await cycleAt(0);
  if (first === 0) return false; // never written since mkfs zeroed it
  const last = await cycleAt(nbb - 1);
  let head = 0;
  if (last !== first) {
    // Blocks [0, head) carry cycle `first`, [head, nbb) the previous cycle.
    let lo = 0;
    let hi = nbb - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await cycleAt(mid)) === first) lo = mid;
      else hi = mid;
    }
    head = hi;
  }
  // The record before the head: scan back (wrapping) for a header of the head's cycle.
  const back = Math.min(MAX_BACK_BBS, nbb);
  const start = head - back;
  const chunks: Buffer[] = [];
  if (start < 0) chunks.push(await dev.read(base + (nbb + start) * BB, -start * BB));
  chunks.push(await dev.read(base + Math.max(0, start) * BB, (head - Math.max(0, start)) * BB));
  const win = new BinaryReader(Buffer.concat(chunks), 'xfs log');
  for (let i = back - 1; i >= 0; i--) {
    const off = i * BB;
    if (win.u32be(off) !== XLOG_HEADER_MAGIC) continue;
    const numOps = win.u32be(off + 40);
    const version = win.u32be(off + 8);
    const hSize = win.u32be(off + 320);
    // v2 logs with large records carry extra header sectors before the data.
    const hdrBBs = version === 2 && hSize > 32768 ? Math.ceil(hSize / 32768) : 1;
    const opOff = off + hdrBBs * BB;
    if (numOps !== 1 || opOff + 12 > win.length) return true;
    return (win.u8(opOff + 9) & XLOG_UNMOUNT_TRANS) === 0;
  }
  return undefined;
}
