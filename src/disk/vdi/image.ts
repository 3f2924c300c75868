import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ImageDevice, ImageFormat, ImageInfo, OpenContext } from '../image.js';
import { formatSpecific } from '../info.js';
import { readMapped, type Mapping, type MappedDevice } from '../mapped-read.js';
import { allocatedBytes, openOnFile, type ByteSource } from '../source.js';
import { TYPE_DYNAMIC, TYPE_STATIC, VDI_HEADER_BYTES, hasVdiSignature, parseVdiHeader, type VdiHeader } from './header.js';

const FREE = 0xffffffff;
const ZERO = 0xfffffffe;
/** 64 Mi entries: 64 TiB at VirtualBox's 1 MiB blocks. */
const MAX_TABLE_BYTES = 256 << 20;

/** A VirtualBox VDI, static or dynamic: a block map from guest blocks to file blocks. */
export class VdiDevice implements ImageDevice, MappedDevice {
  readonly format = 'vdi';
  readonly size: number;

  private constructor(
    private readonly src: ByteSource,
    readonly name: string,
    private readonly h: VdiHeader,
    private readonly bmap: Uint32Array,
    private readonly allocated: number,
  ) {
    this.size = h.diskSize;
  }

  static async open(src: ByteSource, _ctx?: OpenContext): Promise<VdiDevice> {
    if (src.size < VDI_HEADER_BYTES) throw corrupt(`${src.path}: ${src.size} bytes is too short for a VDI header (truncated)`);
    const h = parseVdiHeader(await src.read(0, VDI_HEADER_BYTES), src.path);
    if (h.imageType !== TYPE_DYNAMIC && h.imageType !== TYPE_STATIC) {
      // undo/diff images find their parent by UUID in a VirtualBox registry, which a lone file does not have
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: VDI ${h.typeName} images are not supported (only static and dynamic)`);
    }
    if (!Number.isSafeInteger(h.diskSize) || h.diskSize <= 0) throw corrupt(`${src.path}: VDI disk size ${h.diskSize} is invalid`);
    const bs = h.blockSize;
    if (bs < 512 || (bs & (bs - 1)) !== 0) throw corrupt(`${src.path}: VDI block size ${bs} is not a power of two >= 512`);
    if (h.blockExtra % 512 !== 0 || h.blockExtra > bs) throw corrupt(`${src.path}: VDI block extra size ${h.blockExtra} is invalid`);
    const need = Math.ceil(h.diskSize / bs);
    if (h.blocksInImage < need) {
      throw corrupt(`${src.path}: VDI has ${h.blocksInImage} blocks but ${need} are needed for ${h.diskSize} bytes`);
    }
    // only the entries the disk size needs are read; the cap keeps a hostile header from sizing a huge table
    const bmapBytes = need * 4;
    if (bmapBytes > MAX_TABLE_BYTES) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: VDI block map of ${bmapBytes} bytes exceeds the ${MAX_TABLE_BYTES}-byte limit`);
    }
    if (h.offsetBmap < 0x1c8 || h.offsetBmap + bmapBytes > src.size) {
      throw corrupt(`${src.path}: VDI block map at ${h.offsetBmap} (${bmapBytes} bytes) lies outside the file (${src.size} bytes)`);
    }
    if (h.offsetData > src.size) throw corrupt(`${src.path}: VDI data offset ${h.offsetData} lies past end of file`);
    const raw = await src.read(h.offsetBmap, bmapBytes);
    const bmap = new Uint32Array(need);
    const stride = bs + h.blockExtra;
    for (let i = 0; i < need; i++) {
      const e = raw.readUInt32LE(i * 4);
      bmap[i] = e;
      if (e === FREE || e === ZERO) continue;
      const end = h.offsetData + e * stride + h.blockExtra + Math.min(bs, h.diskSize - i * bs);
      if (e >= h.blocksInImage || end > src.size) {
        throw corrupt(`${src.path}: VDI block map entry ${i} (block ${e}) points past end of file (ends at ${end}, file has ${src.size} bytes)`, {
          entry: i,
          block: e,
          file_size: src.size,
        });
      }
    }
    return new VdiDevice(src, src.path, h, bmap, await allocatedBytes(src));
  }

  read(offset: number, length: number): Promise<Buffer> {
    return readMapped(this, offset, length);
  }

  async map(offset: number, maxLen: number): Promise<{ m: Mapping; len: number }> {
    const bs = this.h.blockSize;
    const block = Math.floor(offset / bs);
    const inBlock = offset - block * bs;
    const len = Math.min(maxLen, bs - inBlock);
    const e = this.bmap[block]!;
    if (e === FREE || e === ZERO) return { m: { kind: 'zero' }, len };
    const at = this.h.offsetData + e * (bs + this.h.blockExtra) + this.h.blockExtra + inBlock;
    return { m: { kind: 'data', src: this.src, offset: at }, len };
  }

  info(): ImageInfo {
    const h = this.h;
    return {
      filename: this.name,
      format: 'vdi',
      virtual_size: this.size,
      actual_size: this.allocated,
      cluster_size: h.blockSize,
      format_specific: formatSpecific('vdi', {
        image_type: h.typeName,
        version: h.version,
        block_size: h.blockSize,
        blocks: h.blocksInImage,
        blocks_allocated: h.blocksAllocated,
        data_offset: h.offsetData,
        uuid: h.uuidImage,
        description: h.description || undefined,
      }),
    };
  }

  async close(): Promise<void> {
    await this.src.close();
  }
}

export function openVdiSource(src: ByteSource, ctx: OpenContext): Promise<VdiDevice> {
  return VdiDevice.open(src, ctx);
}

export const vdiFormat: ImageFormat = {
  name: 'vdi',
  probe: (head) => hasVdiSignature(head),
  async open(path, ctx) {
    return openOnFile(path, ctx.stats, (src) => VdiDevice.open(src, ctx));
  },
};
