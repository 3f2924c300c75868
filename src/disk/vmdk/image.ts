import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ImageDevice, ImageFormat, ImageInfo, OpenContext } from '../image.js';
import { addBacking, formatSpecific } from '../info.js';
import { readMapped, type Mapping, type MappedDevice } from '../mapped-read.js';
import { allocatedBytes, openFileSource, openOnFile, type ByteSource } from '../source.js';
import { assertFileUnderRoots } from '../policy.js';
import { specificData } from '../vhd/image.js';
import { MAX_DESCRIPTOR_BYTES, NO_PARENT_CID, looksLikeDescriptor, parseDescriptor, type Descriptor, type ExtentLine } from './descriptor.js';
import { SparseExtent } from './sparse-extent.js';
import { COWD, KDMV, parseSparseHeader } from './sparse-header.js';

/** One extent as opened: where it sits in the guest and how its bytes are found. */
interface Extent {
  line: ExtentLine;
  start: number;
  size: number;
  src?: ByteSource;
  sparse?: SparseExtent;
}

export interface VmdkOpenOptions {
  /** Directory that extent and parent names are relative to; null when the image is not a file of its own (inside an OVA). */
  dir: string | null;
}

/** A VMDK: a text descriptor (separate or embedded) and its extents (sparse, flat, zero), plus an optional parent. */
export class VmdkDevice implements ImageDevice, MappedDevice {
  readonly format = 'vmdk';
  readonly size: number;

  private constructor(
    readonly name: string,
    private readonly desc: Descriptor,
    private readonly extents: Extent[],
    /** Sources this device opened (closed with it). */
    private readonly owned: ByteSource[],
    readonly backing: ImageDevice | undefined,
    private readonly parentPath: string | undefined,
    private readonly warnings: string[],
    private readonly allocated: number,
  ) {
    const last = extents[extents.length - 1]!;
    this.size = last.start + last.size;
  }

  static async open(src: ByteSource, ctx: OpenContext, opts: VmdkOpenOptions): Promise<VmdkDevice> {
    const owned: ByteSource[] = [src];
    try {
      return await VmdkDevice.openInner(src, ctx, opts, owned);
    } catch (err) {
      for (const s of owned.slice(1)) await s.close();
      throw err;
    }
  }

  private static async openInner(src: ByteSource, ctx: OpenContext, opts: VmdkOpenOptions, owned: ByteSource[]): Promise<VmdkDevice> {
    const warnings: string[] = [];
    if (src.size < 4) throw corrupt(`${src.path}: ${src.size} bytes is too short for a VMDK (truncated)`);
    const head = await src.read(0, Math.min(src.size, 512));
    const magic = head.length >= 4 ? head.readUInt32LE(0) : 0;
    let desc: Descriptor;
    let self: SparseExtent | undefined;
    if (magic === KDMV || magic === COWD) {
      const h = parseSparseHeader(await src.read(0, 512, true), src.path);
      self = await SparseExtent.open(src, h);
      if (h.descriptorOffset > 0) {
        const at = h.descriptorOffset * 512;
        const len = h.descriptorSize * 512;
        if (len > MAX_DESCRIPTOR_BYTES || at + len > src.size) {
          throw corrupt(`${src.path}: embedded descriptor (${len} bytes at ${at}) is too large or lies past end of file`);
        }
        desc = parseDescriptor((await src.read(at, len)).toString('latin1'), `${src.path} embedded descriptor`);
      } else {
        // a bare sparse extent (e.g. disk-s001.vmdk opened on its own): it describes only itself
        desc = {
          createType: 'monolithicSparse',
          extents: [{ access: 'RW', sectors: self.gdHeader.capacity, kind: 'SPARSE', file: basename(src.path), offset: 0 }],
          ddb: {},
        };
      }
    } else if (looksLikeDescriptor(head)) {
      if (src.size > MAX_DESCRIPTOR_BYTES) throw corrupt(`${src.path}: descriptor file of ${src.size} bytes is too large`);
      desc = parseDescriptor((await src.read(0, src.size)).toString('latin1'), src.path);
    } else {
      throw corrupt(`${src.path}: neither a VMDK sparse header nor a text descriptor`);
    }

    const extents: Extent[] = [];
    let start = 0;
    for (const line of desc.extents) {
      const size = line.sectors * 512;
      const e: Extent = { line, start, size };
      const where = `${src.path}: extent ${extents.length} (${line.kind} "${line.file ?? ''}")`;
      if (line.access === 'NOACCESS') throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: NOACCESS extents cannot be read`);
      switch (line.kind) {
        case 'ZERO':
          break;
        case 'SPARSE': {
          // the embedded descriptor of a single-file sparse VMDK names the file itself, maybe under an old name
          const isSelf = self && (desc.extents.length === 1 || basename(line.file!) === basename(src.path));
          e.sparse = isSelf ? self : await SparseExtent.open(await openExtent(src, opts, line, owned, where, ctx));
          if (e.sparse!.capacityBytes < size) {
            throw corrupt(`${where}: sparse extent holds ${e.sparse!.capacityBytes} bytes, the descriptor says ${size}`);
          }
          break;
        }
        case 'FLAT':
        case 'VMFS': {
          e.src = await openExtent(src, opts, line, owned, where, ctx);
          const need = line.offset * 512 + size;
          if (need > e.src.size) {
            throw corrupt(`${where}: flat extent needs ${need} bytes but the file has ${e.src.size} (truncated)`, { need, file_size: e.src.size });
          }
          break;
        }
        default:
          throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: ${line.kind} extents are not supported (raw device mappings and ESX sparse formats need the host)`);
      }
      extents.push(e);
      start += size;
      if (!Number.isSafeInteger(start)) throw corrupt(`${src.path}: total extent size overflows`);
    }
    if (start === 0) throw corrupt(`${src.path}: VMDK has a virtual size of 0`);

    let backing: ImageDevice | undefined;
    let parentPath: string | undefined;
    if (desc.parentCid !== undefined && desc.parentCid !== NO_PARENT_CID) {
      const hint = desc.parentFileNameHint;
      if (!hint) throw corrupt(`${src.path}: parentCID is set but there is no parentFileNameHint`);
      if (opts.dir === null && !isAbsolute(hint)) {
        throw new GuestkitError('UNSUPPORTED_FORMAT', `${src.path}: a VMDK with a parent (${hint}) cannot be opened from inside a container`);
      }
      parentPath = isAbsolute(hint) ? hint : resolve(opts.dir ?? '.', hint);
      if (ctx.options.backing !== false) {
        backing = await ctx.openBacking(parentPath);
        const pcid = specificData(backing)['cid'];
        if (typeof pcid === 'number' && pcid !== desc.parentCid) {
          warnings.push(`parent CID mismatch: ${parentPath} has CID ${hex(pcid)}, the child expects ${hex(desc.parentCid)} (the parent changed after the child was made)`);
        }
      }
    }
    let allocated = 0;
    for (const s of owned) allocated += await allocatedBytes(s);
    return new VmdkDevice(src.path, desc, extents, owned, backing, parentPath, warnings, allocated);
  }

  read(offset: number, length: number): Promise<Buffer> {
    return readMapped(this, offset, length);
  }

  async map(offset: number, maxLen: number): Promise<{ m: Mapping; len: number }> {
    const e = this.extentAt(offset);
    const inExt = offset - e.start;
    const len = Math.min(maxLen, e.size - inExt);
    if (e.sparse) {
      const r = await e.sparse.map(inExt, len);
      return r;
    }
    if (e.src) return { m: { kind: 'data', src: e.src, offset: e.line.offset * 512 + inExt }, len };
    return { m: { kind: 'zero' }, len };
  }

  private extentAt(offset: number): Extent {
    let lo = 0;
    let hi = this.extents.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.extents[mid]!.start <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.extents[lo]!;
  }

  info(): ImageInfo {
    const d = this.desc;
    const firstSparse = this.extents.find((e) => e.sparse)?.sparse;
    const fs: Record<string, unknown> = {
      create_type: d.createType,
      cid: d.cid,
      parent_cid: d.parentCid,
      extents: this.extents.map((e) => ({
        filename: e.sparse ? e.sparse.src.path : (e.src?.path ?? null),
        type: e.line.kind,
        access: e.line.access,
        virtual_size: e.size,
        ...(e.line.kind === 'FLAT' || e.line.kind === 'VMFS' ? { offset: e.line.offset * 512 } : {}),
        ...(e.sparse ? e.sparse.describe() : {}),
      })),
      compression: this.extents.some((e) => e.sparse?.compressed) ? 'deflate' : 'none',
    };
    if (firstSparse) fs['grain_size'] = firstSparse.grainBytes;
    if (d.ddb['adapterType']) fs['adapter_type'] = d.ddb['adapterType'];
    if (d.ddb['virtualHWVersion']) fs['hw_version'] = d.ddb['virtualHWVersion'];
    if (this.warnings.length) fs['warnings'] = [...this.warnings];
    const info: ImageInfo = {
      filename: this.name,
      format: 'vmdk',
      virtual_size: this.size,
      actual_size: this.allocated,
      format_specific: formatSpecific('vmdk', fs),
    };
    if (firstSparse) info.cluster_size = firstSparse.grainBytes;
    const hasParent = d.parentCid !== undefined && d.parentCid !== NO_PARENT_CID;
    return addBacking(info, hasParent ? d.parentFileNameHint : undefined, this.parentPath, hasParent ? (this.backing?.format ?? 'vmdk') : undefined);
  }

  async close(): Promise<void> {
    await this.backing?.close();
    for (const s of this.owned) await s.close();
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

async function openExtent(
  from: ByteSource,
  opts: VmdkOpenOptions,
  line: ExtentLine,
  owned: ByteSource[],
  where: string,
  ctx: OpenContext,
): Promise<ByteSource> {
  if (opts.dir === null) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: a VMDK whose data lives in other files cannot be opened from inside a container`);
  }
  // extents live beside their descriptor; a name reaching elsewhere would let an image read host files
  const p = resolve(opts.dir, line.file!);
  const rel = relative(opts.dir, p);
  if (isAbsolute(line.file!) || rel.startsWith('..') || isAbsolute(rel)) {
    throw new GuestkitError('PATH_NOT_ALLOWED', `${where}: extent file ${line.file} lies outside the descriptor's directory ${opts.dir}`, {
      details: { path: from.path, extent: line.file },
    });
  }
  if (p === resolve(from.path)) return from;
  await assertFileUnderRoots(p, ctx.options.allowedRoots, 'extent file', from.path);
  const s = await openFileSource(p, ctx.stats);
  owned.push(s);
  return s;
}

export function openVmdkSource(src: ByteSource, ctx: OpenContext, opts: VmdkOpenOptions = { dir: null }): Promise<VmdkDevice> {
  return VmdkDevice.open(src, ctx, opts);
}

export const vmdkFormat: ImageFormat = {
  name: 'vmdk',
  probe(head) {
    if (head.length >= 4) {
      const m = head.readUInt32LE(0);
      if (m === KDMV || m === COWD) return true;
    }
    return looksLikeDescriptor(head);
  },
  async open(path, ctx) {
    return openOnFile(path, ctx.stats, (src) => VmdkDevice.open(src, ctx, { dir: dirname(resolve(path)) }));
  },
};
