import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt, isGuestkitError } from '../../protocol/errors.js';
import { FsError } from '../errors.js';
import type { FsOpenOptions } from '../open.js';
import type { DirEntry, FileSystem, FileType, FsInfo, InodeStat } from '../types.js';
import { AT, type Attr, type NonResidentAttr } from './attribute.js';
import { parseAttributeList } from './attribute-list.js';
import { parseBootSector, type BootSector } from './boot-sector.js';
import { AttrStream, type Volume } from './data.js';
import { FILE_NAME_FLAG_DIRECTORY, NAMESPACE, parseFileName, type FileName } from './filename.js';
import { DirIndex, type IndexEntry } from './index.js';
import { Lru } from '../../util/lru.js';
import { MFT_FLAG, parseMftRecord, type MftRecord } from './mft-record.js';
import { INTX, dataElsewhere, isLinkTag, parseReparsePoint } from './reparse.js';
import { FILE_ATTR, parseStandardInformation, type StandardInformation } from './standard-information.js';
import { UpCase } from './upcase.js';

/** Well-known MFT records. */
export const REC = { MFT: 0, VOLUME: 3, ROOT: 5, BITMAP: 6, UPCASE: 10, FIRST_USER: 16 } as const;

const MFT_CHUNK_RECORDS = 16;
const MFT_CHUNK_CACHE = 256;
const INODE_CACHE = 4096;
const INDEX_BLOCK_CACHE = 512;
/** Attribute lists are at most a few hundred KiB on real volumes. */
const MAX_ATTRIBUTE_LIST = 1 << 20;
const MAX_EXTENSION_RECORDS = 4096;
/** $Bitmap read at open only up to this size (a 128 GiB volume with 4 KiB clusters). */
const MAX_FREE_SCAN_BYTES = 4 << 20;
/** Interix symlink targets are short; cap what is read to decide a SYSTEM file's type. */
const MAX_INTX_BYTES = 8 + 2 * 4096;

interface Inode {
  recNo: number;
  type: FileType;
  isDir: boolean;
  attrs: Attr[];
  std: StandardInformation;
  names: FileName[];
  target?: string;
  rdev?: number;
  /** Unnamed $DATA segments; the stream is built on first read so stat never decodes runlists. */
  dataSegs: Attr[];
  dataSize: number;
  /** Reparse tag, when the file is a reparse point. */
  reparseTag?: number;
  data?: AttrStream;
  dir?: DirIndex;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Read-only NTFS (3.x). Inode numbers are MFT record numbers; names match case-insensitively. */
export class NtfsFileSystem implements FileSystem {
  readonly rootIno = REC.ROOT;
  info: FsInfo = { type: 'ntfs' };
  private readonly vol: Volume;
  private mft!: AttrStream;
  private bootstrapping = true;
  private readonly chunks = new Lru<number, Buffer>(MFT_CHUNK_CACHE);
  private readonly inodes = new Lru<number, Inode>(INODE_CACHE);
  private readonly indexBlocks = new Lru<string, IndexEntry[]>(INDEX_BLOCK_CACHE);
  private upcaseTable?: Promise<UpCase>;
  private readonly warnings: string[] = [];

  private constructor(
    readonly dev: BlockDevice,
    readonly boot: BootSector,
  ) {
    this.vol = { dev, clusterSize: boot.clusterSize, totalClusters: boot.totalClusters };
  }

  static async open(dev: BlockDevice): Promise<NtfsFileSystem> {
    if (dev.size < 512) throw corrupt(`${dev.name}: too small for an NTFS boot sector`);
    const fs = new NtfsFileSystem(dev, parseBootSector(await dev.read(0, 512), dev.size));
    await fs.loadMft();
    await fs.loadInfo();
    return fs;
  }

  /** $MFT describes itself: start from record 0's first $DATA segment, then read the rest of its runlist. */
  private async loadMft(): Promise<void> {
    const rs = this.boot.mftRecordSize;
    const record0 = async (lcn: number) => {
      const rec = parseMftRecord(await this.dev.read(lcn * this.boot.clusterSize, rs), 0);
      if (!rec.inUse) throw corrupt('MFT record 0 ($MFT) is not in use');
      const data = rec.attrs.find((a) => a.type === AT.DATA && a.name === '' && !a.resident && a.startVcn === 0);
      if (!data) throw corrupt('MFT record 0 ($MFT) has no non-resident $DATA');
      return { rec, data };
    };
    let rec0;
    try {
      rec0 = await record0(this.boot.mftLcn);
    } catch (err) {
      // Like chkdsk and ntfs-3g, fall back to the copy of record 0 in $MFTMirr.
      if (!isGuestkitError(err, 'CORRUPT_IMAGE') || this.boot.mftMirrLcn >= this.boot.totalClusters) throw err;
      try {
        rec0 = await record0(this.boot.mftMirrLcn);
      } catch {
        throw err;
      }
      this.warnings.push(`$MFT record 0 is damaged (${err.message}); using its copy in $MFTMirr`);
    }
    const first = rec0.data;
    this.mft = new AttrStream(this.vol, [first], '$MFT', true);
    const inode = await this.buildAttrs(rec0.rec);
    this.mft = new AttrStream(this.vol, inode.filter((a) => a.type === AT.DATA && a.name === ''), '$MFT');
    if (this.mft.size < REC.FIRST_USER * rs) throw corrupt(`$MFT holds only ${this.mft.size} bytes`);
    this.bootstrapping = false;
  }

  private async loadInfo(): Promise<void> {
    const b = this.boot;
    const info: FsInfo = {
      type: 'ntfs',
      uuid: b.serial,
      blockSize: b.clusterSize,
      totalBytes: b.totalClusters * b.clusterSize,
      mftRecordSize: b.mftRecordSize,
      indexBlockSize: b.indexBlockSize,
      sectorSize: b.bytesPerSector,
    };
    const warnings = this.warnings;
    const vol = await this.inode(REC.VOLUME);
    const name = vol.attrs.find((a) => a.type === AT.VOLUME_NAME);
    if (name?.resident && name.value.length > 0) info.label = name.value.toString('utf16le');
    const vi = vol.attrs.find((a) => a.type === AT.VOLUME_INFORMATION);
    if (vi?.resident && vi.value.length >= 12) {
      info.version = `${vi.value[8]}.${vi.value[9]}`;
      const flags = vi.value.readUInt16LE(10);
      if (flags & 0x0001) warnings.push('volume is marked dirty (not cleanly unmounted; chkdsk pending)');
    }
    const bitmap = this.dataOf(await this.inode(REC.BITMAP));
    const need = Math.ceil(b.totalClusters / 8);
    if (bitmap && bitmap.size >= need && need <= MAX_FREE_SCAN_BYTES) {
      const bits = Buffer.alloc(Math.ceil(need / 4) * 4);
      (await bitmap.read(0, need)).copy(bits);
      // Bits past the last cluster must not count as used.
      for (let c = b.totalClusters; c < bits.length * 8; c++) bits[c >> 3]! &= ~(1 << (c & 7));
      let used = 0;
      for (let i = 0; i < bits.length; i += 4) used += popcount32(bits.readUInt32LE(i));
      info.usedBytes = used * b.clusterSize;
      info.freeBytes = (b.totalClusters - used) * b.clusterSize;
    }
    if (warnings.length) info.warnings = warnings;
    this.info = info;
  }

  // ---- MFT records -------------------------------------------------------------------------------

  private async readRecord(recNo: number): Promise<MftRecord> {
    const rs = this.boot.mftRecordSize;
    if (!Number.isSafeInteger(recNo) || recNo < 0 || (recNo + 1) * rs > this.mft.size) {
      throw corrupt(`MFT record ${recNo} is outside $MFT (${Math.floor(this.mft.size / rs)} records)`);
    }
    let raw: Buffer;
    if (this.bootstrapping) {
      raw = await this.mft.read(recNo * rs, rs);
    } else {
      const chunkNo = Math.floor(recNo / MFT_CHUNK_RECORDS);
      let chunk = this.chunks.get(chunkNo);
      if (!chunk) {
        chunk = await this.mft.read(chunkNo * MFT_CHUNK_RECORDS * rs, MFT_CHUNK_RECORDS * rs);
        this.chunks.set(chunkNo, chunk);
      }
      const at = (recNo % MFT_CHUNK_RECORDS) * rs;
      raw = Buffer.from(chunk.subarray(at, at + rs));
    }
    return parseMftRecord(raw, recNo);
  }

  /** All attributes of a base record, following its $ATTRIBUTE_LIST into extension records. */
  private async buildAttrs(base: MftRecord): Promise<Attr[]> {
    const listAttr = base.attrs.find((a) => a.type === AT.ATTRIBUTE_LIST);
    if (!listAttr) return base.attrs;
    const what = `MFT record ${base.recNo} $ATTRIBUTE_LIST`;
    let value: Buffer;
    if (listAttr.resident) value = listAttr.value;
    else {
      const s = new AttrStream(this.vol, [listAttr], what);
      if (s.size > MAX_ATTRIBUTE_LIST) throw corrupt(`${what}: ${s.size} bytes is implausibly large`);
      value = await s.read(0, s.size);
    }
    const entries = parseAttributeList(value, what);
    const records = new Map<number, MftRecord>([[base.recNo, base]]);
    for (const e of entries) {
      if (records.has(e.recNo)) continue;
      if (records.size > MAX_EXTENSION_RECORDS) throw corrupt(`${what}: more than ${MAX_EXTENSION_RECORDS} extension records`);
      const ext = await this.readRecord(e.recNo);
      // An extension record must belong to this base; anything else is a cross-linked or looping list.
      if (!ext.inUse || ext.baseRecNo !== base.recNo) {
        throw corrupt(`${what}: names MFT record ${e.recNo}, which is not an extension of record ${base.recNo}`, {
          record: e.recNo,
          base: ext.baseRecNo,
        });
      }
      if (ext.attrs.some((a) => a.type === AT.ATTRIBUTE_LIST)) throw corrupt(`${what}: extension record ${e.recNo} has its own attribute list`);
      records.set(e.recNo, ext);
    }
    const out: Attr[] = [listAttr];
    for (const e of entries) {
      const rec = records.get(e.recNo)!;
      const a = rec.attrs.find((x) => x.type === e.type && x.id === e.id);
      if (!a) throw corrupt(`${what}: attribute 0x${e.type.toString(16)} id ${e.id} is missing from MFT record ${e.recNo}`);
      if (a.type !== AT.ATTRIBUTE_LIST) out.push(a);
    }
    return out;
  }

  private async inode(recNo: number): Promise<Inode> {
    const hit = this.inodes.get(recNo);
    if (hit) return hit;
    const rec = await this.readRecord(recNo);
    const what = `MFT record ${recNo}`;
    if (!rec.inUse) throw corrupt(`${what} is referenced but not in use`);
    if (rec.baseRecNo !== undefined) throw corrupt(`${what} is an extension record of ${rec.baseRecNo}, not a file`);
    const attrs = await this.buildAttrs(rec);
    const si = attrs.find((a) => a.type === AT.STANDARD_INFORMATION);
    if (!si?.resident) throw corrupt(`${what}: no resident $STANDARD_INFORMATION`);
    const std = parseStandardInformation(si.value, `${what} $STANDARD_INFORMATION`);
    const names: FileName[] = [];
    for (const a of attrs) {
      if (a.type !== AT.FILE_NAME) continue;
      if (!a.resident) throw corrupt(`${what}: non-resident $FILE_NAME`);
      names.push(parseFileName(a.value, `${what} $FILE_NAME`));
    }
    const isDir = (rec.flags & MFT_FLAG.DIRECTORY) !== 0;
    const dataSegs = attrs.filter((a) => a.type === AT.DATA && a.name === '');
    const head = dataSegs.find((a) => a.resident || a.startVcn === 0);
    const dataSize = !head ? 0 : head.resident ? head.value.length : head.dataSize;
    const node: Inode = { recNo, type: isDir ? 'directory' : 'file', isDir, attrs, std, names, dataSegs, dataSize };
    const rp = attrs.find((a) => a.type === AT.REPARSE_POINT);
    if (rp && std.fileAttributes & FILE_ATTR.REPARSE_POINT) {
      const value = rp.resident ? rp.value : await new AttrStream(this.vol, [rp], what).read(0, 16 * 1024);
      const p = parseReparsePoint(value, `${what} $REPARSE_POINT`);
      node.reparseTag = p.tag;
      if (isLinkTag(p.tag) && p.target !== undefined) {
        node.type = 'symlink';
        node.target = p.target;
      }
    } else if (!isDir && std.fileAttributes & FILE_ATTR.SYSTEM && dataSize >= 8 && dataSize <= MAX_INTX_BYTES) {
      await this.interix(node, this.dataOf(node)!);
    }
    this.inodes.set(recNo, node);
    return node;
  }

  private dataOf(n: Inode): AttrStream | undefined {
    if (n.dataSegs.length === 0) return undefined;
    return (n.data ??= new AttrStream(this.vol, n.dataSegs, `MFT record ${n.recNo}`));
  }

  /** ntfs-3g stores symlinks and device nodes Interix-style: SYSTEM files with a magic header. */
  private async interix(node: Inode, data: AttrStream): Promise<void> {
    const head = await data.read(0, data.size);
    const magic = head.subarray(0, 8);
    if (magic.equals(INTX.SYMLINK)) {
      let t = head.subarray(8, 8 + ((head.length - 8) & ~1)).toString('utf16le');
      const nul = t.indexOf('\0');
      if (nul >= 0) t = t.slice(0, nul);
      node.type = 'symlink';
      node.target = t;
    } else if ((magic.equals(INTX.CHARDEV) || magic.equals(INTX.BLOCKDEV)) && head.length >= 24) {
      const major = Number(head.readBigUInt64LE(8) & 0xfffn);
      const minor = Number(head.readBigUInt64LE(16) & 0xfffffn);
      node.type = magic.equals(INTX.CHARDEV) ? 'chardev' : 'blockdev';
      node.rdev = (major << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
    }
  }

  private dirIndex(node: Inode): DirIndex {
    if (node.dir) return node.dir;
    const what = `MFT record ${node.recNo}`;
    const root = node.attrs.find((a) => a.type === AT.INDEX_ROOT && a.name === '$I30');
    if (!root?.resident) throw corrupt(`${what}: directory without a resident $INDEX_ROOT`);
    const allocSegs = node.attrs.filter((a) => a.type === AT.INDEX_ALLOCATION && a.name === '$I30');
    const bitmapSegs = node.attrs.filter((a) => a.type === AT.BITMAP && a.name === '$I30');
    node.dir = new DirIndex(
      root.value,
      allocSegs.length ? new AttrStream(this.vol, allocSegs, `${what} $INDEX_ALLOCATION`) : undefined,
      bitmapSegs.length ? new AttrStream(this.vol, bitmapSegs, `${what} $I30 $BITMAP`) : undefined,
      this.boot.clusterSize,
      this.indexBlocks,
      `directory ${node.recNo}`,
    );
    return node.dir;
  }

  private upcase(): Promise<UpCase> {
    this.upcaseTable ??= (async () => {
      try {
        const data = this.dataOf(await this.inode(REC.UPCASE));
        if (data && data.size === 131072) return UpCase.fromTable(await data.read(0, 131072));
      } catch (err) {
        if (!isGuestkitError(err)) throw err;
      }
      (this.info.warnings ??= []).push('$UpCase is unreadable; names are compared with simple Unicode upper-casing');
      return UpCase.simple();
    })();
    return this.upcaseTable;
  }

  // ---- FileSystem --------------------------------------------------------------------------------

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const node = await this.inode(dirIno);
    if (!node.isDir || node.type !== 'directory') throw new FsError('ENOTDIR', 'lookup', name);
    if (name.length === 0 || name.length > 255) return undefined;
    const up = await this.upcase();
    const e = await this.dirIndex(node).find(name, (s) => up.upcase(s));
    return e?.recNo;
  }

  async stat(ino: number): Promise<InodeStat> {
    const n = await this.inode(ino);
    const attrs = n.std.fileAttributes;
    let mode = 0o777;
    if (n.type === 'file' && attrs & FILE_ATTR.READONLY) mode &= ~0o222;
    let size = 0;
    if (n.type === 'symlink') size = Buffer.byteLength(n.target ?? '');
    else if (n.isDir) {
      const ia = n.attrs.find((a): a is NonResidentAttr => a.type === AT.INDEX_ALLOCATION && a.name === '$I30' && !a.resident && a.startVcn === 0);
      size = ia?.dataSize ?? 0;
    }
    else size = n.dataSize;
    const st: InodeStat = {
      ino,
      type: n.type,
      mode,
      uid: 0,
      gid: 0,
      size,
      nlink: Math.max(1, n.names.filter((f) => f.namespace !== NAMESPACE.DOS).length),
      atimeMs: n.std.atimeMs,
      mtimeMs: n.std.mtimeMs,
      ctimeMs: n.std.ctimeMs,
      birthtimeMs: n.std.birthtimeMs,
    };
    if (n.rdev !== undefined) st.rdev = n.rdev;
    const streams = [...new Set(n.attrs.filter((a) => a.type === AT.DATA && a.name !== '').map((a) => a.name))];
    if (streams.length) st.streams = streams;
    return st;
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    const node = await this.inode(dirIno);
    if (!node.isDir || node.type !== 'directory') throw new FsError('ENOTDIR', 'scandir', String(dirIno));
    const out: DirEntry[] = [];
    for (const e of await this.dirIndex(node).list()) {
      const k = e.key!;
      // DOS 8.3 aliases are extra names of a file already listed; metadata files ($MFT…) stay hidden.
      if (k.namespace === NAMESPACE.DOS || e.recNo < REC.FIRST_USER) continue;
      let type: FileType = k.flags & FILE_NAME_FLAG_DIRECTORY ? 'directory' : 'file';
      // Reparse points and SYSTEM files may be links or devices: let the VFS stat them.
      if (k.flags & (FILE_ATTR.REPARSE_POINT | FILE_ATTR.SYSTEM)) type = 'unknown';
      out.push({ name: k.name, ino: e.recNo, type });
    }
    return out;
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const n = await this.inode(ino);
    if (n.isDir && n.type === 'directory') throw new FsError('EISDIR', 'read', String(ino));
    const data = this.dataOf(n);
    if (!data || n.type !== 'file') return Buffer.alloc(0);
    const elsewhere = n.reparseTag === undefined ? undefined : dataElsewhere(n.reparseTag);
    if (elsewhere) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `MFT record ${ino}: contents are stored by ${elsewhere} (reparse tag 0x${n.reparseTag!.toString(16)}), which guestkit cannot read`, {
        details: { ino, reparse_tag: n.reparseTag },
      });
    }
    return data.read(offset, length);
  }

  async readlink(ino: number): Promise<string> {
    const n = await this.inode(ino);
    if (n.type !== 'symlink' || n.target === undefined) throw new FsError('EINVAL', 'readlink', String(ino));
    return n.target;
  }

  /** A named stream (alternate data stream) of a file, e.g. "Zone.Identifier". */
  async readStream(ino: number, stream: string, offset: number, length: number): Promise<Buffer> {
    const n = await this.inode(ino);
    const segs = n.attrs.filter((a) => a.type === AT.DATA && a.name === stream);
    if (segs.length === 0) throw new FsError('ENOENT', 'read', `${ino}:${stream}`);
    return new AttrStream(this.vol, segs, `MFT record ${ino} stream ${stream}`).read(offset, length);
  }

  /** Device byte offset of byte `pos` of an attribute, for tools and corruption tests. */
  async attributeDeviceOffset(ino: number, type: number, name: string, pos: number): Promise<number | undefined> {
    if (ino === REC.MFT && type === AT.DATA && name === '') return this.mft.deviceOffset(pos);
    const n = await this.inode(ino);
    const segs = n.attrs.filter((a) => a.type === type && a.name === name);
    if (segs.length === 0) return undefined;
    return new AttrStream(this.vol, segs, 'attribute').deviceOffset(pos);
  }

  /** Runs (fragments and holes) of a file's unnamed $DATA. */
  async dataRunCount(ino: number): Promise<number> {
    return this.dataOf(await this.inode(ino))?.runCount ?? 0;
  }

  async close(): Promise<void> {}
}

export async function openNtfs(dev: BlockDevice, _opts: FsOpenOptions = {}): Promise<NtfsFileSystem> {
  return NtfsFileSystem.open(dev);
}
