import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { ATTR_FLAG, type Attr, type NonResidentAttr } from './attribute.js';
import { lznt1Decompress } from './lznt1.js';
import { decodeRunlist, findRun, type Run } from './runlist.js';

export interface Volume {
  dev: BlockDevice;
  clusterSize: number;
  totalClusters: number;
}

/** Largest single device read, so a huge request does not become one huge allocation per run. */
const MAX_COMPRESSION_UNIT = 1 << 20;

/**
 * The contents of one attribute (resident, or non-resident in one or more
 * segments). Bytes past the initialized size read as zeros; sparse runs read as
 * zeros; LZNT1-compressed attributes are decompressed per compression unit.
 */
export class AttrStream {
  readonly size: number;
  readonly initializedSize: number;
  private readonly runs: Run[] = [];
  private readonly resident?: Buffer;
  private readonly unitClusters: number = 0;
  private readonly encrypted: boolean = false;

  constructor(
    private readonly vol: Volume,
    segments: Attr[],
    readonly what: string,
    /** Only some segments are known yet (bootstrapping $MFT from record 0). */
    partial = false,
  ) {
    const first = segments[0];
    if (!first) throw corrupt(`${what}: attribute has no segments`);
    if (first.resident) {
      if (segments.length > 1) throw corrupt(`${what}: resident attribute split across records`);
      this.resident = first.value;
      this.size = first.value.length;
      this.initializedSize = this.size;
      return;
    }
    const segs = segments as NonResidentAttr[];
    if (segs.some((s) => s.resident)) throw corrupt(`${what}: attribute mixes resident and non-resident segments`);
    segs.sort((a, b) => a.startVcn - b.startVcn);
    const head = segs[0]!;
    if (head.startVcn !== 0) throw corrupt(`${what}: first attribute segment starts at VCN ${head.startVcn}`);
    this.encrypted = (head.flags & ATTR_FLAG.ENCRYPTED) !== 0;
    this.size = head.dataSize;
    this.initializedSize = head.initializedSize;
    let next = 0;
    for (const s of segs) {
      if (s.startVcn !== next) throw corrupt(`${what}: attribute segments leave a gap or overlap at VCN ${next}`);
      const runs = decodeRunlist(s.mappingPairs, s.startVcn, s.lastVcn, vol.totalClusters, what);
      for (const r of runs) this.runs.push(r);
      next = s.lastVcn + 1;
    }
    const cs = vol.clusterSize;
    if (!partial && Math.ceil(this.size / cs) > next) {
      throw corrupt(`${what}: data size ${this.size} exceeds the ${next} mapped clusters`);
    }
    if (head.flags & ATTR_FLAG.COMPRESSED) {
      if (head.compressionUnit === 0 || head.compressionUnit > 16 || cs << head.compressionUnit > MAX_COMPRESSION_UNIT) {
        throw corrupt(`${what}: compression unit of 2^${head.compressionUnit} clusters`);
      }
      this.unitClusters = 1 << head.compressionUnit;
    }
  }

  /** Device byte offset of attribute byte `pos` (undefined when resident or sparse); for tests and tools. */
  deviceOffset(pos: number): number | undefined {
    if (this.resident) return undefined;
    const cs = this.vol.clusterSize;
    const run = this.runs[findRun(this.runs, Math.floor(pos / cs))];
    if (!run || run.lcn < 0) return undefined;
    return run.lcn * cs + (pos - run.vcn * cs);
  }

  /** Number of runs (fragments, holes included) of a non-resident attribute. */
  get runCount(): number {
    return this.runs.length;
  }

  /** Reads up to `length` bytes at `offset`; short only at the end of the attribute. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`invalid read ${offset}+${length}`);
    }
    const end = Math.min(offset + length, this.size);
    if (end <= offset) return Buffer.alloc(0);
    if (this.encrypted) throw new GuestkitError('ENCRYPTED', `${this.what}: file is EFS-encrypted and cannot be read`);
    if (this.resident) return Buffer.from(this.resident.subarray(offset, end));
    const out = Buffer.alloc(end - offset);
    const dataEnd = Math.min(end, this.initializedSize);
    if (dataEnd > offset) {
      if (this.unitClusters) await this.readCompressed(offset, dataEnd, out);
      else await this.readPlain(offset, dataEnd, out, 0);
    }
    return out;
  }

  /** Copies attribute bytes [from, to) into `out`, byte `from` landing at `outOff`. */
  private async readPlain(from: number, to: number, out: Buffer, outOff: number): Promise<void> {
    const cs = this.vol.clusterSize;
    let pos = from;
    let i = findRun(this.runs, Math.floor(pos / cs));
    while (pos < to) {
      const run = this.runs[i];
      if (i < 0 || !run) throw corrupt(`${this.what}: offset ${pos} is not mapped by the runlist`);
      const runStart = run.vcn * cs;
      const runEnd = Math.min((run.vcn + run.length) * cs, to);
      if (run.lcn >= 0) {
        const devOff = run.lcn * cs + (pos - runStart);
        const buf = await this.vol.dev.read(devOff, runEnd - pos);
        buf.copy(out, pos - from + outOff);
      }
      pos = runEnd;
      i++;
    }
  }

  private async readCompressed(from: number, to: number, out: Buffer): Promise<void> {
    const cs = this.vol.clusterSize;
    const unitBytes = this.unitClusters * cs;
    for (let u = Math.floor(from / unitBytes); u * unitBytes < to; u++) {
      const uStart = u * unitBytes;
      const uEnd = uStart + unitBytes;
      const lo = Math.max(from, uStart);
      const hi = Math.min(to, uEnd);
      const vcn0 = u * this.unitClusters;
      // Allocated clusters of this unit come first; a sparse tail marks it compressed.
      let allocated = 0;
      let sparse = 0;
      for (let i = findRun(this.runs, vcn0); i >= 0 && i < this.runs.length; i++) {
        const run = this.runs[i]!;
        if (run.vcn >= vcn0 + this.unitClusters) break;
        const n = Math.min(run.vcn + run.length, vcn0 + this.unitClusters) - Math.max(run.vcn, vcn0);
        if (run.lcn < 0) sparse += n;
        else allocated += n;
      }
      if (allocated === 0) continue; // whole unit is a hole
      if (sparse === 0 && allocated === this.unitClusters) {
        await this.readPlain(lo, hi, out, lo - from); // stored uncompressed
        continue;
      }
      const comp = Buffer.alloc(allocated * cs);
      await this.readPlain(uStart, uStart + allocated * cs, comp, 0);
      const plain = Buffer.alloc(unitBytes);
      lznt1Decompress(comp, plain, `${this.what} (compression unit ${u})`);
      plain.copy(out, lo - from, lo - uStart, hi - uStart);
    }
  }
}
