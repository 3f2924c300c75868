import { checkDeviceRead } from '../../disk/raw.js';
import type { BlockDevice } from '../../disk/types.js';

/** One mapped segment of an LV: `length` bytes from LV byte `start`, over one area per stripe. */
export interface MappedSegment {
  start: number;
  length: number;
  /** Bytes per chunk; 0 for linear (one area). */
  stripeSize: number;
  /** Per stripe: the PV device and the byte offset of the stripe's first extent on it. */
  areas: { dev: BlockDevice; offset: number }[];
}

/**
 * A linear/striped LV as a block device: reads are split at segment and stripe-chunk
 * boundaries and sent to the PVs as dm-linear / dm-stripe would (chunk c of a segment lies
 * on stripe c mod n, at chunk c div n of that stripe's area).
 */
export class LvDevice implements BlockDevice {
  constructor(
    readonly name: string,
    readonly size: number,
    private readonly segments: MappedSegment[],
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    const out = Buffer.alloc(length);
    const pieces: Promise<void>[] = [];
    let pos = offset;
    const end = offset + length;
    let si = this.findSegment(pos);
    while (pos < end) {
      const seg = this.segments[si]!;
      const segEnd = seg.start + seg.length;
      const rel = pos - seg.start;
      let devOff: number;
      let n: number;
      let dev: BlockDevice;
      if (seg.areas.length === 1) {
        dev = seg.areas[0]!.dev;
        devOff = seg.areas[0]!.offset + rel;
        n = Math.min(end, segEnd) - pos;
      } else {
        const chunk = Math.floor(rel / seg.stripeSize);
        const within = rel - chunk * seg.stripeSize;
        const area = seg.areas[chunk % seg.areas.length]!;
        dev = area.dev;
        devOff = area.offset + Math.floor(chunk / seg.areas.length) * seg.stripeSize + within;
        n = Math.min(end - pos, seg.stripeSize - within, segEnd - pos);
      }
      const at = pos - offset;
      pieces.push(dev.read(devOff, n).then((b) => void b.copy(out, at)));
      pos += n;
      if (pos >= segEnd) si++;
    }
    await Promise.all(pieces);
    return out;
  }

  private findSegment(pos: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.start <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  async close(): Promise<void> {}
}

/** Stands in for an LV that cannot be read (unsupported segment type, missing PV): every read throws `error`. */
export class UnavailableDevice implements BlockDevice {
  constructor(
    readonly name: string,
    readonly size: number,
    readonly error: Error,
  ) {}

  async read(): Promise<Buffer> {
    throw this.error;
  }

  async close(): Promise<void> {}
}
