import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { Lru } from '../../util/lru.js';
import { FsError } from '../errors.js';
import type { DirEntry, FileSystem, FsInfo, InodeStat } from '../types.js';
import type { MapContext, Run } from './blockmap.js';
import { parseDirRegion, type DirParseContext } from './directory.js';
import { mapExtents } from './extent.js';
import { descriptorBlock, parseDescriptor, type GroupDescriptor } from './group-descriptors.js';
import { mapIndirect } from './indirect.js';
import { inlineData, inlineParts } from './inline.js';
import { INODE_FLAGS, parseInode, toStat, type Inode } from './inode.js';
import { JournalOverlayDevice, scanJournal } from './journal.js';
import { INCOMPAT, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, hasIncompat, parseSuperblock, type Superblock } from './superblock.js';

const ROOT_INO = 2;
/**
 * Inode tables are cached by block and read one block at a time, until a window of this
 * many bytes has missed ITABLE_SPARSE_MISSES times: then the rest of the window comes in one
 * read. Inspection touches a few inodes per window (one block each); a walk reads windows whole.
 */
const ITABLE_WINDOW = 64 * 1024;
const ITABLE_SPARSE_MISSES = 2;
/** Directories larger than this are refused as corrupt rather than read into memory. */
const MAX_DIR_BYTES = 512 * 1024 * 1024;
/** One device read of file data at most this large (bigger runs are split). */
const MAX_IO = 8 * 1024 * 1024;
const MAX_READ = 2 ** 31 - 1;

export interface ExtOpenOptions {
  /** Replay a journal that needs recovery in memory, as mounting would (default true). */
  replayJournal?: boolean;
}

export interface ExtCacheOptions {
  /** Bytes of metadata blocks (extent/indirect/descriptor blocks) kept. */
  metaBytes?: number;
  /** Bytes of inode-table chunks kept. */
  inodeTableBytes?: number;
  /** Parsed inodes kept. */
  inodes?: number;
  /** Directory entries (summed over cached directories) kept. */
  dirEntries?: number;
}

interface ParsedDir {
  entries: DirEntry[];
  byName?: Map<string, number>;
}

/** A read-only ext2/3/4 filesystem on a block device. */
export class ExtFs implements FileSystem {
  readonly info: FsInfo;
  readonly rootIno = ROOT_INO;
  private readonly meta: Lru<number, Promise<Buffer>>;
  private readonly itable: Lru<string, Promise<Buffer>>;
  /** Misses per inode-table window ("group:window"); bounded, a forgotten count only costs small reads. */
  private readonly itableMisses = new Lru<string, number>(8192);
  private readonly inodes: Lru<number, Promise<Inode>>;
  private readonly dirs: Lru<number, Promise<ParsedDir>>;
  private readonly groups = new Lru<number, Promise<GroupDescriptor>>(4096);
  private readonly mapCtx: MapContext;
  private readonly casefoldFs: boolean;

  private constructor(
    private readonly dev: BlockDevice,
    readonly sb: Superblock,
    warnings: string[],
    cache: ExtCacheOptions,
  ) {
    const bs = sb.blockSize;
    // Byte budgets keep an oversized value alone rather than dropping it: a huge directory
    // (more entries than the budget) is read once for a walk, not once per lookup.
    this.meta = new Lru(Infinity, { maxBytes: cache.metaBytes ?? 16 * 1024 * 1024, sizeOf: () => bs, keepOversized: true });
    this.itable = new Lru(Infinity, { maxBytes: cache.inodeTableBytes ?? 32 * 1024 * 1024, keepOversized: true });
    this.inodes = new Lru(cache.inodes ?? 32768);
    // bounded by entries summed over the cached directories (the cost given to set)
    this.dirs = new Lru(Infinity, { maxBytes: cache.dirEntries ?? 200_000, keepOversized: true });
    this.casefoldFs = hasIncompat(sb, INCOMPAT.CASEFOLD);
    this.mapCtx = {
      blockSize: bs,
      blocksCount: sb.blocksCount,
      firstDataBlock: sb.firstDataBlock,
      readMeta: (b) => this.readMeta(b),
    };
    this.info = {
      type: sb.fsType,
      uuid: sb.uuid,
      blockSize: bs,
      totalBytes: sb.blocksCount * bs,
      freeBytes: sb.freeBlocks * bs,
      usedBytes: (sb.blocksCount - sb.freeBlocks) * bs,
      blocksCount: sb.blocksCount,
      freeBlocks: sb.freeBlocks,
      reservedBlocks: sb.reservedBlocks,
      inodesCount: sb.inodesCount,
      freeInodes: sb.freeInodes,
      inodeSize: sb.inodeSize,
      features: sb.featureNames,
      warnings,
    };
    if (sb.label) this.info.label = sb.label;
    if (sb.lastMounted) this.info.lastMounted = sb.lastMounted;
    if (this.casefoldFs) this.info.casefold = true;
  }

  static async open(dev: BlockDevice, cache: ExtCacheOptions = {}, opts: ExtOpenOptions = {}): Promise<ExtFs> {
    if (dev.size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${dev.name}: too small (${dev.size} bytes) for an ext2/3/4 filesystem`, { details: { device: dev.name } });
    }
    let sb = parseSuperblock(await dev.read(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE), dev.name);
    const warnings: string[] = [];
    let fsDev = dev;
    if (hasIncompat(sb, INCOMPAT.RECOVER)) {
      if (opts.replayJournal === false) {
        warnings.push('the journal needs recovery (unclean shutdown) and was not replayed: changes still in the journal are not visible');
      } else {
        const r = await ExtFs.replayJournal(dev, sb);
        warnings.push(r.warning);
        if (r.device) {
          fsDev = r.device;
          sb = parseSuperblock(await fsDev.read(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE), dev.name);
        }
      }
    }
    if (sb.state & 0x2) warnings.push('the filesystem is marked as having errors (fsck has not fixed them)');
    if (sb.blocksCount * sb.blockSize > dev.size) {
      warnings.push(`the filesystem (${sb.blocksCount * sb.blockSize} bytes) is larger than its device (${dev.size} bytes): the image looks truncated`);
    }
    if (hasIncompat(sb, INCOMPAT.CASEFOLD)) warnings.push('casefold: names in case-insensitive directories are matched ignoring case');
    const fs = new ExtFs(fsDev, sb, warnings, cache);
    const root = await fs.inode(ROOT_INO);
    if (root.type !== 'directory') throw corrupt(`${dev.name}: ext root inode 2 is a ${root.type}, not a directory`, { device: dev.name });
    return fs;
  }

  /** Scans the internal journal; on success returns a device that sees the replayed blocks. */
  private static async replayJournal(dev: BlockDevice, sb: Superblock): Promise<{ device?: BlockDevice; warning: string }> {
    if (sb.journalInum === 0) {
      return { warning: 'the journal needs recovery but lives on an external device: changes still in the journal are not visible' };
    }
    try {
      const tmp = new ExtFs(dev, sb, [], { metaBytes: 1 << 20, inodeTableBytes: 1 << 16, inodes: 16, dirEntries: 1 });
      const ji = await tmp.inode(sb.journalInum);
      if (ji.type !== 'file') throw corrupt(`ext journal inode ${sb.journalInum} is a ${ji.type}, not a file`);
      const nblocks = Math.floor(ji.size / sb.blockSize);
      if (nblocks < 2 || nblocks > sb.blocksCount) throw corrupt(`ext journal inode ${sb.journalInum}: size ${ji.size} is implausible`);
      const runs = await tmp.mapBlocks(ji, 0, nblocks);
      const r = await scanJournal(dev, sb.blockSize, sb.blocksCount, runs, nblocks);
      const notes = r.notes.length ? `; ${r.notes.join('; ')}` : '';
      if (r.transactions === 0) {
        return { warning: `the filesystem is flagged as needing journal recovery, but its journal holds no committed transactions${notes}` };
      }
      return {
        device: new JournalOverlayDevice(dev, sb.blockSize, r.blocks),
        warning: `journal recovery: ${r.transactions} committed transaction(s) (${r.blocks.size} blocks) applied in memory, as mounting would; the image itself is unchanged${notes}`,
      };
    } catch (err) {
      if (err instanceof GuestkitError) {
        return { warning: `the journal needs recovery but could not be replayed (${err.message}): changes still in the journal are not visible` };
      }
      throw err;
    }
  }

  // ---- metadata access -------------------------------------------------------------------

  private readMeta(block: number): Promise<Buffer> {
    if (!Number.isSafeInteger(block) || block < 0 || block >= this.sb.blocksCount) {
      return Promise.reject(corrupt(`${this.dev.name}: ext metadata block ${block} lies outside the filesystem's ${this.sb.blocksCount} blocks`, { block }));
    }
    const bs = this.sb.blockSize;
    return this.meta.getOrCreate(block, () => this.dev.read(block * bs, bs));
  }

  private group(g: number): Promise<GroupDescriptor> {
    return this.groups.getOrCreate(g, async () => {
      const blk = descriptorBlock(this.sb, g);
      if (blk >= this.sb.blocksCount) {
        throw corrupt(`${this.dev.name}: ext group descriptor ${g} would be at block ${blk}, past the filesystem's end`, { group: g, block: blk });
      }
      return parseDescriptor(this.sb, g, await this.readMeta(blk), blk);
    });
  }

  /** Parsed inode `ino` (cached). */
  inode(ino: number): Promise<Inode> {
    if (!Number.isSafeInteger(ino) || ino < 1 || ino > this.sb.inodesCount) {
      return Promise.reject(corrupt(`${this.dev.name}: ext inode number ${ino} is outside 1..${this.sb.inodesCount}`, { inode: ino }));
    }
    return this.inodes.getOrCreate(ino, async () => {
      const sb = this.sb;
      const g = Math.floor((ino - 1) / sb.inodesPerGroup);
      const idx = (ino - 1) % sb.inodesPerGroup;
      const gd = await this.group(g);
      const byteInTable = idx * sb.inodeSize;
      const blockNo = Math.floor(byteInTable / sb.blockSize);
      const block = await this.itableBlock(gd, blockNo, idx);
      const off = byteInTable - blockNo * sb.blockSize;
      if (off + sb.inodeSize > block.length) throw corrupt(`ext inode ${ino}: outside its inode table block`, { inode: ino });
      return parseInode(sb, ino, block.subarray(off, off + sb.inodeSize));
    });
  }

  /** Block `blockNo` of a group's inode table (cached); see ITABLE_WINDOW for how much is read. */
  private itableBlock(gd: GroupDescriptor, blockNo: number, idx: number): Promise<Buffer> {
    const key = `${gd.group}:${blockNo}`;
    const hit = this.itable.get(key);
    if (hit) return hit;
    const sb = this.sb;
    const bs = sb.blockSize;
    const perWindow = Math.max(1, ITABLE_WINDOW / bs);
    const window = Math.floor(blockNo / perWindow);
    const wkey = `${gd.group}:${window}`;
    const misses = this.itableMisses.get(wkey) ?? 0;
    this.itableMisses.set(wkey, misses + 1);
    let first = blockNo;
    let count = 1;
    if (misses >= ITABLE_SPARSE_MISSES) {
      // Stop at the last inode ever used in the group (itable_unused), but never before this one.
      const tableBlocks = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / bs);
      const usedBlocks = Math.ceil(Math.max((sb.inodesPerGroup - gd.itableUnused) * sb.inodeSize, (idx + 1) * sb.inodeSize) / bs);
      let end = Math.max(blockNo + 1, Math.min((window + 1) * perWindow, usedBlocks, tableBlocks));
      first = window * perWindow;
      // Blocks the sparse reads already brought are not read again at either end.
      while (first < blockNo && this.itable.get(`${gd.group}:${first}`)) first++;
      while (end - 1 > blockNo && this.itable.get(`${gd.group}:${end - 1}`)) end--;
      count = end - first;
    }
    const read = this.dev.read((gd.inodeTable + first) * bs, count * bs);
    for (let b = first; b < first + count; b++) {
      const k = `${gd.group}:${b}`;
      if (b !== blockNo && this.itable.get(k)) continue;
      this.itable.getOrCreate(k, () => read.then((buf) => buf.subarray((b - first) * bs, (b - first + 1) * bs)), bs);
    }
    return this.itable.get(key) ?? read.then((buf) => buf.subarray((blockNo - first) * bs, (blockNo - first + 1) * bs));
  }

  /** Initialized runs of logical blocks [first, first+count) of an inode (extent tree or block map). */
  async mapBlocks(inode: Inode, first: number, count: number): Promise<Run[]> {
    if (inode.flags & INODE_FLAGS.EXTENTS) return mapExtents(this.mapCtx, inode.ino, inode.iblock, first, count);
    return mapIndirect(this.mapCtx, inode.ino, inode.iblock, first, count);
  }

  private refuseEncrypted(inode: Inode, what: string): void {
    if (inode.flags & INODE_FLAGS.ENCRYPT) {
      throw new GuestkitError('ENCRYPTED', `${this.dev.name}: ext inode ${inode.ino} is encrypted (fscrypt); its ${what} cannot be read without the key`, {
        details: { device: this.dev.name, inode: inode.ino },
      });
    }
  }

  /** Bytes [off, off+len) of an inode's data (block-mapped or inline), holes as zeros. */
  private async readData(inode: Inode, off: number, len: number): Promise<Buffer> {
    if (len <= 0) return Buffer.alloc(0);
    if (len > MAX_READ) throw new FsError('EFBIG', 'read', `inode ${inode.ino}`, `${len} bytes in one read`);
    if (inode.flags & INODE_FLAGS.INLINE_DATA) return Buffer.from(inlineData(inode).subarray(off, off + len));
    const bs = this.sb.blockSize;
    const first = Math.floor(off / bs);
    const last = Math.floor((off + len - 1) / bs);
    const runs = await this.mapBlocks(inode, first, last - first + 1);
    const start = first * bs;
    // One run covering the whole range: hand back the device buffer itself.
    if (runs.length === 1 && runs[0]!.lblk === first && runs[0]!.len === last - first + 1 && len <= MAX_IO) {
      const buf = await this.dev.read(runs[0]!.pblk * bs + (off - start), len);
      return buf;
    }
    const out = Buffer.alloc(len);
    for (const run of runs) {
      const runFrom = Math.max(run.lblk * bs, off);
      const runTo = Math.min((run.lblk + run.len) * bs, off + len);
      for (let pos = runFrom; pos < runTo; pos += MAX_IO) {
        const n = Math.min(MAX_IO, runTo - pos);
        const dev = run.pblk * bs + (pos - run.lblk * bs);
        const buf = await this.dev.read(dev, n);
        buf.copy(out, pos - off);
      }
    }
    return out;
  }

  private dir(ino: number): Promise<ParsedDir> {
    const cached = this.dirs.get(ino);
    if (cached) return cached;
    const p = this.loadDir(ino);
    this.dirs.set(ino, p, 1);
    p.then(
      (d) => {
        if (this.dirs.get(ino) === p) this.dirs.set(ino, p, Math.max(1, d.entries.length));
      },
      () => this.dirs.delete(ino),
    );
    return p;
  }

  private async loadDir(ino: number): Promise<ParsedDir> {
    const inode = await this.inode(ino);
    if (inode.type !== 'directory') throw new FsError('ENOTDIR', 'scandir', `inode ${ino}`);
    this.refuseEncrypted(inode, 'directory entries');
    const ctx: DirParseContext = {
      ino,
      blockSize: this.sb.blockSize,
      inodesCount: this.sb.inodesCount,
      filetype: hasIncompat(this.sb, INCOMPAT.FILETYPE),
    };
    const entries: DirEntry[] = [];
    if (inode.flags & INODE_FLAGS.INLINE_DATA) {
      const { head, tail } = inlineParts(inode);
      // The first 4 bytes of i_block hold the parent inode ("..").
      parseDirRegion({ ...ctx, blockSize: 56 }, head.subarray(4), 'inline i_block', entries);
      if (tail.length > 0) parseDirRegion({ ...ctx, blockSize: tail.length }, tail, 'inline xattr', entries);
      return { entries };
    }
    if (inode.size > MAX_DIR_BYTES) throw corrupt(`ext directory inode ${ino}: size ${inode.size} is implausible for a directory`, { inode: ino });
    const bs = this.sb.blockSize;
    const nblocks = Math.ceil(inode.size / bs);
    const STEP = 256;
    for (let b = 0; b < nblocks; b += STEP) {
      const runs = await this.mapBlocks(inode, b, Math.min(STEP, nblocks - b));
      for (const run of runs) {
        for (let pos = 0; pos < run.len; pos += MAX_IO / bs) {
          const n = Math.min(MAX_IO / bs, run.len - pos);
          const data = await this.dev.read((run.pblk + pos) * bs, n * bs);
          for (let k = 0; k < n; k++) {
            parseDirRegion(ctx, data.subarray(k * bs, (k + 1) * bs), `block ${run.lblk + pos + k}`, entries);
          }
        }
      }
    }
    return { entries };
  }

  private foldName(name: string): string {
    return name.normalize('NFD').toLowerCase();
  }

  // ---- FileSystem ------------------------------------------------------------------------

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const dirInode = await this.inode(dirIno);
    if (dirInode.type !== 'directory') throw new FsError('ENOTDIR', 'lookup', `inode ${dirIno}`);
    const d = await this.dir(dirIno);
    const fold = this.casefoldFs && (dirInode.flags & INODE_FLAGS.CASEFOLD) !== 0;
    if (!d.byName) {
      d.byName = new Map();
      for (const e of d.entries) d.byName.set(fold ? this.foldName(e.name) : e.name, e.ino);
    }
    return d.byName.get(fold ? this.foldName(name) : name);
  }

  async stat(ino: number): Promise<InodeStat> {
    return toStat(await this.inode(ino));
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    const d = await this.dir(dirIno);
    return d.entries.map((e) => ({ ...e }));
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const inode = await this.inode(ino);
    if (inode.type === 'directory') throw new FsError('EISDIR', 'read', `inode ${ino}`);
    this.refuseEncrypted(inode, 'contents');
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new FsError('EINVAL', 'read', `inode ${ino}`, `range ${offset}+${length}`);
    }
    if (inode.type !== 'file' || offset >= inode.size) return Buffer.alloc(0);
    return this.readData(inode, offset, Math.min(length, inode.size - offset));
  }

  async readlink(ino: number): Promise<string> {
    const inode = await this.inode(ino);
    if (inode.type !== 'symlink') throw new FsError('EINVAL', 'readlink', `inode ${ino}`);
    this.refuseEncrypted(inode, 'link target');
    if (inode.size > 4096 || inode.size > this.sb.blockSize) {
      throw corrupt(`ext symlink inode ${ino}: target length ${inode.size} exceeds the ${Math.min(4096, this.sb.blockSize)}-byte limit`, { inode: ino });
    }
    let target: Buffer;
    if (inode.flags & INODE_FLAGS.INLINE_DATA) {
      target = inlineData(inode);
    } else if (this.isFastSymlink(inode)) {
      if (inode.size > 60) throw corrupt(`ext symlink inode ${ino}: fast symlink length ${inode.size} exceeds 60 bytes`, { inode: ino });
      target = inode.iblock.subarray(0, inode.size);
    } else {
      target = await this.readData(inode, 0, inode.size);
    }
    return target.toString('utf8');
  }

  /** Fast symlinks keep the target in i_block and own no data blocks (as the kernel decides). */
  private isFastSymlink(inode: Inode): boolean {
    if (inode.flags & INODE_FLAGS.EA_INODE) return inode.size < 60;
    const eaSectors = inode.fileAcl ? this.sb.clusterSize / 512 : 0;
    return inode.blocks512 - eaSectors === 0;
  }

  async close(): Promise<void> {
    this.meta.clear();
    this.itable.clear();
    this.itableMisses.clear();
    this.inodes.clear();
    this.dirs.clear();
  }
}

export async function openExt(dev: BlockDevice): Promise<FileSystem> {
  return ExtFs.open(dev);
}
