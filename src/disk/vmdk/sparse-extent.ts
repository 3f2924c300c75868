import { inflateRawSync, inflateSync } from 'node:zlib';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { Lru } from '../../util/lru.js';
import type { Mapping } from '../mapped-read.js';
import type { ByteSource } from '../source.js';
import { FLAG_COMPRESSED, FLAG_MARKERS, FLAG_ZEROED_GRAIN, parseSparseHeader, type SparseHeader } from './sparse-header.js';

const GTE_ZERO = 1;
/** 64 Mi grain tables; VMDKs top out at 62 TiB (about 1 Mi tables of 512 grains). */
const MAX_TABLE_BYTES = 256 << 20;

/**
 * One hosted sparse extent: grain directory -> grain tables -> grains. Grain
 * tables are loaded on demand and kept in a bounded cache; compressed grains
 * (streamOptimized) are inflated one grain at a time and the last few kept.
 */
export class SparseExtent {
  readonly grainBytes: number;
  private readonly gtCoverage: number;
  private readonly gd: Uint32Array;
  /** Grain tables kept: about 8 MiB of them (4096 of the usual 2 KiB tables). */
  private readonly gts: Lru<number, Uint32Array>;
  /** Inflated grains kept: about 8 MiB whatever the grain size. */
  private readonly grains: Lru<number, Buffer>;

  private constructor(
    readonly src: ByteSource,
    readonly header: SparseHeader,
    /** The header that holds the real grain directory (the footer in a streamOptimized file). */
    readonly gdHeader: SparseHeader,
    gd: Uint32Array,
  ) {
    this.grainBytes = header.grainSize * 512;
    this.gtCoverage = this.grainBytes * gdHeader.numGTEsPerGT;
    this.gd = gd;
    this.grains = new Lru(Math.max(1, Math.floor((8 << 20) / this.grainBytes)));
    this.gts = new Lru(Math.max(4, Math.floor((8 << 20) / (gdHeader.numGTEsPerGT * 4))));
  }

  get compressed(): boolean {
    return (this.gdHeader.flags & FLAG_COMPRESSED) !== 0;
  }
  get capacityBytes(): number {
    return this.gdHeader.capacity * 512;
  }

  static async open(src: ByteSource, header?: SparseHeader): Promise<SparseExtent> {
    if (src.size < 512) throw corrupt(`${src.path}: ${src.size} bytes is too short for a VMDK sparse header (truncated)`);
    const h = header ?? parseSparseHeader(await src.read(0, 512), src.path);
    let g = h;
    if (h.gdOffset === null) {
      // streamOptimized: the grain directory is written last; the footer (a copy of the header) says where
      if (src.size < 1536) throw corrupt(`${src.path}: streamOptimized VMDK too short for its footer (truncated)`);
      g = parseSparseHeader(await src.read(src.size - 1024, 512), `${src.path} footer at ${src.size - 1024}`);
      if (g.gdOffset === null) throw corrupt(`${src.path}: streamOptimized VMDK footer has no grain directory offset`);
      if (g.grainSize !== h.grainSize) throw corrupt(`${src.path}: footer grain size ${g.grainSize} differs from the header's ${h.grainSize}`);
    }
    const capacity = g.capacity * 512;
    if (!Number.isSafeInteger(capacity)) throw corrupt(`${src.path}: capacity ${g.capacity} sectors is out of range`);
    const coverage = g.grainSize * 512 * g.numGTEsPerGT;
    const gdes = Math.ceil(capacity / coverage);
    const gdAt = g.gdOffset! * 512;
    // bounded by the file before allocating
    if (!Number.isSafeInteger(gdAt) || gdAt + gdes * 4 > src.size) {
      throw corrupt(`${src.path}: grain directory at sector ${g.gdOffset} (${gdes} entries) lies past end of file (${src.size} bytes)`, {
        gd_offset: g.gdOffset,
        entries: gdes,
        file_size: src.size,
      });
    }
    if (gdes * 4 > MAX_TABLE_BYTES) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: grain directory of ${gdes * 4} bytes exceeds the ${MAX_TABLE_BYTES}-byte limit`);
    }
    const raw = await src.read(gdAt, gdes * 4);
    const gd = new Uint32Array(gdes);
    const gtBytes = g.numGTEsPerGT * 4;
    for (let i = 0; i < gdes; i++) {
      const e = raw.readUInt32LE(i * 4);
      gd[i] = e;
      if (e !== 0 && e * 512 + gtBytes > src.size) {
        throw corrupt(`${src.path}: grain directory entry ${i} points to a grain table at sector ${e}, past end of file (${src.size} bytes)`, {
          entry: i,
          sector: e,
          file_size: src.size,
        });
      }
    }
    return new SparseExtent(src, h, g, gd);
  }

  /** Mapping of extent byte `offset` for at most `maxLen` bytes (never past the grain). */
  async map(offset: number, maxLen: number): Promise<{ m: Mapping; len: number }> {
    const gb = this.grainBytes;
    const grain = Math.floor(offset / gb);
    const inGrain = offset - grain * gb;
    const len = Math.min(maxLen, gb - inGrain);
    const gdi = Math.floor(offset / this.gtCoverage);
    const gtSector = this.gd[gdi];
    if (gtSector === undefined) throw corrupt(`${this.src.path}: read at ${offset} is beyond the grain directory`);
    if (gtSector === 0) return { m: { kind: 'parent' }, len };
    const gt = await this.table(gdi, gtSector);
    const gte = gt[grain - gdi * this.gdHeader.numGTEsPerGT]!;
    if (gte === 0) return { m: { kind: 'parent' }, len };
    if (gte === GTE_ZERO && this.gdHeader.flags & FLAG_ZEROED_GRAIN) return { m: { kind: 'zero' }, len };
    const at = gte * 512;
    if (!this.compressed) {
      if (at + inGrain + len > this.src.size) {
        throw corrupt(`${this.src.path}: grain ${grain} at sector ${gte} lies past end of file (${this.src.size} bytes)`, { grain, sector: gte });
      }
      return { m: { kind: 'data', src: this.src, offset: at + inGrain }, len };
    }
    return {
      m: { kind: 'custom', read: async (n) => (await this.inflated(grain, gte)).subarray(inGrain, inGrain + n) },
      len,
    };
  }

  private async table(gdi: number, sector: number): Promise<Uint32Array> {
    let gt = this.gts.get(gdi);
    if (!gt) {
      const n = this.gdHeader.numGTEsPerGT;
      const raw = await this.src.read(sector * 512, n * 4);
      gt = new Uint32Array(n);
      for (let i = 0; i < n; i++) gt[i] = raw.readUInt32LE(i * 4);
      this.gts.set(gdi, gt);
    }
    return gt;
  }

  private async inflated(grain: number, sector: number): Promise<Buffer> {
    const hit = this.grains.get(grain);
    if (hit) return hit;
    const at = sector * 512;
    const where = `${this.src.path}: compressed grain ${grain} at sector ${sector}`;
    if (at + 12 > this.src.size) throw corrupt(`${where} lies past end of file (${this.src.size} bytes)`);
    const hdr = await this.src.read(at, 12);
    const lba = hdr.readBigUInt64LE(0);
    const size = hdr.readUInt32LE(8);
    if (lba !== BigInt(grain) * BigInt(this.header.grainSize)) {
      throw corrupt(`${where}: marker says LBA ${lba}, expected ${grain * this.header.grainSize}`);
    }
    // deflate of incompressible data grows a little; anything far beyond one grain is not a grain
    if (size === 0 || size > this.grainBytes + 4096 || at + 12 + size > this.src.size) {
      throw corrupt(`${where}: compressed size ${size} is invalid or runs past end of file`);
    }
    const packed = await this.src.read(at + 12, size);
    let out: Buffer;
    try {
      out = inflateSync(packed, { maxOutputLength: this.grainBytes });
    } catch {
      try {
        out = inflateRawSync(packed, { maxOutputLength: this.grainBytes });
      } catch (err) {
        throw corrupt(`${where}: does not inflate (${(err as Error).message})`);
      }
    }
    if (out.length < this.grainBytes) {
      const full = Buffer.alloc(this.grainBytes);
      out.copy(full);
      out = full;
    }
    this.grains.set(grain, out);
    return out;
  }

  describe(): Record<string, unknown> {
    return {
      version: this.header.version,
      cluster_size: this.grainBytes,
      compressed: this.compressed,
      markers: (this.gdHeader.flags & FLAG_MARKERS) !== 0,
      zeroed_grain: (this.gdHeader.flags & FLAG_ZEROED_GRAIN) !== 0,
    };
  }
}
