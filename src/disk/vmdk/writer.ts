import { open, type FileHandle } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { deflate } from 'node:zlib';
import { promisify } from 'node:util';
import { GuestkitError } from '../../protocol/errors.js';
import { COMPRESSION_DEFLATE, FLAG_COMPRESSED, FLAG_MARKERS, GD_AT_END, KDMV } from './sparse-header.js';

const deflateAsync = promisify(deflate);
const SECTOR = 512;
const GRAIN_SECTORS = 128; // 64 KiB grains, as VMware and qemu make them
const GTES_PER_GT = 512;
const DESCRIPTOR_SECTORS = 20;
const FLAG_NL_DETECT = 1;
const FLAG_RGD = 2;
// stream-optimized metadata marker types
const MARKER_EOS = 0;
const MARKER_GT = 1;
const MARKER_GD = 2;
const MARKER_FOOTER = 3;

export interface VmdkWriterOptions {
  /** streamOptimized (deflated grains with markers, what OVA/vSphere imports want) instead of monolithicSparse. */
  streamOptimized?: boolean;
  /** Name the embedded descriptor gives the extent: the final file name. */
  fileName: string;
}

/**
 * Writes a single-file hosted sparse VMDK in one forward pass; grains must
 * arrive in increasing guest order, all-zero grains are left unallocated
 * (they read as zeros: there is no parent).
 *
 * monolithicSparse: header, embedded descriptor, redundant and primary grain
 * directories with all their grain tables laid out up front (holes until
 * written, so the file stays sparse), then the grains.
 *
 * streamOptimized: header (grain directory "at end"), descriptor, then each
 * deflated grain behind its marker, each grain table behind a GT marker once
 * its 32 MiB are passed, then the grain directory, a footer and end-of-stream.
 */
export class VmdkWriter {
  readonly grainSize = GRAIN_SECTORS * SECTOR;
  private readonly capacity: number; // sectors
  private readonly numGTs: number;
  private readonly gdSectors: number;
  private readonly rgdOffset: number;
  private readonly gdOffset: number;
  private readonly overHead: number;
  /** Next free sector. */
  private next: number;
  /** Grain tables written to so far, by index (monolithicSparse keeps all; stream one at a time). */
  private readonly gts = new Map<number, Uint32Array>();
  private readonly gd: Uint32Array;
  private lastGrain = -1;
  private readonly zero = Buffer.alloc(GRAIN_SECTORS * SECTOR);

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly opts: VmdkWriterOptions,
  ) {
    this.capacity = Math.ceil(size / SECTOR);
    // grain and table offsets are 32-bit sector numbers
    if (this.capacity > 2 ** 32 - 2 ** 20) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `a sparse VMDK extent holds less than 2 TiB; this disk is ${size} bytes (use qcow2 or vhdx)`, { details: { virtual_size: size } });
    }
    const grains = Math.ceil(this.capacity / GRAIN_SECTORS);
    this.numGTs = Math.max(1, Math.ceil(grains / GTES_PER_GT));
    this.gdSectors = Math.ceil((this.numGTs * 4) / SECTOR);
    this.gd = new Uint32Array(this.numGTs);
    const gtSectors = (GTES_PER_GT * 4) / SECTOR;
    const afterDesc = 1 + DESCRIPTOR_SECTORS;
    if (opts.streamOptimized) {
      this.rgdOffset = 0;
      this.gdOffset = 0;
      this.overHead = Math.ceil(afterDesc / GRAIN_SECTORS) * GRAIN_SECTORS;
    } else {
      this.rgdOffset = afterDesc;
      this.gdOffset = this.rgdOffset + this.gdSectors + this.numGTs * gtSectors;
      const end = this.gdOffset + this.gdSectors + this.numGTs * gtSectors;
      this.overHead = Math.ceil(end / GRAIN_SECTORS) * GRAIN_SECTORS;
    }
    this.next = this.overHead;
  }

  static async create(path: string, size: number, opts: VmdkWriterOptions): Promise<VmdkWriter> {
    const fh = await open(path, 'w');
    try {
      return new VmdkWriter(fh, size, opts);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Guest data at byte `off` (grain-aligned, increasing from call to call). */
  async write(off: number, data: Buffer): Promise<void> {
    const gs = this.grainSize;
    if (off % gs !== 0) throw new Error(`vmdk writer: offset ${off} is not grain-aligned`);
    const pieces: { grain: number; buf: Buffer }[] = [];
    for (let i = 0; i < data.length; i += gs) {
      let buf = data.subarray(i, i + gs);
      if (buf.equals(this.zero.subarray(0, buf.length))) continue;
      if (buf.length < gs) buf = Buffer.concat([buf, this.zero.subarray(0, gs - buf.length)]);
      pieces.push({ grain: (off + i) / gs, buf });
    }
    if (pieces.length === 0) return;
    if (pieces[0]!.grain <= this.lastGrain) throw new Error(`vmdk writer: grain ${pieces[0]!.grain} written out of order`);
    if (this.opts.streamOptimized) {
      // deflate the chunk's grains concurrently (zlib runs on the thread pool)
      const packed = await Promise.all(pieces.map((p) => deflateAsync(p.buf)));
      for (let i = 0; i < pieces.length; i++) {
        const g = pieces[i]!.grain;
        await this.flushStreamGTsBefore(Math.floor(g / GTES_PER_GT));
        const z = packed[i]!;
        const rec = Buffer.alloc(Math.ceil((12 + z.length) / SECTOR) * SECTOR);
        rec.writeBigUInt64LE(BigInt(g * GRAIN_SECTORS), 0);
        rec.writeUInt32LE(z.length, 8);
        z.copy(rec, 12);
        this.setGTE(g, this.next);
        await this.put(rec, this.next);
      }
    } else {
      for (const { grain, buf } of pieces) {
        this.setGTE(grain, this.next);
        await this.put(buf, this.next);
      }
    }
    this.lastGrain = pieces[pieces.length - 1]!.grain;
  }

  async finish(): Promise<void> {
    if (this.opts.streamOptimized) {
      await this.flushStreamGTsBefore(Number.MAX_SAFE_INTEGER);
      const gd = this.table(this.gd, this.gdSectors);
      await this.put(this.marker(this.gdSectors, MARKER_GD), this.next);
      const gdAt = this.next;
      await this.put(gd, this.next);
      await this.put(this.marker(1, MARKER_FOOTER), this.next);
      await this.put(this.header(gdAt), this.next);
      await this.put(this.marker(0, MARKER_EOS), this.next);
      await this.fh.write(this.header(null), 0, SECTOR, 0);
    } else {
      // both directories point at their own copy of every grain table, written or not
      const gtSectors = (GTES_PER_GT * 4) / SECTOR;
      for (const base of [this.rgdOffset, this.gdOffset]) {
        const dir = new Uint32Array(this.numGTs);
        for (let t = 0; t < this.numGTs; t++) dir[t] = base + this.gdSectors + t * gtSectors;
        await this.fh.write(this.table(dir, this.gdSectors), 0, this.gdSectors * SECTOR, base * SECTOR);
        for (const [t, gt] of this.gts) await this.fh.write(this.table(gt, gtSectors), 0, gtSectors * SECTOR, dir[t]! * SECTOR);
      }
      await this.fh.write(this.header(this.gdOffset), 0, SECTOR, 0);
      await this.fh.truncate(this.next * SECTOR);
    }
    const desc = Buffer.alloc(DESCRIPTOR_SECTORS * SECTOR);
    desc.write(this.descriptor(), 'latin1');
    await this.fh.write(desc, 0, desc.length, SECTOR);
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private setGTE(grain: number, sector: number): void {
    const t = Math.floor(grain / GTES_PER_GT);
    let gt = this.gts.get(t);
    if (!gt) this.gts.set(t, (gt = new Uint32Array(GTES_PER_GT)));
    if (sector > 0xffffffff) throw new Error('vmdk writer: the extent outgrows 32-bit sector offsets (2 TiB)');
    gt[grain % GTES_PER_GT] = sector;
  }

  /** streamOptimized: writes (behind a marker) every held grain table below `index` and drops it. */
  private async flushStreamGTsBefore(index: number): Promise<void> {
    const gtSectors = (GTES_PER_GT * 4) / SECTOR;
    for (const [t, gt] of [...this.gts].sort((a, b) => a[0] - b[0])) {
      if (t >= index) break;
      await this.put(this.marker(gtSectors, MARKER_GT), this.next);
      this.gd[t] = this.next;
      await this.put(this.table(gt, gtSectors), this.next);
      this.gts.delete(t);
    }
  }

  private async put(buf: Buffer, sector: number): Promise<void> {
    await this.fh.write(buf, 0, buf.length, sector * SECTOR);
    this.next = sector + buf.length / SECTOR;
  }

  private table(t: Uint32Array, sectors: number): Buffer {
    const b = Buffer.alloc(sectors * SECTOR);
    for (let i = 0; i < t.length; i++) if (t[i]) b.writeUInt32LE(t[i]!, i * 4);
    return b;
  }

  private marker(numSectors: number, type: number): Buffer {
    const b = Buffer.alloc(SECTOR);
    b.writeBigUInt64LE(BigInt(numSectors), 0);
    b.writeUInt32LE(type, 12);
    return b;
  }

  /** The SparseExtentHeader; `gd` null writes "grain directory at end" (stream header). */
  private header(gd: number | null): Buffer {
    const h = Buffer.alloc(SECTOR);
    const stream = this.opts.streamOptimized === true;
    h.writeUInt32LE(KDMV, 0);
    h.writeUInt32LE(stream ? 3 : 1, 4);
    h.writeUInt32LE(stream ? FLAG_NL_DETECT | FLAG_COMPRESSED | FLAG_MARKERS : FLAG_NL_DETECT | FLAG_RGD, 8);
    h.writeBigUInt64LE(BigInt(this.capacity), 12);
    h.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20);
    h.writeBigUInt64LE(1n, 28);
    h.writeBigUInt64LE(BigInt(DESCRIPTOR_SECTORS), 36);
    h.writeUInt32LE(GTES_PER_GT, 44);
    h.writeBigUInt64LE(BigInt(this.rgdOffset), 48);
    h.writeBigUInt64LE(gd === null ? GD_AT_END : BigInt(gd), 56);
    h.writeBigUInt64LE(BigInt(this.overHead), 64);
    h[73] = 0x0a;
    h[74] = 0x20;
    h[75] = 0x0d;
    h[76] = 0x0a;
    h.writeUInt16LE(stream ? COMPRESSION_DEFLATE : 0, 77);
    return h;
  }

  private descriptor(): string {
    // BIOS-style geometry, as VMware derives it for IDE disks
    const cyl = Math.min(16383, Math.max(1, Math.floor(this.capacity / (16 * 63))));
    const type = this.opts.streamOptimized ? 'streamOptimized' : 'monolithicSparse';
    const name = this.opts.fileName.replace(/"/g, '');
    return [
      '# Disk DescriptorFile',
      'version=1',
      'encoding="UTF-8"',
      `CID=${randomInt(1, 0xfffffffe).toString(16).padStart(8, '0')}`,
      'parentCID=ffffffff',
      `createType="${type}"`,
      '',
      '# Extent description',
      `RW ${this.capacity} SPARSE "${name}"`,
      '',
      '# The Disk Data Base',
      '#DDB',
      '',
      'ddb.virtualHWVersion = "4"',
      `ddb.geometry.cylinders = "${cyl}"`,
      'ddb.geometry.heads = "16"',
      'ddb.geometry.sectors = "63"',
      'ddb.adapterType = "ide"',
      // "no tools installed": vSphere imports expect the key, as VMware's own writers set it
      'ddb.toolsVersion = "2147483647"',
      '',
    ].join('\n');
  }
}
