import { corrupt } from '../../protocol/errors.js';
import { BlockCache } from '../cache.js';
import type { FileSource } from '../file-source.js';
import type { ImageDevice, ImageInfo } from '../image.js';
import { checkDeviceRead } from '../raw.js';
import { decompressCluster } from './compressed.js';
import type { Qcow2Extensions } from './extensions.js';
import {
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  checkTableOffset,
  type Qcow2Header,
} from './header.js';
import { Kind, decodeL2, offsetBits } from './l2.js';

/** `qemu-img info`-shaped facts, with the two qcow2 extras qemu also reports. */
export interface Qcow2Info extends ImageInfo {
  full_backing_filename?: string;
  dirty_flag?: boolean;
}

export interface Qcow2Parts {
  src: FileSource;
  /** External data file, when the image has one; guest data lives there. */
  dataFile?: FileSource;
  dataFileName?: string;
  header: Qcow2Header;
  ext: Qcow2Extensions;
  l1: Buffer;
  backing?: ImageDevice;
  backingName?: string;
  backingPath?: string;
  backingFormat?: string;
  actualSize: number;
}

/** L2 tables are read in slices of this many bytes: scattered reads pull little. */
const L2_SLICE = 4096;
/** Runs executed concurrently per read (bounded so a huge read cannot queue millions of promises). */
const BATCH = 64;
/** Compared against an L2 slice to skip a run of unallocated entries at once. */
const ZERO_SLICE = Buffer.alloc(L2_SLICE);

interface Run {
  kind: Kind;
  /** Offset in the caller's buffer. */
  at: number;
  len: number;
  /** Guest offset (backing reads) or host offset (data). */
  pos: number;
  csize: number;
  /** Offset inside the decompressed cluster. */
  inner: number;
}

export class Qcow2Device implements ImageDevice {
  readonly format = 'qcow2';
  readonly size: number;
  readonly name: string;
  readonly backing?: ImageDevice;
  private readonly h: Qcow2Header;
  private readonly l2Cache = new BlockCache<number, Buffer>({ maxEntries: 2048, maxBytes: 8 * 1024 * 1024 });
  private readonly zCache: BlockCache<number, Buffer>;
  private readonly sliceBytes: number;
  private readonly subSize: number;

  constructor(private readonly p: Qcow2Parts) {
    this.h = p.header;
    this.size = p.header.size;
    this.name = p.src.path;
    this.backing = p.backing;
    this.sliceBytes = Math.min(L2_SLICE, p.header.clusterSize);
    this.subSize = p.header.extendedL2 ? p.header.clusterSize / 32 : p.header.clusterSize;
    // Decompressed clusters: enough for a few 2 MiB clusters, or many small ones.
    this.zCache = new BlockCache({ maxEntries: 64, maxBytes: Math.max(4 * 1024 * 1024, 4 * p.header.clusterSize) });
  }

  get header(): Readonly<Qcow2Header> {
    return this.h;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    if (length === 0) return Buffer.alloc(0);
    const runs = await this.mapRange(offset, length);
    const only = runs.length === 1 ? runs[0]! : undefined;
    if (only && only.kind === Kind.Data) return this.dataSource().read(only.pos, only.len);
    const out = Buffer.alloc(length);
    for (let i = 0; i < runs.length; i += BATCH) {
      await Promise.all(runs.slice(i, i + BATCH).map((r) => this.fill(out, r)));
    }
    return out;
  }

  /**
   * False when no byte of the range can hold data (all clusters zero, or
   * unallocated without a backing file); used by convert to skip holes without
   * reading them. Scans cached L2 slices synchronously: cheap on huge sparse disks.
   */
  async isAllocated(offset: number, length: number): Promise<boolean> {
    checkDeviceRead(this, offset, length);
    if (length === 0) return false;
    const h = this.h;
    const last = Math.floor((offset + length - 1) / h.clusterSize);
    const perSlice = this.sliceBytes / h.l2EntrySize;
    const hasDataFile = this.p.dataFile !== undefined;
    let c = Math.floor(offset / h.clusterSize);
    while (c <= last) {
      const l1i = Math.floor(c / h.l2Entries);
      const l1Last = Math.min(last, (l1i + 1) * h.l2Entries - 1);
      const l2off = this.l2Offset(l1i);
      if (l2off === 0) {
        if (this.backing) return true;
        c = l1Last + 1;
        continue;
      }
      while (c <= l1Last) {
        const l2i = c % h.l2Entries;
        const first = l2i - (l2i % perSlice);
        const slice = await this.slice(l1i, l2off, first * h.l2EntrySize);
        const sliceLast = Math.min(l1Last, c - l2i + first + perSlice - 1);
        // all-zero entries are unallocated clusters: without a backing file, one compare skips them
        const a = (l2i - first) * h.l2EntrySize;
        const b = a + (sliceLast - c + 1) * h.l2EntrySize;
        if (!this.backing && slice.subarray(a, b).equals(ZERO_SLICE.subarray(0, b - a))) {
          c = sliceLast + 1;
          continue;
        }
        for (; c <= sliceLast; c++) {
          const i = (c % h.l2Entries) - first;
          const e = decodeL2(slice, i * h.l2EntrySize, h, hasDataFile, () => `${this.name}: L2 entry ${c % h.l2Entries} of L1 entry ${l1i}`);
          if (e.kind === Kind.Compressed) return true;
          if (e.extended) {
            if (e.allocBits !== 0) return true;
            if (this.backing && e.zeroBits !== 0xffffffff) return true;
          } else if (e.kind === Kind.Data || (e.kind === Kind.Unallocated && this.backing)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  info(): Qcow2Info {
    const h = this.h;
    const p = this.p;
    const data: Record<string, unknown> = {
      compat: h.version === 2 ? '0.10' : '1.1',
      compression_type: h.compressionType,
    };
    if (h.version === 3) {
      data.lazy_refcounts = (h.compatible & COMPAT_LAZY_REFCOUNTS) !== 0n;
      data.refcount_bits = 2 ** h.refcountOrder;
      data.corrupt = (h.incompatible & INCOMPAT_CORRUPT) !== 0n;
      data.extended_l2 = h.extendedL2;
      if (p.dataFileName !== undefined) {
        data.data_file = p.dataFileName;
        data.data_file_raw = (h.autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0n;
      }
    } else {
      data.refcount_bits = 16;
    }
    data.encrypted = false;
    const info: Qcow2Info = {
      filename: this.name,
      format: 'qcow2',
      virtual_size: h.size,
      actual_size: p.actualSize,
      cluster_size: h.clusterSize,
      format_specific: { type: 'qcow2', data },
      dirty_flag: (h.incompatible & INCOMPAT_DIRTY) !== 0n,
    };
    if (p.backingName !== undefined) {
      info.backing_filename = p.backingName;
      if (p.backingPath !== undefined) info.full_backing_filename = p.backingPath;
      if (p.backingFormat !== undefined) info.backing_format = p.backingFormat;
    }
    return info;
  }

  async close(): Promise<void> {
    await this.p.src.close();
    await this.p.dataFile?.close();
    await this.backing?.close();
  }

  private dataSource(): FileSource {
    return this.p.dataFile ?? this.p.src;
  }

  /** Splits a guest range into runs of one kind, merging host-contiguous data. */
  private async mapRange(offset: number, length: number): Promise<Run[]> {
    const cs = this.h.clusterSize;
    const runs: Run[] = [];
    let pos = offset;
    const end = offset + length;
    while (pos < end) {
      const cluster = Math.floor(pos / cs);
      const cEnd = Math.min(end, (cluster + 1) * cs);
      const e = await this.entry(cluster);
      if (e.kind === Kind.Compressed) {
        push(runs, { kind: Kind.Compressed, at: pos - offset, len: cEnd - pos, pos: e.host, csize: e.csize, inner: pos - cluster * cs });
      } else if (!e.extended) {
        const host = e.kind === Kind.Data ? e.host + (pos - cluster * cs) : pos;
        push(runs, { kind: e.kind, at: pos - offset, len: cEnd - pos, pos: host, csize: 0, inner: 0 });
      } else {
        // Extended L2: each subcluster has its own state.
        let sp = pos;
        while (sp < cEnd) {
          const si = Math.floor((sp - cluster * cs) / this.subSize);
          const sEnd = Math.min(cEnd, cluster * cs + (si + 1) * this.subSize);
          const bit = 2 ** si;
          let kind: Kind;
          if (Math.floor(e.allocBits / bit) % 2) kind = Kind.Data;
          else if (Math.floor(e.zeroBits / bit) % 2) kind = Kind.Zero;
          else kind = Kind.Unallocated;
          const host = kind === Kind.Data ? e.host + (sp - cluster * cs) : sp;
          push(runs, { kind, at: sp - offset, len: sEnd - sp, pos: host, csize: 0, inner: 0 });
          sp = sEnd;
        }
      }
      pos = cEnd;
    }
    for (const r of runs) {
      if (r.kind === Kind.Data && r.pos + r.len > this.dataSource().size) {
        throw corrupt(`${this.name}: L2 entry points at host offset ${r.pos} (+${r.len}) past the end of ${this.dataSource().path} (${this.dataSource().size} bytes)`, {
          path: this.name,
          host_offset: r.pos,
          file_size: this.dataSource().size,
        });
      }
    }
    return runs;
  }

  private async fill(out: Buffer, r: Run): Promise<void> {
    switch (r.kind) {
      case Kind.Zero:
        return;
      case Kind.Data: {
        const b = await this.dataSource().read(r.pos, r.len);
        b.copy(out, r.at);
        return;
      }
      case Kind.Unallocated: {
        const b = this.backing;
        if (!b || r.pos >= b.size) return;
        const n = Math.min(r.len, b.size - r.pos);
        (await b.read(r.pos, n)).copy(out, r.at);
        return;
      }
      case Kind.Compressed: {
        const c = await this.cluster(r.pos, r.csize);
        c.copy(out, r.at, r.inner, r.inner + r.len);
        return;
      }
    }
  }

  private cluster(host: number, csize: number): Promise<Buffer> {
    return this.zCache.getOrLoad(host, async () => {
      const src = this.p.src;
      if (host >= src.size || host < this.h.clusterSize) {
        throw corrupt(`${this.name}: compressed cluster at host offset ${host} lies outside the file (${src.size} bytes)`, {
          path: this.name,
          host_offset: host,
        });
      }
      // The last compressed cluster may end before its last sector does.
      const data = await src.read(host, Math.min(csize, src.size - host));
      return decompressCluster(data, this.h.compressionType, this.h.clusterSize, `${this.name} (host offset ${host})`);
    });
  }

  /** Host offset of the L2 table of L1 entry `l1i` (0: none). */
  private l2Offset(l1i: number): number {
    const l1 = this.p.l1;
    if ((l1i + 1) * 8 > l1.length) throw corrupt(`${this.name}: L1 entry ${l1i} is past the L1 table`);
    return offsetBits(l1.readUInt32BE(l1i * 8), l1.readUInt32BE(l1i * 8 + 4), `${this.name}: L1 entry ${l1i}`);
  }

  /** The L2 slice starting `byteStart` bytes into the table at `l2off`, through the cache. */
  private slice(l1i: number, l2off: number, byteStart: number): Promise<Buffer> {
    const h = this.h;
    const key = l2off + byteStart;
    return this.l2Cache.getOrLoad(key, async () => {
      checkTableOffset(l2off, h.clusterSize, h.clusterSize, this.p.src.size, `${this.name}: L2 table of L1 entry ${l1i}`);
      return this.p.src.read(key, this.sliceBytes);
    });
  }

  /** The L2 entry of guest cluster `cluster`. */
  private async entry(cluster: number): Promise<ReturnType<typeof decodeL2>> {
    const h = this.h;
    const l1i = Math.floor(cluster / h.l2Entries);
    const l2i = cluster % h.l2Entries;
    const l2off = this.l2Offset(l1i);
    if (l2off === 0) return { kind: Kind.Unallocated, host: 0, csize: 0, extended: false, allocBits: 0, zeroBits: 0 };
    const byteInTable = l2i * h.l2EntrySize;
    const sliceStart = byteInTable - (byteInTable % this.sliceBytes);
    const slice = await this.slice(l1i, l2off, sliceStart);
    return decodeL2(slice, byteInTable - sliceStart, h, this.p.dataFile !== undefined, () => `${this.name}: L2 entry ${l2i} of L1 entry ${l1i}`);
  }
}

/** Appends a run, merging it into the previous one when both are contiguous and of one kind. */
function push(runs: Run[], r: Run): void {
  const last = runs[runs.length - 1];
  if (last && last.kind === r.kind && last.at + last.len === r.at) {
    if (r.kind === Kind.Zero || (r.kind !== Kind.Compressed && last.pos + last.len === r.pos)) {
      last.len += r.len;
      return;
    }
  }
  runs.push(r);
}
