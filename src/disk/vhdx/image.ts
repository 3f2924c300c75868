import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ImageDevice, ImageFormat, ImageInfo, OpenContext } from '../image.js';
import { addBacking, formatSpecific } from '../info.js';
import { readMapped, type Mapping, type MappedDevice } from '../mapped-read.js';
import { Lru } from '../../util/lru.js';
import { allocatedBytes, openOnFile, type ByteSource } from '../source.js';
import { specificData } from '../vhd/image.js';
import { firstExisting, parentCandidates } from '../vhd/parent-path.js';
import {
  BAT_GUID,
  HEADER_OFFSETS,
  HEADER_SECTION_END,
  KiB,
  METADATA_GUID,
  MiB,
  REGION_TABLE_OFFSETS,
  hasVhdxSignature,
  parseCreator,
  parseHeader,
  parseRegionTable,
  type Region,
  type VhdxHeader,
} from './headers.js';
import { ReplayedSource, replayLog } from './log.js';
import { readMetadata, type VhdxMetadata } from './metadata.js';

const NOT_PRESENT = 0;
const UNDEFINED = 1;
const ZERO = 2;
const UNMAPPED = 3;
const FULLY_PRESENT = 6;
const PARTIALLY_PRESENT = 7;
const SB_PRESENT = 6;
const BAT_PAGE_ENTRIES = 8192; // 64 KiB of BAT per read

/** A VHDX (Hyper-V): fixed, dynamic or differencing. */
export class VhdxDevice implements ImageDevice, MappedDevice {
  readonly format = 'vhdx';
  readonly size: number;
  private readonly chunkRatio: number;
  private readonly batPages = new Lru<number, Buffer>(64);
  private readonly bitmaps = new Lru<number, Buffer>(64);

  private constructor(
    private readonly src: ByteSource,
    readonly name: string,
    private readonly creator: string,
    private readonly header: VhdxHeader,
    private readonly headerIndex: number,
    private readonly bat: Region,
    private readonly batEntries: number,
    private readonly md: VhdxMetadata,
    readonly backing: ImageDevice | undefined,
    private readonly parent: { stored: string; full: string } | undefined,
    private readonly warnings: string[],
    private readonly allocated: number,
  ) {
    this.size = md.virtualSize;
    this.chunkRatio = (2 ** 23 * md.logicalSectorSize) / md.blockSize;
  }

  static async open(file: ByteSource, ctx: OpenContext): Promise<VhdxDevice> {
    const warnings: string[] = [];
    let src = file;
    if (src.size < HEADER_SECTION_END) throw corrupt(`${src.path}: ${src.size} bytes is too short for the VHDX header section (truncated)`);
    // the identifier is a signature and a 512-byte creator string; the rest of its 64 KiB is reserved
    const ident = await src.read(0, 520);
    if (!hasVhdxSignature(ident)) throw corrupt(`${src.path}: no "vhdxfile" signature`);

    // two headers: the valid one with the higher sequence number is current
    const parsed = await Promise.all(HEADER_OFFSETS.map(async (o) => parseHeader(await src.read(o, 4 * KiB), o)));
    const valid = parsed.map((h, i) => ({ h, i })).filter((x): x is { h: VhdxHeader; i: number } => !(x.h instanceof Error));
    if (valid.length === 0) {
      const unsupported = parsed.find((e) => e instanceof GuestkitError && e.code === 'UNSUPPORTED_FORMAT');
      if (unsupported) throw unsupported;
      throw corrupt(`${src.path}: both VHDX headers are invalid: ${parsed.map((e) => (e as Error).message).join('; ')}`);
    }
    const cur = valid.reduce((a, b) => (b.h.sequence > a.h.sequence ? b : a));
    if (valid.length === 1) warnings.push(`header ${2 - cur.i} is invalid; using header ${cur.i + 1}`);
    // everything after the headers is read through the replayed log, when there is one to replay
    src = await replayLog(file, cur.h);
    if (src instanceof ReplayedSource) {
      warnings.push(`the log held ${src.entries} entries that were not applied (unclean shutdown); they were replayed in memory`);
    }

    // the second region table copy is read only when the first is damaged
    let table = parseRegionTable(await src.read(REGION_TABLE_OFFSETS[0], 64 * KiB), REGION_TABLE_OFFSETS[0]);
    if (table instanceof Error) {
      const first = table;
      table = parseRegionTable(await src.read(REGION_TABLE_OFFSETS[1], 64 * KiB), REGION_TABLE_OFFSETS[1]);
      if (table instanceof Error) throw corrupt(`${src.path}: both VHDX region tables are invalid: ${first.message}; ${table.message}`);
      warnings.push(`region table 1 is invalid (${first.message}); using region table 2`);
    }
    for (const r of table) {
      if (r.guid !== BAT_GUID && r.guid !== METADATA_GUID && r.required) {
        throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: required VHDX region ${r.guid} is not known to this reader`);
      }
      if (r.offset < HEADER_SECTION_END || r.offset % MiB !== 0 || r.offset + r.length > src.size) {
        throw corrupt(`${src.path}: VHDX region ${r.guid} (${r.length} bytes at ${r.offset}) lies outside the file (${src.size} bytes)`);
      }
    }
    const batRegion = table.find((r) => r.guid === BAT_GUID);
    const mdRegion = table.find((r) => r.guid === METADATA_GUID);
    if (!batRegion || !mdRegion) throw corrupt(`${src.path}: VHDX region table lacks the ${batRegion ? 'metadata' : 'BAT'} region`);

    const md = await readMetadata(src, mdRegion.offset, mdRegion.length);
    const chunkRatio = (2 ** 23 * md.logicalSectorSize) / md.blockSize;
    const payloadBlocks = Math.ceil(md.virtualSize / md.blockSize);
    const sbBlocks = Math.ceil(payloadBlocks / chunkRatio);
    const entries = md.hasParent ? sbBlocks * (chunkRatio + 1) : payloadBlocks + Math.floor((payloadBlocks - 1) / chunkRatio);
    if (entries * 8 > batRegion.length) {
      throw corrupt(`${src.path}: VHDX BAT region holds ${Math.floor(batRegion.length / 8)} entries, ${entries} are needed`);
    }

    let backing: ImageDevice | undefined;
    let parent: { stored: string; full: string } | undefined;
    if (md.hasParent) {
      const loc = md.parentLocator!;
      const named = [loc['relative_path'], loc['absolute_win32_path'], loc['volume_path']].filter((p): p is string => !!p);
      if (named.length === 0) throw corrupt(`${src.path}: VHDX parent locator names no path`);
      const candidates = named.flatMap((n) => parentCandidates(src.path, n));
      const full = (await firstExisting(candidates)) ?? candidates[0]!;
      parent = { stored: named[0]!, full };
      if (ctx.options.backing !== false) {
        backing = await ctx.openBacking(full);
        const linkage = loc['parent_linkage']?.replace(/[{}]/g, '').toUpperCase();
        const got = specificData(backing)['data_write_guid'];
        if (linkage && typeof got === 'string' && got !== linkage) {
          warnings.push(`parent ${full} has data write GUID ${got}, the child expects ${linkage} (the parent changed)`);
        }
      }
    }
    const allocated = await allocatedBytes(file);
    return new VhdxDevice(src, src.path, parseCreator(ident), cur.h, cur.i, batRegion, entries, md, backing, parent, warnings, allocated);
  }

  read(offset: number, length: number): Promise<Buffer> {
    return readMapped(this, offset, length);
  }

  /** BAT entry `i` as [state, file offset in bytes]. */
  private async entry(i: number): Promise<[number, number]> {
    if (i >= this.batEntries) throw corrupt(`${this.name}: BAT index ${i} is out of range`);
    const page = Math.floor(i / BAT_PAGE_ENTRIES);
    let buf = this.batPages.get(page);
    if (!buf) {
      const start = page * BAT_PAGE_ENTRIES;
      const n = Math.min(BAT_PAGE_ENTRIES, this.batEntries - start);
      buf = await this.src.read(this.bat.offset + start * 8, n * 8);
      this.batPages.set(page, buf);
    }
    const o = (i % BAT_PAGE_ENTRIES) * 8;
    const lo = buf.readUInt32LE(o);
    const hi = buf.readUInt32LE(o + 4);
    return [lo & 7, ((lo >>> 20) + hi * 4096) * MiB];
  }

  async map(offset: number, maxLen: number): Promise<{ m: Mapping; len: number }> {
    const bs = this.md.blockSize;
    const block = Math.floor(offset / bs);
    const inBlock = offset - block * bs;
    const len = Math.min(maxLen, bs - inBlock);
    const batIndex = block + Math.floor(block / this.chunkRatio);
    const [state, fileOff] = await this.entry(batIndex);
    switch (state) {
      case NOT_PRESENT:
        return { m: this.md.hasParent ? { kind: 'parent' } : { kind: 'zero' }, len };
      case UNDEFINED:
      case ZERO:
      case UNMAPPED:
        return { m: { kind: 'zero' }, len };
      case FULLY_PRESENT:
      case PARTIALLY_PRESENT: {
        const blockLen = Math.min(bs, this.size - block * bs);
        if (fileOff < HEADER_SECTION_END || fileOff + blockLen > this.src.size) {
          throw corrupt(`${this.name}: BAT entry ${batIndex} (block ${block}) points to ${fileOff}, outside the file (${this.src.size} bytes)`, {
            entry: batIndex,
            file_offset: fileOff,
            file_size: this.src.size,
          });
        }
        const data: Mapping = { kind: 'data', src: this.src, offset: fileOff + inBlock };
        if (state === FULLY_PRESENT) return { m: data, len };
        if (!this.md.hasParent) throw corrupt(`${this.name}: block ${block} is partially present in a VHDX without a parent`);
        const bitmap = await this.blockBitmap(block);
        const lss = this.md.logicalSectorSize;
        const first = Math.floor(inBlock / lss);
        const last = Math.floor((inBlock + len - 1) / lss);
        const set = (bitmap[first >> 3]! & (1 << (first & 7))) !== 0;
        let s = first + 1;
        while (s <= last && ((bitmap[s >> 3]! & (1 << (s & 7))) !== 0) === set) s++;
        return { m: set ? data : { kind: 'parent' }, len: Math.min(len, s * lss - inBlock) };
      }
      default:
        throw corrupt(`${this.name}: BAT entry ${batIndex} has reserved state ${state}`);
    }
  }

  /** The slice of the chunk's sector bitmap that covers one payload block. */
  private async blockBitmap(block: number): Promise<Buffer> {
    const hit = this.bitmaps.get(block);
    if (hit) return hit;
    const chunk = Math.floor(block / this.chunkRatio);
    const sbIndex = chunk * (this.chunkRatio + 1) + this.chunkRatio;
    const [state, sbOff] = await this.entry(sbIndex);
    if (state !== SB_PRESENT) throw corrupt(`${this.name}: block ${block} is partially present but its sector bitmap (BAT entry ${sbIndex}) is not`);
    const bytes = this.md.blockSize / this.md.logicalSectorSize / 8;
    const at = sbOff + (block % this.chunkRatio) * bytes;
    if (sbOff < HEADER_SECTION_END || sbOff + MiB > this.src.size) {
      throw corrupt(`${this.name}: sector bitmap BAT entry ${sbIndex} points to ${sbOff}, outside the file`);
    }
    const b = await this.src.read(at, bytes);
    this.bitmaps.set(block, b);
    return b;
  }

  info(): ImageInfo {
    const md = this.md;
    const fs: Record<string, unknown> = {
      disk_type: md.hasParent ? 'differencing' : md.leaveBlocksAllocated ? 'fixed' : 'dynamic',
      block_size: md.blockSize,
      logical_sector_size: md.logicalSectorSize,
      physical_sector_size: md.physicalSectorSize,
      leave_blocks_allocated: md.leaveBlocksAllocated,
      has_parent: md.hasParent,
      virtual_disk_id: md.virtualDiskId,
      data_write_guid: this.header.dataWriteGuid,
      creator: this.creator,
      active_header: this.headerIndex + 1,
      header_sequence: Number(this.header.sequence),
      log_replayed: this.src instanceof ReplayedSource ? this.src.entries : 0,
      chunk_ratio: this.chunkRatio,
    };
    if (md.parentLocator) fs['parent_locator'] = { ...md.parentLocator };
    if (this.warnings.length) fs['warnings'] = [...this.warnings];
    const info: ImageInfo = {
      filename: this.name,
      format: 'vhdx',
      virtual_size: this.size,
      actual_size: this.allocated,
      cluster_size: md.blockSize,
      format_specific: formatSpecific('vhdx', fs),
    };
    return addBacking(info, this.parent?.stored, this.parent?.full, this.backing?.format);
  }

  async close(): Promise<void> {
    await this.backing?.close();
    await this.src.close();
  }
}

export function openVhdxSource(src: ByteSource, ctx: OpenContext): Promise<VhdxDevice> {
  return VhdxDevice.open(src, ctx);
}

export const vhdxFormat: ImageFormat = {
  name: 'vhdx',
  probe: (head) => hasVhdxSignature(head),
  async open(path, ctx) {
    return openOnFile(path, ctx.stats, (src) => VhdxDevice.open(src, ctx));
  },
};
