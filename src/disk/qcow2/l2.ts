import { corrupt } from '../../protocol/errors.js';
import type { Qcow2Header } from './header.js';

/** How one guest cluster (or subcluster) is stored. */
export enum Kind {
  Data = 0,
  Zero = 1,
  /** Not allocated here: read the backing file, or zeros without one. */
  Unallocated = 2,
  Compressed = 3,
}

/** Decoded L2 entry; `bitmap*` only for extended L2 standard clusters. */
export interface L2Entry {
  kind: Kind;
  /** Host offset of the cluster (Data) or of the compressed bytes (Compressed). */
  host: number;
  /** Compressed: bytes to read from `host`. */
  csize: number;
  extended: boolean;
  allocBits: number;
  zeroBits: number;
}

const TWO32 = 2 ** 32;

/** Bits 9..55 of an L1/L2 entry split in two big-endian words; bits above 2^53 are rejected. */
export function offsetBits(hi: number, lo: number, what: string): number {
  const h = hi & 0x00ffffff;
  if (h >= 0x200000) throw corrupt(`${what}: offset beyond 2^53`);
  return h * TWO32 + ((lo & 0xfffffe00) >>> 0);
}

/**
 * Decodes the L2 entry at `off` of `buf`. `hasDataFile`: offset 0 is a real
 * data-file offset when the copied flag is set (spec).
 */
export function decodeL2(buf: Buffer, off: number, h: Qcow2Header, hasDataFile: boolean, what: () => string): L2Entry {
  const hi = buf.readUInt32BE(off);
  const lo = buf.readUInt32BE(off + 4);
  if (hi & 0x40000000) {
    if (hasDataFile) throw corrupt(`${what()}: compressed cluster in an image with an external data file`);
    // Compressed descriptor: x = 62 - (cluster_bits - 8) low bits are the byte offset, then the sector count.
    const x = BigInt(62 - (h.clusterBits - 8));
    const v = (BigInt(hi & 0x3fffffff) << 32n) | BigInt(lo >>> 0);
    const hostBig = v & ((1n << x) - 1n);
    if (hostBig > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what()}: compressed cluster offset beyond 2^53`);
    const host = Number(hostBig);
    const nsec = Number(v >> x);
    const csize = (nsec + 1) * 512 - (host % 512);
    return { kind: Kind.Compressed, host, csize, extended: false, allocBits: 0, zeroBits: 0 };
  }
  const host = offsetBits(hi, lo, what());
  if (h.extendedL2) {
    // The 64-bit subcluster bitmap: low word = allocated, high word = reads as zeros.
    const zeroBits = buf.readUInt32BE(off + 8);
    const allocBits = buf.readUInt32BE(off + 12);
    if ((zeroBits & allocBits) !== 0) throw corrupt(`${what()}: subcluster marked both allocated and zero`);
    if (allocBits !== 0) checkDataOffset(host, hi, h, hasDataFile, what);
    return { kind: Kind.Data, host, csize: 0, extended: true, allocBits, zeroBits };
  }
  if (h.version === 3 && lo & 1) return { kind: Kind.Zero, host, csize: 0, extended: false, allocBits: 0, zeroBits: 0 };
  if (host === 0 && !(hasDataFile && hi & 0x80000000)) {
    return { kind: Kind.Unallocated, host: 0, csize: 0, extended: false, allocBits: 0, zeroBits: 0 };
  }
  checkDataOffset(host, hi, h, hasDataFile, what);
  return { kind: Kind.Data, host, csize: 0, extended: false, allocBits: 0, zeroBits: 0 };
}

function checkDataOffset(host: number, hi: number, h: Qcow2Header, hasDataFile: boolean, what: () => string): void {
  if (host % h.clusterSize !== 0) throw corrupt(`${what()}: data cluster offset ${host} is not cluster aligned`);
  if (host === 0 && !(hasDataFile && hi & 0x80000000)) throw corrupt(`${what()}: allocated subclusters without a host cluster`);
}
