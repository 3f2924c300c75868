import { open, type FileHandle } from 'node:fs/promises';
import { nonZeroPieces } from '../write-pieces.js';
import { randomBytes } from 'node:crypto';
import { GuestkitError } from '../../protocol/errors.js';
import { crc32cWithHole } from '../../util/crc32c.js';
import { BAT_GUID, HEADER_OFFSETS, KiB, METADATA_GUID, MiB, REGION_TABLE_OFFSETS } from './headers.js';

const SECTOR = 512;
const BLOCK = 2 * MiB;
/** Sector bitmap blocks cover 2^23 sectors: one follows every CHUNK_RATIO payload entries in the BAT. */
const CHUNK_RATIO = (2 ** 23 * SECTOR) / BLOCK;
const FULLY_PRESENT = 6;
const LOG_OFFSET = 1 * MiB;
const LOG_LENGTH = 1 * MiB;
const METADATA_OFFSET = 2 * MiB;
const METADATA_LENGTH = 1 * MiB;
const BAT_OFFSET = 3 * MiB;
/** The format's limit. */
const MAX_BYTES = 64 * 1024 ** 4;
// metadata items (MS-VHDX 2.6.2)
const FILE_PARAMETERS = 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B';
const VIRTUAL_DISK_SIZE = '2FA54224-CD1B-4876-B211-5DBED83BF4B8';
const VIRTUAL_DISK_ID = 'BECA12AB-B2E6-4523-93EF-C309E000C746';
const LOGICAL_SECTOR_SIZE = '8141BF1D-A96F-4709-BA47-F233A8FAAB5F';
const PHYSICAL_SECTOR_SIZE = 'CDA348C7-445D-4471-9CC9-E9885251C556';
const IS_VIRTUAL_DISK = 2;
const IS_REQUIRED = 4;

/** A GUID in its on-disk form: the first three fields little-endian, the rest as written. */
function guidBytes(text: string): Buffer {
  const h = text.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

function le32(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32LE(x, i * 4));
  return b;
}

/**
 * Writes a dynamic VHDX in one forward pass (data in increasing guest order):
 * file identifier, two headers and two region tables (CRC-32C), an empty log
 * (no log GUID: nothing to replay), the metadata region, the BAT, then each
 * 2 MiB payload block that holds data, 1 MiB-aligned, zero 64 KiB pieces left
 * as holes. Blocks never written are NOT_PRESENT and read as zeros.
 */
export class VhdxWriter {
  readonly size: number;
  private readonly blocks: number;
  private readonly bat: Buffer;
  private readonly batLength: number;
  private next: number;
  private readonly offsets: Float64Array;
  private lastOff = -1;

  private constructor(
    private readonly fh: FileHandle,
    bytes: number,
  ) {
    this.size = Math.max(SECTOR, Math.ceil(bytes / SECTOR) * SECTOR);
    if (this.size > MAX_BYTES) throw new GuestkitError('UNSUPPORTED_FORMAT', `a VHDX holds at most 64 TiB; this disk is ${bytes} bytes`, { details: { virtual_size: bytes } });
    this.blocks = Math.ceil(this.size / BLOCK);
    const entries = this.blocks + Math.floor((this.blocks - 1) / CHUNK_RATIO);
    this.bat = Buffer.alloc(entries * 8);
    this.batLength = Math.ceil((entries * 8) / MiB) * MiB;
    this.next = BAT_OFFSET + this.batLength;
    this.offsets = new Float64Array(this.blocks).fill(-1);
  }

  static async create(path: string, bytes: number): Promise<VhdxWriter> {
    const fh = await open(path, 'w');
    try {
      return new VhdxWriter(fh, bytes);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Guest data at byte `off` (increasing from call to call). */
  async write(off: number, data: Buffer): Promise<void> {
    if (off <= this.lastOff) throw new Error(`vhdx writer: offset ${off} written out of order`);
    for (const { at, piece } of nonZeroPieces(off, data)) {
      const len = piece.length;
      const b = Math.floor(at / BLOCK);
      if (this.offsets[b]! < 0) {
        this.offsets[b] = this.next;
        this.next += BLOCK;
        const entry = b + Math.floor(b / CHUNK_RATIO);
        // FileOffsetMB in bits 20..63, the state in bits 0..2
        const mb = this.offsets[b]! / MiB;
        this.bat.writeUInt32LE((((mb % 4096) << 20) | FULLY_PRESENT) >>> 0, entry * 8);
        this.bat.writeUInt32LE(Math.floor(mb / 4096), entry * 8 + 4);
      }
      await this.fh.write(piece, 0, len, this.offsets[b]! + (at % BLOCK));
      this.lastOff = at;
    }
  }

  async finish(): Promise<void> {
    await this.fh.write(this.bat, 0, this.bat.length, BAT_OFFSET);
    const md = this.metadata();
    await this.fh.write(md.buf, 0, md.used, METADATA_OFFSET); // the rest of the region stays a hole
    const rt = this.regionTable();
    for (const o of REGION_TABLE_OFFSETS) await this.fh.write(rt, 0, rt.length, o);
    const fileWrite = randomBytes(16);
    const dataWrite = randomBytes(16);
    for (let i = 0; i < HEADER_OFFSETS.length; i++) {
      const h = this.header(BigInt(i + 1), fileWrite, dataWrite);
      await this.fh.write(h, 0, h.length, HEADER_OFFSETS[i]!);
    }
    const ident = Buffer.alloc(64 * KiB);
    ident.write('vhdxfile', 0, 'latin1');
    ident.write('guestkit', 8, 'utf16le');
    await this.fh.write(ident, 0, ident.length, 0);
    await this.fh.truncate(this.next);
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private header(sequence: bigint, fileWrite: Buffer, dataWrite: Buffer): Buffer {
    const h = Buffer.alloc(4 * KiB);
    h.write('head', 0, 'latin1');
    h.writeBigUInt64LE(sequence, 8);
    fileWrite.copy(h, 16);
    dataWrite.copy(h, 32);
    // LogGuid (48) stays zero: the log is empty
    h.writeUInt16LE(0, 64); // log version
    h.writeUInt16LE(1, 66); // version
    h.writeUInt32LE(LOG_LENGTH, 68);
    h.writeBigUInt64LE(BigInt(LOG_OFFSET), 72);
    h.writeUInt32LE(crc32cWithHole(h, 4), 4);
    return h;
  }

  private regionTable(): Buffer {
    const t = Buffer.alloc(64 * KiB);
    t.write('regi', 0, 'latin1');
    t.writeUInt32LE(2, 8);
    const regions: [string, number, number][] = [
      [BAT_GUID, BAT_OFFSET, this.batLength],
      [METADATA_GUID, METADATA_OFFSET, METADATA_LENGTH],
    ];
    regions.forEach(([guid, offset, length], i) => {
      const o = 16 + i * 32;
      guidBytes(guid).copy(t, o);
      t.writeBigUInt64LE(BigInt(offset), o + 16);
      t.writeUInt32LE(length, o + 24);
      t.writeUInt32LE(1, o + 28); // required
    });
    t.writeUInt32LE(crc32cWithHole(t, 4), 4);
    return t;
  }

  private metadata(): { buf: Buffer; used: number } {
    const m = Buffer.alloc(METADATA_LENGTH);
    m.write('metadata', 0, 'latin1');
    const diskId = randomBytes(16);
    diskId[7] = (diskId[7]! & 0x0f) | 0x40; // version 4 (the fourth byte of the little-endian third field)
    diskId[8] = (diskId[8]! & 0x3f) | 0x80;
    const items: [string, Buffer, number][] = [
      [FILE_PARAMETERS, le32(BLOCK, 0), IS_REQUIRED],
      [VIRTUAL_DISK_SIZE, (() => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(this.size)); return b; })(), IS_VIRTUAL_DISK | IS_REQUIRED],
      [VIRTUAL_DISK_ID, diskId, IS_VIRTUAL_DISK | IS_REQUIRED],
      [LOGICAL_SECTOR_SIZE, le32(SECTOR), IS_VIRTUAL_DISK | IS_REQUIRED],
      [PHYSICAL_SECTOR_SIZE, le32(4096), IS_VIRTUAL_DISK | IS_REQUIRED],
    ];
    m.writeUInt16LE(items.length, 10);
    let at = 64 * KiB;
    items.forEach(([id, value, flags], i) => {
      const o = 32 + i * 32;
      guidBytes(id).copy(m, o);
      m.writeUInt32LE(at, o + 16);
      m.writeUInt32LE(value.length, o + 20);
      m.writeUInt32LE(flags, o + 24);
      value.copy(m, at);
      at += value.length;
    });
    return { buf: m, used: at };
  }
}
