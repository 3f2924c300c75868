import { open, type FileHandle } from 'node:fs/promises';
import { nonZeroPieces } from '../write-pieces.js';
import { randomBytes } from 'node:crypto';
import { GuestkitError } from '../../protocol/errors.js';
import { TYPE_DYNAMIC, VDI_HEADER_BYTES, VDI_SIGNATURE } from './header.js';

const SECTOR = 512;
const BLOCK = 1024 * 1024; // VirtualBox's block size
const UNALLOCATED = 0xffffffff;
const PRE_HEADER = '<<< Oracle VM VirtualBox Disk Image >>>\n';

/**
 * Writes a dynamic VDI (v1.1) in one forward pass (data in increasing guest
 * order): the header, the block map, then each 1 MiB block that holds data in
 * the order met (zero 64 KiB pieces inside it left as holes). Blocks never
 * written stay unallocated and read as zeros.
 */
export class VdiWriter {
  readonly size: number;
  private readonly bmap: Uint32Array;
  private readonly offsetData: number;
  private allocated = 0;
  private lastOff = -1;

  private constructor(
    private readonly fh: FileHandle,
    bytes: number,
  ) {
    this.size = Math.ceil(bytes / SECTOR) * SECTOR;
    const blocks = Math.ceil(this.size / BLOCK);
    if (blocks >= UNALLOCATED - 1) throw new GuestkitError('UNSUPPORTED_FORMAT', `disk of ${bytes} bytes is too large for a VDI`);
    this.bmap = new Uint32Array(blocks).fill(UNALLOCATED);
    // data aligned to 1 MiB past the block map, as VirtualBox lays it out
    this.offsetData = Math.ceil((VDI_HEADER_BYTES + blocks * 4) / BLOCK) * BLOCK;
  }

  static async create(path: string, bytes: number): Promise<VdiWriter> {
    const fh = await open(path, 'w');
    try {
      return new VdiWriter(fh, bytes);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Guest data at byte `off` (increasing from call to call). */
  async write(off: number, data: Buffer): Promise<void> {
    if (off <= this.lastOff) throw new Error(`vdi writer: offset ${off} written out of order`);
    for (const { at, piece } of nonZeroPieces(off, data)) {
      const len = piece.length;
      const b = Math.floor(at / BLOCK);
      if (this.bmap[b] === UNALLOCATED) this.bmap[b] = this.allocated++;
      await this.fh.write(piece, 0, len, this.offsetData + this.bmap[b]! * BLOCK + (at % BLOCK));
      this.lastOff = at;
    }
  }

  async finish(): Promise<void> {
    const map = Buffer.alloc(this.bmap.length * 4);
    for (let b = 0; b < this.bmap.length; b++) map.writeUInt32LE(this.bmap[b]!, b * 4);
    await this.fh.write(map, 0, map.length, VDI_HEADER_BYTES);
    await this.fh.write(this.header(), 0, VDI_HEADER_BYTES, 0);
    await this.fh.truncate(this.offsetData + this.allocated * BLOCK);
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private header(): Buffer {
    const h = Buffer.alloc(VDI_HEADER_BYTES);
    h.write(PRE_HEADER, 0, 'latin1');
    h.writeUInt32LE(VDI_SIGNATURE, 0x40);
    h.writeUInt32LE(0x00010001, 0x44);
    h.writeUInt32LE(0x190, 0x48); // size of the v1.1 header after the pre-header
    h.writeUInt32LE(TYPE_DYNAMIC, 0x4c);
    h.writeUInt32LE(VDI_HEADER_BYTES, 0x154);
    h.writeUInt32LE(this.offsetData, 0x158);
    h.writeUInt32LE(SECTOR, 0x168);
    h.writeBigUInt64LE(BigInt(this.size), 0x170);
    h.writeUInt32LE(BLOCK, 0x178);
    h.writeUInt32LE(this.bmap.length, 0x180);
    h.writeUInt32LE(this.allocated, 0x184);
    const uuid = randomBytes(16);
    uuid[6] = (uuid[6]! & 0x0f) | 0x40; // version 4
    uuid[8] = (uuid[8]! & 0x3f) | 0x80;
    uuid.copy(h, 0x188);
    randomBytes(16).copy(h, 0x198); // last modification
    return h;
  }
}
