import { inodeStat } from '../stat.js';
import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { FsError } from '../errors.js';
import type { DirEntry, FileSystem, FsInfo, InodeStat } from '../types.js';
import { AgGeometry } from './ag.js';
import { checkExtentOrder, decodeExtents, findExtent, readBmbtExtents, type Extent } from './bmap.js';
import { DIR2_LEAF_OFFSET_BYTES, parseDataBlock, parseShortformDir, type XfsDirEntry } from './dir2.js';
import { FMT_BTREE, FMT_EXTENTS, FMT_LOCAL, parseInode, type XfsInode } from './inode.js';
import { logIsDirty } from './log.js';
import { Lru } from '../../util/lru.js';
import { XFS_SYMLINK_MAXLEN, remoteSymlinkChunk } from './symlink.js';
import { parseSuperblock, type XfsSuperblock } from './superblock.js';

interface DirIndex {
  entries: XfsDirEntry[];
  byName: Map<string, XfsDirEntry>;
}

/** Read-only XFS (v4 and v5) over a block device. Metadata is cached in bounded LRUs. */
export class XfsFileSystem implements FileSystem {
  readonly info: FsInfo;
  readonly rootIno: number;
  private readonly geo: AgGeometry;
  private readonly blocks = new Lru<number, Buffer>(512);
  private readonly inodes = new Lru<number, XfsInode>(4096);
  private readonly extents = new Lru<number, Extent[]>(256);
  private readonly dirs = new Lru<number, DirIndex>(128);
  private readonly dirBlockSize: number;

  private constructor(
    private readonly dev: BlockDevice,
    readonly sb: XfsSuperblock,
    warnings: string[],
  ) {
    this.geo = new AgGeometry(sb);
    this.rootIno = sb.rootIno;
    this.dirBlockSize = sb.blockSize << sb.dirBlockLog;
    const total = sb.dblocks * sb.blockSize;
    const free = sb.fdblocks * sb.blockSize;
    this.info = {
      type: 'xfs',
      uuid: sb.uuid,
      label: sb.label,
      blockSize: sb.blockSize,
      totalBytes: total,
      freeBytes: free,
      usedBytes: total - free,
      version: sb.version,
      inodes: sb.icount,
      freeInodes: sb.ifree,
      warnings,
    };
  }

  static async open(dev: BlockDevice): Promise<XfsFileSystem> {
    if (dev.size < 4096) throw corrupt(`${dev.name}: too small for XFS`);
    const sb = parseSuperblock(await dev.read(0, 4096));
    if (sb.dblocks * sb.blockSize > dev.size) {
      throw corrupt(`${dev.name}: XFS claims ${sb.dblocks * sb.blockSize} bytes but the device has ${dev.size}`);
    }
    const warnings: string[] = [];
    const fs = new XfsFileSystem(dev, sb, warnings);
    if (await logIsDirty(dev, sb, (fsbno) => fs.geo.fsbToByte(fsbno, 'log start'))) {
      warnings.push('xfs: the log is dirty (not cleanly unmounted); it was not replayed, so recent changes may be missing');
    }
    // The root inode must parse, or nothing will.
    const root = await fs.inode(sb.rootIno);
    if (root.type !== 'directory') throw corrupt(`xfs: root inode ${sb.rootIno} is not a directory`);
    return fs;
  }

  private async block(byteOff: number, len: number): Promise<Buffer> {
    const hit = this.blocks.get(byteOff);
    if (hit && hit.length === len) return hit;
    const b = await this.dev.read(byteOff, len);
    this.blocks.set(byteOff, b);
    return b;
  }

  async inode(ino: number): Promise<XfsInode> {
    const hit = this.inodes.get(ino);
    if (hit) return hit;
    const byte = this.geo.inodeToByte(ino);
    const bs = this.sb.blockSize;
    const blockStart = byte - (byte % bs);
    const blk = await this.block(blockStart, bs);
    const inode = parseInode(blk.subarray(byte - blockStart, byte - blockStart + this.sb.inodeSize), ino, this.sb);
    this.inodes.set(ino, inode);
    return inode;
  }

  private async fileExtents(ino: XfsInode): Promise<Extent[]> {
    const hit = this.extents.get(ino.ino);
    if (hit) return hit;
    let ext: Extent[] = [];
    if (ino.format === FMT_EXTENTS) {
      decodeExtents(new BinaryReader(ino.dataFork, `xfs inode ${ino.ino} extents`), 0, ino.nextents, ext);
      checkExtentOrder(ext, `inode ${ino.ino}`);
    } else if (ino.format === FMT_BTREE) {
      const bs = this.sb.blockSize;
      ext = await readBmbtExtents(ino.dataFork, this.sb.crc, bs, (fsbno) => this.block(this.geo.fsbToByte(fsbno, `inode ${ino.ino} bmbt`), bs), `inode ${ino.ino}`);
    }
    for (const e of ext) {
      // Every mapped block must lie inside the filesystem; checked once here instead of per read.
      this.geo.fsbToByte(e.startBlock, `inode ${ino.ino} extent`);
      this.geo.fsbToByte(e.startBlock + e.count - 1, `inode ${ino.ino} extent end`);
    }
    this.extents.set(ino.ino, ext);
    return ext;
  }

  /** Bytes [offset, offset+length) of the inode's data fork address space; holes and unwritten extents are zeros. */
  private async readMapped(ino: XfsInode, offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    if (length === 0) return out;
    const bs = this.sb.blockSize;
    const ext = await this.fileExtents(ino);
    const end = offset + length;
    for (let i = findExtent(ext, Math.floor(offset / bs)); i < ext.length; i++) {
      const e = ext[i]!;
      const eStart = e.startOff * bs;
      if (eStart >= end) break;
      const from = Math.max(offset, eStart);
      const to = Math.min(end, eStart + e.count * bs);
      if (to <= from || e.unwritten) continue;
      const dev = this.geo.fsbToByte(e.startBlock, `inode ${ino.ino} extent`) + (from - eStart);
      (await this.dev.read(dev, to - from)).copy(out, from - offset);
    }
    return out;
  }

  private async dirIndex(dirIno: number): Promise<DirIndex> {
    const hit = this.dirs.get(dirIno);
    if (hit) return hit;
    const ino = await this.inode(dirIno);
    if (ino.type !== 'directory') throw new FsError('ENOTDIR', 'scandir', `inode ${dirIno}`);
    const entries: XfsDirEntry[] = [];
    if (ino.format === FMT_LOCAL) {
      const sf = parseShortformDir(ino.dataFork, ino.size, this.sb.ftype, dirIno);
      entries.push({ name: '.', ino: dirIno, type: 'directory' }, { name: '..', ino: sf.parent, type: 'directory' }, ...sf.entries);
    } else if (ino.format === FMT_EXTENTS || ino.format === FMT_BTREE) {
      const bs = this.sb.blockSize;
      const perDirBlock = this.dirBlockSize / bs;
      const leafStart = DIR2_LEAF_OFFSET_BYTES / bs;
      const seen = new Set<number>();
      for (const e of await this.fileExtents(ino)) {
        if (e.startOff >= leafStart) break;
        const first = Math.floor(e.startOff / perDirBlock);
        const last = Math.floor((Math.min(e.startOff + e.count, leafStart) - 1) / perDirBlock);
        for (let db = first; db <= last; db++) {
          if (seen.has(db)) continue;
          seen.add(db);
          const buf = await this.readMapped(ino, db * this.dirBlockSize, this.dirBlockSize);
          parseDataBlock(buf, this.sb.crc, this.sb.ftype, `directory ${dirIno} block ${db}`, entries);
        }
      }
    } else {
      throw corrupt(`xfs: directory inode ${dirIno} has data fork format ${ino.format}`);
    }
    const byName = new Map<string, XfsDirEntry>();
    for (const e of entries) byName.set(e.name, e);
    const idx = { entries, byName };
    this.dirs.set(dirIno, idx);
    return idx;
  }

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    return (await this.dirIndex(dirIno)).byName.get(name)?.ino;
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    return (await this.dirIndex(dirIno)).entries
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map((e) => ({ name: e.name, ino: e.ino, type: e.type }));
  }

  async stat(ino: number): Promise<InodeStat> {
    return inodeStat(ino, await this.inode(ino));
  }


  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const i = await this.inode(ino);
    if (i.type === 'directory') throw new FsError('EISDIR', 'read', `inode ${ino}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new FsError('EINVAL', 'read', `inode ${ino}`);
    }
    const len = Math.max(0, Math.min(length, i.size - offset));
    if (i.format === FMT_LOCAL) return Buffer.from(i.dataFork.subarray(offset, offset + len));
    if (i.format !== FMT_EXTENTS && i.format !== FMT_BTREE) return Buffer.alloc(0);
    return this.readMapped(i, offset, len);
  }

  async readlink(ino: number): Promise<string> {
    const i = await this.inode(ino);
    if (i.type !== 'symlink') throw new FsError('EINVAL', 'readlink', `inode ${ino}`);
    if (i.size > XFS_SYMLINK_MAXLEN) throw corrupt(`xfs: symlink inode ${ino} claims ${i.size} bytes`);
    if (i.format === FMT_LOCAL) return i.dataFork.subarray(0, i.size).toString('utf8');
    if (i.format !== FMT_EXTENTS) throw corrupt(`xfs: symlink inode ${ino} has fork format ${i.format}`);
    const bs = this.sb.blockSize;
    const parts: Buffer[] = [];
    let have = 0;
    for (const e of await this.fileExtents(i)) {
      for (let b = 0; b < e.count && have < i.size; b++) {
        if (e.unwritten) throw corrupt(`xfs: symlink inode ${ino} has an unwritten extent`);
        const blk = await this.block(this.geo.fsbToByte(e.startBlock + b, `symlink ${ino}`), bs);
        const chunk = remoteSymlinkChunk(blk, this.sb.crc, ino, have);
        const take = chunk.subarray(0, Math.min(chunk.length, i.size - have));
        parts.push(take);
        have += take.length;
      }
    }
    if (have !== i.size) throw corrupt(`xfs: symlink inode ${ino} holds ${have} of ${i.size} bytes`);
    return Buffer.concat(parts).toString('utf8');
  }

  async close(): Promise<void> {}
}

export async function openXfs(dev: BlockDevice): Promise<FileSystem> {
  try {
    return await XfsFileSystem.open(dev);
  } catch (err) {
    if (err instanceof GuestkitError || err instanceof FsError) throw err;
    throw corrupt(`${dev.name}: xfs: ${(err as Error).message}`);
  }
}
