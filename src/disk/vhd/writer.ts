import { open, type FileHandle } from 'node:fs/promises';
import { nonZeroPieces } from '../write-pieces.js';
import { randomBytes } from 'node:crypto';
import { GuestkitError } from '../../protocol/errors.js';
import { DYNAMIC_HEADER_SIZE } from './dynamic-header.js';
import { DISK_DYNAMIC, DISK_FIXED, VHD_COOKIE, vhdChecksum } from './footer.js';

const SECTOR = 512;
const BLOCK = 2 * 1024 * 1024; // the usual dynamic VHD block
const UNUSED = 0xffffffff;
const MAX_CHS = 65535 * 16 * 255;
/** The format's limit (2040 GiB), as the VHD specification states it. */
export const VHD_MAX_BYTES = 2040 * 1024 ** 3;
const EPOCH_2000 = Date.UTC(2000, 0, 1) / 1000;

/** CHS geometry for `sectors`, by the algorithm of the VHD specification (appendix). */
export function vhdGeometry(sectors: number): { cylinders: number; heads: number; spt: number } {
  const total = Math.min(sectors, MAX_CHS);
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.max(4, Math.floor((cth + 1023) / 1024));
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, spt };
}

/**
 * The size a VHD of at least `bytes` gets. Virtual PC and qemu take the size
 * from the CHS geometry (unless it is the maximum one), Hyper-V from the
 * footer: the size is rounded up to whole geometry, as `qemu-img create -f vpc`
 * does, so every reader sees the same disk. Above 127 GiB the geometry is the
 * maximum and the size is the footer's, to the sector.
 */
export function vhdSizing(bytes: number): { size: number; cylinders: number; heads: number; spt: number } {
  const want = Math.ceil(bytes / SECTOR);
  if (want >= MAX_CHS) return { size: want * SECTOR, cylinders: 65535, heads: 16, spt: 255 };
  for (let extra = 0; ; extra++) {
    const g = vhdGeometry(want + extra);
    const chs = g.cylinders * g.heads * g.spt;
    if (chs >= want) return { size: chs * SECTOR, ...g };
  }
}

export interface VhdWriterOptions {
  /** fixed: the raw disk followed by the footer; default dynamic (2 MiB blocks, unwritten ones absent). */
  fixed?: boolean;
}

/**
 * Writes a VHD in one forward pass (data in increasing guest order).
 * Dynamic: footer copy, dynamic header, BAT, then each block that holds data
 * (its sector bitmap all set, then 2 MiB of data, zero 64 KiB pieces left as
 * holes), then the footer. Fixed: the disk, sparse, then the footer.
 */
export class VhdWriter {
  readonly size: number;
  private readonly geo: { cylinders: number; heads: number; spt: number };
  private readonly bat: Uint32Array;
  private readonly batBytes: number;
  /** Next free byte (dynamic). */
  private next: number;
  private lastOff = -1;
  private readonly uuid = randomBytes(16);

  private constructor(
    private readonly fh: FileHandle,
    bytes: number,
    private readonly opts: VhdWriterOptions,
  ) {
    const s = vhdSizing(bytes);
    if (s.size > VHD_MAX_BYTES) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `a VHD holds at most 2040 GiB; this disk is ${bytes} bytes (use vhdx, qcow2 or vmdk)`, { details: { virtual_size: bytes } });
    }
    this.size = s.size;
    this.geo = s;
    const blocks = Math.ceil(this.size / BLOCK);
    this.bat = new Uint32Array(blocks).fill(UNUSED);
    this.batBytes = Math.ceil((blocks * 4) / SECTOR) * SECTOR;
    this.next = SECTOR + DYNAMIC_HEADER_SIZE + this.batBytes;
  }

  static async create(path: string, bytes: number, opts: VhdWriterOptions = {}): Promise<VhdWriter> {
    const fh = await open(path, 'w');
    try {
      return new VhdWriter(fh, bytes, opts);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Guest data at byte `off` (sector-aligned, increasing from call to call). */
  async write(off: number, data: Buffer): Promise<void> {
    if (off <= this.lastOff) throw new Error(`vhd writer: offset ${off} written out of order`);
    // 64 KiB pieces, never crossing a block; all-zero ones are skipped
    for (const { at, piece } of nonZeroPieces(off, data)) {
      const len = piece.length;
      await this.fh.write(piece, 0, len, await this.hostOffset(at));
      this.lastOff = at;
    }
  }

  async finish(): Promise<void> {
    const footer = this.footer();
    if (this.opts.fixed) {
      await this.fh.write(footer, 0, SECTOR, this.size);
    } else {
      await this.fh.write(footer, 0, SECTOR, this.next);
      const bat = Buffer.alloc(this.batBytes, 0xff);
      for (let b = 0; b < this.bat.length; b++) bat.writeUInt32BE(this.bat[b]!, b * 4);
      await this.fh.write(bat, 0, bat.length, SECTOR + DYNAMIC_HEADER_SIZE);
      await this.fh.write(this.dynamicHeader(), 0, DYNAMIC_HEADER_SIZE, SECTOR);
      await this.fh.write(footer, 0, SECTOR, 0);
    }
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  /** Where guest byte `at` lives in the file, allocating its block (bitmap first) on first use. */
  private async hostOffset(at: number): Promise<number> {
    if (this.opts.fixed) return at;
    const b = Math.floor(at / BLOCK);
    if (this.bat[b] === UNUSED) {
      const bitmap = Buffer.alloc(SECTOR, 0xff); // BLOCK / 512 sectors = 4096 bits = 512 bytes
      this.bat[b] = this.next / SECTOR;
      await this.fh.write(bitmap, 0, SECTOR, this.next);
      this.next += SECTOR + BLOCK;
    }
    return this.bat[b]! * SECTOR + SECTOR + (at % BLOCK);
  }

  private footer(): Buffer {
    const f = Buffer.alloc(SECTOR);
    f.write(VHD_COOKIE, 0, 'latin1');
    f.writeUInt32BE(2, 8); // features: reserved bit, always set
    f.writeUInt32BE(0x00010000, 12);
    if (this.opts.fixed) f.writeBigUInt64BE(0xffffffffffffffffn, 16);
    else f.writeBigUInt64BE(BigInt(SECTOR), 16);
    f.writeUInt32BE(Math.max(0, Math.floor(Date.now() / 1000 - EPOCH_2000)) >>> 0, 24);
    f.write('gkit', 28, 'latin1');
    f.writeUInt32BE(0x00010000, 32);
    f.write('Wi2k', 36, 'latin1');
    f.writeBigUInt64BE(BigInt(this.size), 40);
    f.writeBigUInt64BE(BigInt(this.size), 48);
    f.writeUInt16BE(this.geo.cylinders, 56);
    f.writeUInt8(this.geo.heads, 58);
    f.writeUInt8(this.geo.spt, 59);
    f.writeUInt32BE(this.opts.fixed ? DISK_FIXED : DISK_DYNAMIC, 60);
    this.uuid.copy(f, 68);
    f.writeUInt32BE(vhdChecksum(f, 64), 64);
    return f;
  }

  private dynamicHeader(): Buffer {
    const h = Buffer.alloc(DYNAMIC_HEADER_SIZE);
    h.write('cxsparse', 0, 'latin1');
    h.writeBigUInt64BE(0xffffffffffffffffn, 8);
    h.writeBigUInt64BE(BigInt(SECTOR + DYNAMIC_HEADER_SIZE), 16);
    h.writeUInt32BE(0x00010000, 24);
    h.writeUInt32BE(this.bat.length, 28);
    h.writeUInt32BE(BLOCK, 32);
    h.writeUInt32BE(vhdChecksum(h, 36), 36);
    return h;
  }
}
