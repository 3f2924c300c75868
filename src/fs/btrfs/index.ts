import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { FsError } from '../errors.js';
import type { FsOpenOptions } from '../open.js';
import type { DirEntry, FileSystem, FsInfo, InodeStat } from '../types.js';
import { ChunkMap, parseChunkItem, parseSysChunkArray } from './chunk.js';
import { COMPRESS_NONE, MAX_UNCOMPRESSED, decompressExtent } from './compress.js';
import { btrfsNameHash } from './name-hash.js';
import { parseDirItems, type BtrfsDirItem } from './dir-item.js';
import { EXTENT_INLINE, EXTENT_PREALLOC, parseFileExtent, type FileExtent } from './extent-data.js';
import { parseInodeItem, type BtrfsInode } from './inode-item.js';
import { fileTypeOfMode } from '../mode.js';
import {
  CHUNK_ITEM,
  DIR_INDEX,
  DIR_ITEM,
  EXTENT_DATA,
  FIRST_CHUNK_TREE_OBJECTID,
  FS_TREE_OBJECTID,
  INODE_ITEM,
  INODE_REF,
  MAX_U64,
  ROOT_ITEM,
  ROOT_REF,
  ROOT_TREE_DIR_OBJECTID,
  type Key,
} from './key.js';
import { Lru } from '../../util/lru.js';
import { readSuperblock, type BtrfsSuperblock } from './superblock.js';
import { TreeReader } from './tree.js';
import { compareText } from '../../util/compare.js';

interface TreeRoot {
  id: number;
  bytenr: number;
  level: number;
  /** Objectid of the subvolume's top directory (256). */
  dirid: number;
}

/** Where an interface inode number lives: subvolume tree and objectid in it. */
interface Loc {
  tree: number;
  oid: number;
}

/** Inode numbers at or above this are table-assigned (inodes of other subvolumes). */
const SYNTH_BASE = 2 ** 52;
const SYMLINK_MAX = 4095;

/** State shared by every view (subvolume) of one opened Btrfs device. */
class BtrfsVolume {
  /** Subvolume roots by id (a hostile image may name any number of them). */
  readonly roots = new Lru<number, TreeRoot>(4096);
  constructor(
    readonly dev: BlockDevice,
    readonly sb: BtrfsSuperblock,
    readonly chunks: ChunkMap,
    readonly trees: TreeReader,
  ) {}

  async root(id: number): Promise<TreeRoot> {
    const hit = this.roots.get(id);
    if (hit) return hit;
    // ROOT_ITEM keys are (id, ROOT_ITEM, transid-or-0): take the first one of this id.
    let found: TreeRoot | undefined;
    for await (const it of this.trees.range(this.sb.root, this.sb.rootLevel, { oid: id, type: ROOT_ITEM, off: 0 }, { oid: id, type: ROOT_ITEM, off: MAX_U64 })) {
      const r = new BinaryReader(it.data, `btrfs root item ${id}`);
      found = { id, dirid: r.u64le(168), bytenr: r.u64le(176), level: r.u8(238) };
      break;
    }
    if (!found) throw new GuestkitError('NOT_FOUND', `btrfs: no subvolume with id ${id}`, { details: { subvolid: id } });
    this.roots.set(id, found);
    return found;
  }

  /** Reads `len` bytes at a logical address, following chunk boundaries. */
  async readLogical(logical: number, len: number, what: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    let done = 0;
    while (done < len) {
      const { physical, avail } = this.chunks.map(logical + done, what);
      const n = Math.min(avail, len - done);
      parts.push(await this.dev.read(physical, n));
      done += n;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, len);
  }

  /** The subvolume the filesystem mounts by default: root tree's "default" dir item, else FS_TREE. */
  async defaultSubvol(): Promise<number> {
    const name = Buffer.from('default');
    const key = { oid: ROOT_TREE_DIR_OBJECTID, type: DIR_ITEM, off: btrfsNameHash(name) };
    const it = await this.trees.get(this.sb.root, this.sb.rootLevel, key);
    const d = it && parseDirItems(it.data, 'default dir item').find((x) => x.name.equals(name));
    return d && d.location.oid !== 0 ? d.location.oid : FS_TREE_OBJECTID;
  }
}

/**
 * One Btrfs subvolume as a FileSystem. Inode numbers: objectids of the opened
 * subvolume are used as they are; an inode of another subvolume (reached by
 * crossing a nested subvolume's directory entry) gets a number from a table,
 * counting up from 2^52, so numbers stay distinct and stable for this object.
 */
export class BtrfsFileSystem implements FileSystem {
  readonly info: FsInfo;
  readonly rootIno: number;
  private readonly synth = new Map<string, number>();
  private readonly synthRev: Loc[] = [];
  private readonly inodes = new Lru<string, BtrfsInode>(4096);
  private readonly extents = new Lru<string, FileExtent[]>(256);
  private readonly unpacked = new Lru<number, Buffer>(32);

  private constructor(
    private readonly vol: BtrfsVolume,
    readonly subvol: TreeRoot,
  ) {
    const sb = vol.sb;
    this.rootIno = this.num(subvol.id, subvol.dirid);
    const warnings: string[] = [];
    if (sb.logRoot !== 0) warnings.push('btrfs: a log tree is present (fsync data after the last commit); it was not replayed');
    this.info = {
      type: 'btrfs',
      uuid: sb.fsid,
      label: sb.label,
      blockSize: sb.sectorSize,
      totalBytes: sb.totalBytes,
      usedBytes: sb.bytesUsed,
      freeBytes: Math.max(0, sb.totalBytes - sb.bytesUsed),
      generation: sb.generation,
      nodeSize: sb.nodeSize,
      subvolid: subvol.id,
      warnings,
    };
  }

  static async open(dev: BlockDevice, opts: FsOpenOptions = {}): Promise<BtrfsFileSystem> {
    const sb = await readSuperblock(dev);
    const chunks = new ChunkMap();
    parseSysChunkArray(sb.sysChunkArray, sb.devid, chunks);
    const trees = new TreeReader(dev, chunks, sb.nodeSize, sb.metadataFsid);
    // The chunk tree maps everything else (data, metadata); it is small, so load it whole.
    const all = new ChunkMap();
    for await (const it of trees.range(sb.chunkRoot, sb.chunkRootLevel, { oid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM, off: 0 }, { oid: FIRST_CHUNK_TREE_OBJECTID, type: CHUNK_ITEM, off: MAX_U64 })) {
      if (all.size > 1_000_000) throw corrupt('btrfs: chunk tree holds more than a million chunks');
      all.add(parseChunkItem(new BinaryReader(it.data, 'btrfs chunk item'), 0, it.key.off, sb.devid).chunk);
    }
    if (all.size === 0) throw corrupt('btrfs: chunk tree holds no chunks');
    const vol = new BtrfsVolume(dev, sb, all, new TreeReader(dev, all, sb.nodeSize, sb.metadataFsid));

    let id: number;
    if (opts.subvolid !== undefined) id = opts.subvolid;
    else if (opts.subvol !== undefined && opts.subvol.split('/').some((c) => c !== '')) {
      const top = new BtrfsFileSystem(vol, await vol.root(FS_TREE_OBJECTID));
      id = await top.subvolAt(opts.subvol);
    } else id = await vol.defaultSubvol();
    const root = await vol.root(id);
    const fs = new BtrfsFileSystem(vol, root);
    const st = await fs.stat(fs.rootIno);
    if (st.type !== 'directory') throw corrupt(`btrfs: subvolume ${id} top inode is not a directory`);
    return fs;
  }

  /** Subvolume id of the subvolume whose top directory is at `path` (relative to the top level, FS_TREE). */
  private async subvolAt(path: string): Promise<number> {
    let ino = this.rootIno;
    for (const c of path.split('/').filter((x) => x !== '' && x !== '.')) {
      const next = await this.lookup(ino, c);
      if (next === undefined) throw new GuestkitError('NOT_FOUND', `btrfs: subvolume path '${path}' does not exist`, { details: { subvol: path } });
      ino = next;
    }
    const loc = this.loc(ino);
    const root = await this.vol.root(loc.tree);
    if (loc.oid !== root.dirid) throw new GuestkitError('NOT_FOUND', `btrfs: '${path}' is a directory, not a subvolume`, { details: { subvol: path } });
    return loc.tree;
  }

  private num(tree: number, oid: number): number {
    if (tree === this.subvol?.id && oid < SYNTH_BASE) return oid;
    const k = `${tree}:${oid}`;
    let n = this.synth.get(k);
    if (n === undefined) {
      n = SYNTH_BASE + this.synthRev.length;
      this.synth.set(k, n);
      this.synthRev.push({ tree, oid });
    }
    return n;
  }

  private loc(ino: number): Loc {
    if (ino < SYNTH_BASE) return { tree: this.subvol.id, oid: ino };
    const l = this.synthRev[ino - SYNTH_BASE];
    if (!l) throw new FsError('ENOENT', 'stat', `inode ${ino}`);
    return l;
  }

  private async treeRange(tree: number, min: Key, max: Key) {
    const root = await this.vol.root(tree);
    return this.vol.trees.range(root.bytenr, root.level, min, max);
  }

  private async inode(ino: number): Promise<{ loc: Loc; inode: BtrfsInode }> {
    const loc = this.loc(ino);
    const k = `${loc.tree}:${loc.oid}`;
    let inode = this.inodes.get(k);
    if (!inode) {
      const root = await this.vol.root(loc.tree);
      const it = await this.vol.trees.get(root.bytenr, root.level, { oid: loc.oid, type: INODE_ITEM, off: 0 });
      if (!it) throw corrupt(`btrfs: inode ${loc.oid} of subvolume ${loc.tree} has no inode item`, { tree: loc.tree, oid: loc.oid });
      inode = parseInodeItem(it.data, `inode ${loc.oid}`);
      this.inodes.set(k, inode);
    }
    return { loc, inode };
  }

  private async dirLoc(dirIno: number, syscall: string): Promise<Loc> {
    const { loc, inode } = await this.inode(dirIno);
    if (fileTypeOfMode(inode.mode) !== 'directory') throw new FsError('ENOTDIR', syscall, `inode ${dirIno}`);
    return loc;
  }

  private async target(tree: number, d: BtrfsDirItem): Promise<number> {
    if (d.location.type === ROOT_ITEM) {
      const root = await this.vol.root(d.location.oid);
      return this.num(root.id, root.dirid);
    }
    if (d.location.type !== INODE_ITEM) throw corrupt(`btrfs: directory entry points at key type ${d.location.type}`);
    return this.num(tree, d.location.oid);
  }

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const loc = await this.dirLoc(dirIno, 'lookup');
    const nb = Buffer.from(name, 'utf8');
    if (nb.length === 0 || nb.length > 255) return undefined;
    const key = { oid: loc.oid, type: DIR_ITEM, off: btrfsNameHash(nb) };
    for await (const it of await this.treeRange(loc.tree, key, key)) {
      const d = parseDirItems(it.data, `dir item in ${loc.oid}`).find((x) => x.name.equals(nb));
      if (d) return this.target(loc.tree, d);
    }
    return undefined;
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    const loc = await this.dirLoc(dirIno, 'scandir');
    const out: DirEntry[] = [];
    for await (const it of await this.treeRange(loc.tree, { oid: loc.oid, type: DIR_INDEX, off: 0 }, { oid: loc.oid, type: DIR_INDEX, off: MAX_U64 })) {
      for (const d of parseDirItems(it.data, `dir index in ${loc.oid}`)) {
        out.push({ name: d.name.toString('utf8'), ino: await this.target(loc.tree, d), type: d.location.type === ROOT_ITEM ? 'directory' : d.type });
      }
    }
    return out;
  }

  async stat(ino: number): Promise<InodeStat> {
    const { inode } = await this.inode(ino);
    const type = fileTypeOfMode(inode.mode);
    const st: InodeStat = {
      ino,
      type,
      mode: inode.mode & 0o7777,
      uid: inode.uid,
      gid: inode.gid,
      size: inode.size,
      nlink: inode.nlink,
      atimeMs: inode.atimeMs,
      mtimeMs: inode.mtimeMs,
      ctimeMs: inode.ctimeMs,
      birthtimeMs: inode.otimeMs,
    };
    if (type === 'chardev' || type === 'blockdev') st.rdev = inode.rdev;
    return st;
  }

  private async fileExtents(loc: Loc): Promise<FileExtent[]> {
    const k = `${loc.tree}:${loc.oid}`;
    const hit = this.extents.get(k);
    if (hit) return hit;
    const list: FileExtent[] = [];
    let end = 0;
    for await (const it of await this.treeRange(loc.tree, { oid: loc.oid, type: EXTENT_DATA, off: 0 }, { oid: loc.oid, type: EXTENT_DATA, off: MAX_U64 })) {
      const e = parseFileExtent(it.data, it.key.off, `extent of inode ${loc.oid} at ${it.key.off}`);
      if (e.fileOff < end) throw corrupt(`btrfs: extents of inode ${loc.oid} overlap at ${e.fileOff}`);
      end = e.fileOff + e.len;
      list.push(e);
    }
    this.extents.set(k, list);
    return list;
  }

  private async extentBytes(e: FileExtent, what: string): Promise<Buffer> {
    if (e.kind === EXTENT_INLINE) {
      return e.compression === COMPRESS_NONE ? e.inline! : decompressExtent(e.compression, e.inline!, e.ramBytes, this.vol.sb.sectorSize, what);
    }
    const hit = this.unpacked.get(e.diskBytenr);
    if (hit && hit.length === e.ramBytes) return hit;
    if (e.diskNumBytes > MAX_UNCOMPRESSED || e.diskNumBytes <= 0) throw corrupt(`btrfs: ${what}: compressed extent of ${e.diskNumBytes} bytes`);
    const raw = await this.vol.readLogical(e.diskBytenr, e.diskNumBytes, what);
    const out = decompressExtent(e.compression, raw, e.ramBytes, this.vol.sb.sectorSize, what);
    this.unpacked.set(e.diskBytenr, out);
    return out;
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const { loc, inode } = await this.inode(ino);
    if (fileTypeOfMode(inode.mode) === 'directory') throw new FsError('EISDIR', 'read', `inode ${ino}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) throw new FsError('EINVAL', 'read', `inode ${ino}`);
    const len = Math.max(0, Math.min(length, inode.size - offset));
    const out = Buffer.alloc(len);
    if (len === 0) return out;
    const end = offset + len;
    const ext = await this.fileExtents(loc);
    // Last extent starting at or before `offset` (binary search), then forwards.
    let lo = 0;
    let hi = ext.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ext[mid]!.fileOff <= offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = Math.max(0, lo - 1); i < ext.length; i++) {
      const e = ext[i]!;
      if (e.fileOff >= end) break;
      const from = Math.max(offset, e.fileOff);
      const to = Math.min(end, e.fileOff + e.len);
      if (to <= from) continue;
      const what = `inode ${loc.oid} extent at ${e.fileOff}`;
      if (e.kind === EXTENT_PREALLOC || (e.kind !== EXTENT_INLINE && e.diskBytenr === 0)) continue; // zeros
      if (e.kind !== EXTENT_INLINE && e.compression === COMPRESS_NONE) {
        const data = await this.vol.readLogical(e.diskBytenr + e.extOffset + (from - e.fileOff), to - from, what);
        data.copy(out, from - offset);
        continue;
      }
      const bytes = await this.extentBytes(e, what);
      const start = e.extOffset + (from - e.fileOff);
      bytes.copy(out, from - offset, Math.min(start, bytes.length), Math.min(start + (to - from), bytes.length));
    }
    return out;
  }

  async readlink(ino: number): Promise<string> {
    const { inode } = await this.inode(ino);
    if (fileTypeOfMode(inode.mode) !== 'symlink') throw new FsError('EINVAL', 'readlink', `inode ${ino}`);
    if (inode.size > SYMLINK_MAX) throw corrupt(`btrfs: symlink inode ${ino} claims ${inode.size} bytes`);
    return (await this.read(ino, 0, inode.size)).toString('utf8');
  }

  /**
   * Every subvolume of the filesystem with its path from the top level, from
   * the root tree's ROOT_REF items (and INODE_REFs when a subvolume sits in a
   * subdirectory). Inspection uses it to find roots kept in subvolumes (@, root).
   */
  async subvolumes(): Promise<{ id: number; path: string }[]> {
    const refs: { parent: number; child: number; dirid: number; name: string }[] = [];
    const sb = this.vol.sb;
    for await (const it of this.vol.trees.range(sb.root, sb.rootLevel, { oid: FS_TREE_OBJECTID, type: ROOT_REF, off: 0 }, { oid: MAX_U64, type: ROOT_REF, off: MAX_U64 })) {
      if (it.key.type !== ROOT_REF) continue;
      if (refs.length >= 10_000) throw corrupt('btrfs: more than 10000 subvolume references');
      const r = new BinaryReader(it.data, 'btrfs root ref');
      const len = r.u16le(16);
      refs.push({ parent: it.key.oid, child: it.key.off, dirid: r.u64le(0), name: r.bytes(18, len).toString('utf8') });
    }
    const paths = new Map<number, string>([[FS_TREE_OBJECTID, '']]);
    // Parents before children: resolve repeatedly, bounded by the number of refs.
    for (let pass = 0; pass <= refs.length && paths.size <= refs.length; pass++) {
      for (const ref of refs) {
        if (paths.has(ref.child) || !paths.has(ref.parent)) continue;
        const dir = await this.dirPath(ref.parent, ref.dirid);
        const base = [paths.get(ref.parent)!, dir].filter(Boolean).join('/');
        paths.set(ref.child, base ? `${base}/${ref.name}` : ref.name);
      }
    }
    paths.delete(FS_TREE_OBJECTID);
    return [...paths].map(([id, path]) => ({ id, path })).sort((a, b) => compareText(a.path, b.path));
  }

  /** Path of directory `oid` inside subvolume `tree`, from its INODE_REF back-references. */
  private async dirPath(tree: number, oid: number): Promise<string> {
    const root = await this.vol.root(tree);
    const parts: string[] = [];
    for (let depth = 0; oid !== root.dirid; depth++) {
      if (depth > 256) throw corrupt(`btrfs: directory ${oid} of subvolume ${tree} is nested too deep or loops`);
      let next: number | undefined;
      for await (const it of await this.treeRange(tree, { oid, type: INODE_REF, off: 0 }, { oid, type: INODE_REF, off: MAX_U64 })) {
        const r = new BinaryReader(it.data, 'btrfs inode ref');
        parts.unshift(r.bytes(10, r.u16le(8)).toString('utf8'));
        next = it.key.off;
        break;
      }
      if (next === undefined) throw corrupt(`btrfs: directory ${oid} of subvolume ${tree} has no back-reference`);
      oid = next;
    }
    return parts.join('/');
  }

  async close(): Promise<void> {}
}

export async function openBtrfs(dev: BlockDevice, opts: FsOpenOptions = {}): Promise<FileSystem> {
  return BtrfsFileSystem.open(dev, opts);
}
