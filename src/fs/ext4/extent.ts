import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { pushRun, type MapContext, type Run } from './blockmap.js';

const EXTENT_MAGIC = 0xf30a;
/** The kernel never builds deeper trees (ext4_ext_check: depth > 5 is corruption). */
const MAX_DEPTH = 5;
const INIT_MAX_LEN = 32768;

/**
 * Maps logical blocks [first, first+count) of an extent-mapped inode to
 * initialized runs; anything not returned (holes, unwritten extents) reads as zeros.
 * Only index nodes covering the range are read.
 */
export async function mapExtents(ctx: MapContext, ino: number, root: Buffer, first: number, count: number): Promise<Run[]> {
  const out: Run[] = [];
  await walk(ctx, ino, root, 'inode i_block', undefined, first, first + count, out);
  return out;
}

async function walk(
  ctx: MapContext,
  ino: number,
  node: Buffer,
  where: string,
  wantDepth: number | undefined,
  first: number,
  end: number,
  out: Run[],
): Promise<void> {
  const r = new BinaryReader(node, `ext inode ${ino} extent node (${where})`);
  const bad = (what: string) => corrupt(`ext inode ${ino}: extent node in ${where}: ${what}`, { inode: ino, node: where });
  const magic = r.u16le(0);
  if (magic !== EXTENT_MAGIC) throw bad(`header magic 0x${magic.toString(16)} (expected 0xf30a)`);
  const entries = r.u16le(2);
  const max = r.u16le(4);
  const depth = r.u16le(6);
  if (depth > MAX_DEPTH) throw bad(`depth ${depth} exceeds ${MAX_DEPTH}`);
  if (wantDepth !== undefined && depth !== wantDepth) throw bad(`depth ${depth} where ${wantDepth} was expected (a loop or a misplaced node)`);
  if (max === 0 || 12 + max * 12 > node.length || entries > max) throw bad(`${entries} entries / ${max} max do not fit ${node.length} bytes`);

  let prevEnd = 0;
  if (depth === 0) {
    for (let i = 0; i < entries; i++) {
      const o = 12 + i * 12;
      const lblk = r.u32le(o);
      let len = r.u16le(o + 4);
      const uninit = len > INIT_MAX_LEN;
      if (uninit) len -= INIT_MAX_LEN;
      const pblk = r.u16le(o + 6) * 2 ** 32 + r.u32le(o + 8);
      if (len === 0) throw bad(`extent ${i} has length 0`);
      if (lblk < prevEnd) throw bad(`extent ${i} (logical ${lblk}) overlaps or is out of order`);
      prevEnd = lblk + len;
      if (lblk >= end) break;
      if (prevEnd <= first) continue;
      if (pblk < ctx.firstDataBlock || pblk + len > ctx.blocksCount) {
        throw bad(`extent ${i} points at blocks ${pblk}+${len}, outside the filesystem's ${ctx.blocksCount} blocks`);
      }
      if (uninit) continue; // preallocated, never written: reads as zeros
      const s = Math.max(lblk, first);
      const e = Math.min(prevEnd, end);
      pushRun(out, s, pblk + (s - lblk), e - s);
    }
    return;
  }
  for (let i = 0; i < entries; i++) {
    const o = 12 + i * 12;
    const lblk = r.u32le(o);
    if (i > 0 && lblk <= prevEnd) throw bad(`index ${i} (logical ${lblk}) is out of order`);
    prevEnd = lblk;
    if (lblk >= end) break;
    const nextStart = i + 1 < entries ? r.u32le(o + 12) : Infinity;
    if (nextStart <= first) continue;
    const child = r.u16le(o + 8) * 2 ** 32 + r.u32le(o + 4);
    if (child < ctx.firstDataBlock || child >= ctx.blocksCount) {
      throw bad(`index ${i} points at block ${child}, outside the filesystem's ${ctx.blocksCount} blocks`);
    }
    const buf = await ctx.readMeta(child);
    // A child only maps its own span [lblk, nextStart): without this clamp, index
    // entries that share one child make the walk exponential in the depth.
    await walk(ctx, ino, buf, `block ${child}`, depth - 1, Math.max(first, lblk), Math.min(end, nextStart), out);
  }
}
