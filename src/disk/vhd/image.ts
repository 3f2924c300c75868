import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ImageDevice, ImageFormat, ImageInfo, OpenContext } from '../image.js';
import { addBacking, formatSpecific } from '../info.js';
import { readMapped, type Mapping, type MappedDevice } from '../mapped-read.js';
import { Lru } from '../../util/lru.js';
import { allocatedBytes, openOnFile, type ByteSource } from '../source.js';
import { DYNAMIC_HEADER_SIZE, parseDynamicHeader, type DynamicHeader } from './dynamic-header.js';
import { DISK_DIFFERENCING, DISK_FIXED, hasVhdCookie, parseFooter, type VhdFooter } from './footer.js';
import { firstExisting, parentCandidates } from './parent-path.js';

const UNUSED = 0xffffffff;
const TYPE_NAMES: Record<number, string> = { 2: 'fixed', 3: 'dynamic', 4: 'differencing' };
/** Parent locator payloads are short paths; anything larger is not a path. */
const MAX_LOCATOR_BYTES = 64 * 1024;
/** VHDs end at 2 TiB (512 Ki entries at 2 MiB blocks); far larger tables are refused before allocation. */
const MAX_TABLE_BYTES = 256 << 20;

/** A VHD (Virtual PC / Hyper-V gen 1, qemu's "vpc"): fixed, dynamic or differencing. */
export class VhdDevice implements ImageDevice, MappedDevice {
  readonly format = 'vhd';
  readonly size: number;
  private readonly bat: Uint32Array | null;
  private readonly bitmapBytes: number;
  private readonly bitmaps = new Lru<number, Buffer>(64);

  private constructor(
    private readonly src: ByteSource,
    readonly name: string,
    private readonly footer: VhdFooter,
    private readonly header: DynamicHeader | null,
    bat: Uint32Array | null,
    readonly backing: ImageDevice | undefined,
    private readonly parent: { stored: string; full: string } | undefined,
    private readonly warnings: string[],
    private readonly allocated: number,
  ) {
    this.size = footer.currentSize;
    this.bat = bat;
    this.bitmapBytes = header ? Math.ceil(header.blockSize / 512 / 8 / 512) * 512 : 0;
  }

  static async open(src: ByteSource, ctx: OpenContext): Promise<VhdDevice> {
    const warnings: string[] = [];
    if (src.size < 512) throw corrupt(`${src.path}: ${src.size} bytes is too short for a VHD footer (truncated)`);
    const tail = await src.read(src.size - 512, 512);
    let footer: VhdFooter;
    try {
      footer = parseFooter(tail, `${src.path} footer at ${src.size - 512}`);
    } catch (err) {
      // dynamic disks keep a copy of the footer at 0; use it when the one at the end is damaged
      const head = await src.read(0, 512);
      if (!hasVhdCookie(head)) throw err;
      let copy: VhdFooter;
      try {
        copy = parseFooter(head, `${src.path} footer copy at 0`);
      } catch {
        throw err;
      }
      if (copy.diskType === DISK_FIXED) throw err;
      warnings.push(`footer at end of file is damaged (${(err as Error).message}); using the copy at offset 0`);
      footer = copy;
    }
    const size = footer.currentSize;
    if (!Number.isSafeInteger(size) || size <= 0 || size % 512 !== 0) {
      throw corrupt(`${src.path}: VHD current size ${size} is not a positive multiple of 512`);
    }
    if (footer.diskType === DISK_FIXED) {
      if (size > src.size - 512) {
        throw corrupt(`${src.path}: fixed VHD of ${size} bytes needs ${size + 512} bytes of file but has ${src.size} (truncated)`);
      }
      return new VhdDevice(src, src.path, footer, null, null, undefined, undefined, warnings, await allocatedBytes(src));
    }

    const dataOffset = footer.dataOffset;
    if (dataOffset === null || dataOffset + DYNAMIC_HEADER_SIZE > src.size) {
      throw corrupt(`${src.path}: VHD dynamic header offset ${dataOffset} lies outside the file (${src.size} bytes)`);
    }
    const header = parseDynamicHeader(await src.read(dataOffset, DYNAMIC_HEADER_SIZE), dataOffset);
    const blocks = Math.ceil(size / header.blockSize);
    if (header.maxTableEntries < blocks) {
      throw corrupt(`${src.path}: VHD BAT has ${header.maxTableEntries} entries but ${blocks} blocks are needed for ${size} bytes`);
    }
    // the BAT's size is bounded by the file before anything is allocated for it
    const batBytes = blocks * 4;
    if (batBytes > MAX_TABLE_BYTES) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: VHD BAT of ${batBytes} bytes exceeds the ${MAX_TABLE_BYTES}-byte limit`);
    }
    if (header.tableOffset + batBytes > src.size) {
      throw corrupt(`${src.path}: VHD BAT at ${header.tableOffset} (${batBytes} bytes) lies past end of file (${src.size} bytes)`);
    }
    const raw = await src.read(header.tableOffset, batBytes);
    const bat = new Uint32Array(blocks);
    const bitmapBytes = Math.ceil(header.blockSize / 512 / 8 / 512) * 512;
    for (let i = 0; i < blocks; i++) {
      const e = raw.readUInt32BE(i * 4);
      bat[i] = e;
      if (e === UNUSED) continue;
      const end = e * 512 + bitmapBytes + Math.min(header.blockSize, size - i * header.blockSize);
      if (end > src.size) {
        throw corrupt(`${src.path}: VHD BAT entry ${i} (sector ${e}) points past end of file (block ends at ${end}, file has ${src.size} bytes)`, {
          entry: i,
          sector: e,
          file_size: src.size,
        });
      }
    }

    let backing: ImageDevice | undefined;
    let parent: { stored: string; full: string } | undefined;
    if (footer.diskType === DISK_DIFFERENCING) {
      const named = await readLocators(src, header);
      if (named.length === 0) throw corrupt(`${src.path}: differencing VHD names no parent (no parent locator, no parent name)`);
      const candidates = named.flatMap((n) => parentCandidates(src.path, n));
      const full = (await firstExisting(candidates)) ?? candidates[0]!;
      parent = { stored: named[0]!, full };
      if (ctx.options.backing !== false) {
        backing = await ctx.openBacking(full);
        const pid = specificData(backing)['unique_id'];
        if (typeof pid === 'string' && pid !== header.parentUniqueId) {
          warnings.push(`parent ${full} has unique id ${pid}, the child expects ${header.parentUniqueId}`);
        }
      }
    }
    return new VhdDevice(src, src.path, footer, header, bat, backing, parent, warnings, await allocatedBytes(src));
  }

  read(offset: number, length: number): Promise<Buffer> {
    return readMapped(this, offset, length);
  }

  async map(offset: number, maxLen: number): Promise<{ m: Mapping; len: number }> {
    if (!this.header || !this.bat) return { m: { kind: 'data', src: this.src, offset }, len: maxLen };
    const bs = this.header.blockSize;
    const block = Math.floor(offset / bs);
    const inBlock = offset - block * bs;
    const len = Math.min(maxLen, bs - inBlock);
    const entry = this.bat[block]!;
    const diff = this.footer.diskType === DISK_DIFFERENCING;
    if (entry === UNUSED) return { m: diff ? { kind: 'parent' } : { kind: 'zero' }, len };
    const blockStart = entry * 512;
    const data: Mapping = { kind: 'data', src: this.src, offset: blockStart + this.bitmapBytes + inBlock };
    // the block's sector bitmap: a clear bit is a sector never written here, read from the
    // parent (differencing) or as zeros (dynamic)
    let bitmap = this.bitmaps.get(block);
    if (!bitmap) {
      bitmap = await this.src.read(blockStart, this.bitmapBytes);
      this.bitmaps.set(block, bitmap);
    }
    const first = Math.floor(inBlock / 512);
    const lastSector = Math.floor((inBlock + len - 1) / 512);
    const set = bitOf(bitmap, first);
    let s = first + 1;
    // whole bytes of equal bits at a time, then single bits
    while (s <= lastSector) {
      if ((s & 7) === 0 && s + 7 <= lastSector && bitmap[s >> 3] === (set ? 0xff : 0)) {
        s += 8;
        continue;
      }
      if (bitOf(bitmap, s) !== set) break;
      s++;
    }
    const runLen = Math.min(len, s * 512 - inBlock);
    return { m: set ? data : diff ? { kind: 'parent' } : { kind: 'zero' }, len: runLen };
  }

  info(): ImageInfo {
    const f = this.footer;
    const fs: Record<string, unknown> = {
      disk_type: TYPE_NAMES[f.diskType],
      creator_app: f.creatorApp,
      creator_version: f.creatorVersion,
      creator_os: f.creatorHostOs,
      unique_id: f.uniqueId,
      original_size: f.originalSize,
      geometry: { cylinders: f.cylinders, heads: f.heads, sectors: f.sectorsPerTrack },
    };
    if (this.header) {
      fs['block_size'] = this.header.blockSize;
      if (f.diskType === DISK_DIFFERENCING) {
        fs['parent_unique_id'] = this.header.parentUniqueId;
        fs['parent_name'] = this.header.parentName;
      }
    }
    if (this.warnings.length) fs['warnings'] = [...this.warnings];
    const info: ImageInfo = {
      filename: this.name,
      format: 'vhd',
      virtual_size: this.size,
      actual_size: this.allocated,
      format_specific: formatSpecific('vhd', fs),
    };
    if (this.header) info.cluster_size = this.header.blockSize;
    return addBacking(info, this.parent?.stored, this.parent?.full, this.backing?.format);
  }

  async close(): Promise<void> {
    await this.backing?.close();
    await this.src.close();
  }
}

/** The `data` of another image's format_specific. */
export function specificData(dev: ImageDevice): Record<string, unknown> {
  const fs = dev.info().format_specific as { data?: Record<string, unknown> } | undefined;
  return fs?.data ?? {};
}

function bitOf(bitmap: Buffer, sector: number): boolean {
  return (bitmap[sector >> 3]! & (0x80 >> (sector & 7))) !== 0;
}

/** Parent paths a differencing disk names, most useful first: relative, absolute, Mac URL, then the bare name. */
async function readLocators(src: ByteSource, h: DynamicHeader): Promise<string[]> {
  const rank: Record<string, number> = { W2ru: 0, W2ku: 1, MacX: 2 };
  const out: { rank: number; path: string }[] = [];
  for (const loc of h.locators) {
    const rk = rank[loc.code];
    if (rk === undefined) continue;
    if (loc.dataLength === 0 || loc.dataLength > MAX_LOCATOR_BYTES || loc.dataOffset + loc.dataLength > src.size) {
      throw corrupt(`${src.path}: VHD parent locator ${loc.code} (${loc.dataLength} bytes at ${loc.dataOffset}) lies outside the file`);
    }
    const b = await src.read(loc.dataOffset, loc.dataLength);
    const text = (loc.code === 'MacX' ? b.toString('utf8') : b.toString('utf16le')).replace(/\0+$/, '');
    if (text) out.push({ rank: rk, path: text });
  }
  out.sort((a, b) => a.rank - b.rank);
  const paths = out.map((o) => o.path);
  if (h.parentName) paths.push(h.parentName);
  return paths;
}

export function openVhdSource(src: ByteSource, ctx: OpenContext): Promise<VhdDevice> {
  return VhdDevice.open(src, ctx);
}

export const vhdFormat: ImageFormat = {
  name: 'vhd',
  probe(head, tail) {
    // the footer at the end (every VHD); a dynamic disk also starts with a copy
    return (tail.length >= 512 && hasVhdCookie(tail, tail.length - 512)) || (hasVhdCookie(head) && head.length >= 1024 && head.toString('latin1', 512, 520) === 'cxsparse');
  },
  async open(path, ctx) {
    return openOnFile(path, ctx.stats, (src) => VhdDevice.open(src, ctx));
  },
};
