import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

/** One data-fork mapping: file blocks [startOff, startOff+count) live at fs block `startBlock`. */
export interface Extent {
  startOff: number;
  startBlock: number;
  count: number;
  /** Preallocated, never written: reads as zeros. */
  unwritten: boolean;
}

export const BMAP_MAGIC = 0x424d4150; // "BMAP" (v4)
export const BMA3_MAGIC = 0x424d4133; // "BMA3" (v5)
/** Height limit of a bmbt; real trees are 1–5 levels deep. */
export const MAX_BMBT_LEVELS = 9;
/** Sanity bound on extents per fork, so hostile counts cannot force huge allocations. */
export const MAX_EXTENTS = 4_000_000;

const M21 = (1n << 21n) - 1n;
const M54 = (1n << 54n) - 1n;

/** Decodes `n` packed 128-bit big-endian extent records at `off`. */
export function decodeExtents(r: BinaryReader, off: number, n: number, out: Extent[]): void {
  if (out.length + n > MAX_EXTENTS) throw corrupt(`xfs: more than ${MAX_EXTENTS} extents in one fork`);
  for (let i = 0; i < n; i++) {
    const l0 = r.u64beBig(off + i * 16);
    const l1 = r.u64beBig(off + i * 16 + 8);
    out.push({
      unwritten: l0 >> 63n === 1n,
      startOff: Number((l0 >> 9n) & M54),
      startBlock: Number(((l0 & 0x1ffn) << 43n) | (l1 >> 21n)),
      count: Number(l1 & M21),
    });
  }
}

/** Checks the extents are sorted and non-overlapping, which the reader's lookups rely on. */
export function checkExtentOrder(ext: Extent[], what: string): void {
  let end = 0;
  for (const e of ext) {
    if (e.count === 0 || e.startOff < end) throw corrupt(`xfs: ${what}: extent list out of order or overlapping at file block ${e.startOff}`);
    end = e.startOff + e.count;
  }
}

/**
 * Reads all extents of a B+tree-format fork. `root` is the in-inode root
 * (xfs_bmdr_block: level, numrecs, keys, pointers); children are long-form
 * btree blocks read through `readBlock`.
 */
export async function readBmbtExtents(
  root: Buffer,
  crc: boolean,
  blockSize: number,
  readBlock: (fsbno: number) => Promise<Buffer>,
  what: string,
): Promise<Extent[]> {
  const r = new BinaryReader(root, `${what} bmbt root`);
  const level = r.u16be(0);
  const numrecs = r.u16be(2);
  const rootMax = Math.floor((root.length - 4) / 16);
  if (level < 1 || level > MAX_BMBT_LEVELS) throw corrupt(`xfs: ${what}: bmbt root level ${level} is absurd`);
  if (numrecs < 1 || numrecs > rootMax) throw corrupt(`xfs: ${what}: bmbt root has ${numrecs} records (max ${rootMax})`);
  const out: Extent[] = [];
  const hdr = crc ? 72 : 24;
  const maxRecs = Math.floor((blockSize - hdr) / 16);
  const visited = new Set<number>();

  const visit = async (fsbno: number, expectLevel: number): Promise<void> => {
    if (visited.has(fsbno)) throw corrupt(`xfs: ${what}: bmbt block ${fsbno} referenced twice (loop)`);
    visited.add(fsbno);
    const b = new BinaryReader(await readBlock(fsbno), `${what} bmbt block ${fsbno}`);
    const magic = b.u32be(0);
    if (magic !== (crc ? BMA3_MAGIC : BMAP_MAGIC)) throw corrupt(`xfs: ${what}: bmbt block ${fsbno} has bad magic 0x${magic.toString(16)}`);
    const lvl = b.u16be(4);
    const n = b.u16be(6);
    if (lvl !== expectLevel) throw corrupt(`xfs: ${what}: bmbt block ${fsbno} at level ${lvl}, expected ${expectLevel}`);
    if (n > maxRecs) throw corrupt(`xfs: ${what}: bmbt block ${fsbno} claims ${n} records (max ${maxRecs})`);
    if (lvl === 0) {
      decodeExtents(b, hdr, n, out);
      return;
    }
    const ptrOff = hdr + maxRecs * 8;
    for (let i = 0; i < n; i++) await visit(b.u64be(ptrOff + i * 8), lvl - 1);
  };

  const ptrOff = 4 + rootMax * 8;
  for (let i = 0; i < numrecs; i++) await visit(r.u64be(ptrOff + i * 8), level - 1);
  checkExtentOrder(out, what);
  return out;
}

/** Index of the extent containing file block `fb`, or of the first extent after it (binary search). */
export function findExtent(ext: Extent[], fb: number): number {
  let lo = 0;
  let hi = ext.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = ext[mid]!;
    if (e.startOff + e.count <= fb) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
