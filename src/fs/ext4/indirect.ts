import { corrupt } from '../../protocol/errors.js';
import { pushRun, type MapContext, type Run } from './blockmap.js';

const DIRECT = 12;

/**
 * Maps logical blocks [first, first+count) of a classic ext2/3 block-mapped
 * inode (12 direct, single, double, triple indirect). A zero pointer is a hole;
 * a zero indirect pointer skips the whole span it would cover.
 */
export async function mapIndirect(ctx: MapContext, ino: number, iblock: Buffer, first: number, count: number): Promise<Run[]> {
  const out: Run[] = [];
  const p = ctx.blockSize / 4;
  const end = first + count;
  const check = (ptr: number, what: string) => {
    if (ptr < ctx.firstDataBlock || ptr >= ctx.blocksCount) {
      throw corrupt(`ext inode ${ino}: ${what} points at block ${ptr}, outside the filesystem's ${ctx.blocksCount} blocks`, { inode: ino, block: ptr });
    }
  };
  let l = first;
  while (l < end && l < DIRECT) {
    const ptr = iblock.readUInt32LE(l * 4);
    if (ptr !== 0) {
      check(ptr, `direct block ${l}`);
      pushRun(out, l, ptr, 1);
    }
    l++;
  }
  // Each level: logical start, how many blocks one top pointer covers per level below.
  const levels = [
    { slot: 12, start: DIRECT, depth: 1 },
    { slot: 13, start: DIRECT + p, depth: 2 },
    { slot: 14, start: DIRECT + p + p * p, depth: 3 },
  ];
  for (const lv of levels) {
    const span = p ** lv.depth;
    if (l >= end) break;
    if (l >= lv.start + span) continue;
    const top = iblock.readUInt32LE(lv.slot * 4);
    if (top === 0) {
      l = lv.start + span;
      continue;
    }
    check(top, `indirect block (slot ${lv.slot})`);
    l = await walkIndirect(ctx, ino, top, lv.depth, lv.start, l, end, out, check);
  }
  return out;
}

/** Walks an indirect block covering logical [base, base + p^depth) from `l`; returns where it stopped. */
async function walkIndirect(
  ctx: MapContext,
  ino: number,
  block: number,
  depth: number,
  base: number,
  l: number,
  end: number,
  out: Run[],
  check: (ptr: number, what: string) => void,
): Promise<number> {
  const p = ctx.blockSize / 4;
  const buf = await ctx.readMeta(block);
  const childSpan = p ** (depth - 1);
  let i = Math.floor((l - base) / childSpan);
  for (; i < p && l < end; i++) {
    const ptr = buf.readUInt32LE(i * 4);
    const childBase = base + i * childSpan;
    if (ptr === 0) {
      l = childBase + childSpan;
      continue;
    }
    check(ptr, depth === 1 ? `block ${childBase}` : `indirect block (level ${depth - 1}) in block ${block}`);
    if (depth === 1) {
      pushRun(out, childBase, ptr, 1);
      l = childBase + 1;
    } else {
      l = await walkIndirect(ctx, ino, ptr, depth - 1, childBase, Math.max(l, childBase), end, out, check);
    }
  }
  return Math.max(l, base + Math.min(i, p) * childSpan);
}
