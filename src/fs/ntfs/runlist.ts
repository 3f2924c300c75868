import { corrupt } from '../../protocol/errors.js';

/** A run of clusters: `lcn` -1 marks a sparse (unallocated) run. */
export interface Run {
  vcn: number;
  lcn: number;
  length: number;
}

/** Reads a little-endian integer of 1..8 bytes; signed for LCN deltas. */
function readVar(buf: Buffer, off: number, n: number, signed: boolean): number {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]!);
  if (signed && n > 0 && (buf[off + n - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * n);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return NaN;
  return Number(v);
}

/**
 * Decodes the mapping pairs of one attribute segment covering `startVcn..lastVcn`.
 * Every run must lie inside the volume's `totalClusters`.
 */
export function decodeRunlist(mp: Buffer, startVcn: number, lastVcn: number, totalClusters: number, what: string): Run[] {
  const runs: Run[] = [];
  let off = 0;
  let vcn = startVcn;
  let lcn = 0;
  // Every run takes at least two bytes, so this ends within mp.length / 2 iterations.
  while (off < mp.length) {
    const header = mp[off]!;
    if (header === 0) break;
    const lenBytes = header & 0x0f;
    const offBytes = header >> 4;
    if (lenBytes === 0 || lenBytes > 8 || offBytes > 8 || off + 1 + lenBytes + offBytes > mp.length) {
      throw corrupt(`${what}: malformed run header 0x${header.toString(16)} at byte ${off} of the runlist`);
    }
    const length = readVar(mp, off + 1, lenBytes, true);
    if (!(length > 0)) throw corrupt(`${what}: run of ${length} clusters`);
    if (offBytes === 0) {
      runs.push({ vcn, lcn: -1, length });
    } else {
      const delta = readVar(mp, off + 1 + lenBytes, offBytes, true);
      lcn += delta;
      if (!Number.isSafeInteger(lcn) || lcn < 0 || lcn + length > totalClusters) {
        throw corrupt(`${what}: run at VCN ${vcn} points to clusters ${lcn}..${lcn + length - 1}, outside the volume (${totalClusters} clusters)`);
      }
      runs.push({ vcn, lcn, length });
    }
    vcn += length;
    if (vcn > lastVcn + 1) throw corrupt(`${what}: runlist covers VCN ${vcn - 1}, past the attribute's last VCN ${lastVcn}`);
    off += 1 + lenBytes + offBytes;
  }
  if (vcn !== lastVcn + 1) throw corrupt(`${what}: runlist ends at VCN ${vcn}, expected ${lastVcn + 1}`);
  return runs;
}

/** Index of the run containing `vcn` (binary search), or -1. */
export function findRun(runs: readonly Run[], vcn: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = runs[mid]!;
    if (vcn < r.vcn) hi = mid - 1;
    else if (vcn >= r.vcn + r.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}
