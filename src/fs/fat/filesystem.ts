import type { BlockDevice } from '../../disk/types.js';
import { corrupt } from '../../protocol/errors.js';
import { Lru } from '../../util/lru.js';
import { parseBootSector, volumeIdText, type BootSector } from '../../volume/probe/fat-bpb.js';
import { FsError } from '../errors.js';
import type { DirEntry, FileSystem, FsInfo, InodeStat } from '../types.js';
import { ATTR, parseDirectory, parseEntryFields, shortName, type FatDirent } from './directory.js';
import { FatTable, type ClusterRun } from './fat-table.js';

/** FAT has no inodes: an entry's number is the byte offset of its 8.3 slot / 32; the root is 1. */
const ROOT_INO = 1;
/** The specification caps a directory at 65,536 entries (2 MiB). */
const MAX_DIR_BYTES = 65536 * 32;
const MAX_IO = 8 * 1024 * 1024;

interface ParsedDir {
  entries: DirEntry[];
  byName?: Map<string, number>;
  shortByName: Map<string, number>;
}

/** A read-only FAT12/16/32 (VFAT) filesystem. */
export class FatFs implements FileSystem {
  readonly info: FsInfo;
  readonly rootIno = ROOT_INO;
  readonly fat: FatTable;
  private readonly dirents = new Lru<number, FatDirent>(100_000);
  /** Bounded by entries summed over the cached directories (the cost given to set). */
  private readonly dirs = new Lru<number, Promise<ParsedDir>>(Infinity, { maxBytes: 200_000, keepOversized: true });
  private readonly chains = new Lru<string, Promise<ClusterRun[]>>(4096);
  private readonly dirSizes = new Lru<number, Promise<number>>(16384);

  private constructor(
    private readonly dev: BlockDevice,
    readonly bs: BootSector,
    info: FsInfo,
  ) {
    this.fat = new FatTable(dev, bs);
    this.info = info;
  }

  static async open(dev: BlockDevice): Promise<FatFs> {
    if (dev.size < 512) throw corrupt(`${dev.name}: too small (${dev.size} bytes) for a FAT boot sector`, { device: dev.name });
    const bs = parseBootSector(await dev.read(0, 512), dev.name, dev.size);
    const warnings: string[] = [];
    if (bs.totalSectors * bs.bytesPerSector > dev.size) {
      warnings.push(`the volume (${bs.totalSectors * bs.bytesPerSector} bytes) is larger than its device (${dev.size} bytes): the image looks truncated`);
    }
    const info: FsInfo = {
      type: 'vfat',
      version: `FAT${bs.fatType}`,
      blockSize: bs.clusterSize,
      totalBytes: bs.clusterCount * bs.clusterSize,
      clusterCount: bs.clusterCount,
      warnings,
    };
    if (bs.volumeId !== undefined) info.uuid = volumeIdText(bs.volumeId);
    if (bs.bootLabel !== undefined && bs.bootLabel !== 'NO NAME') info.labelBootSector = bs.bootLabel;
    const fs = new FatFs(dev, bs, info);
    // blkid's rule: the root directory's label entry wins over the boot sector's.
    const root = await fs.rootDir();
    const label = root.label ?? info.labelBootSector;
    if (label) info.label = label as string;
    const free = await fs.freeClusters();
    info.freeClusters = free;
    info.freeBytes = free * bs.clusterSize;
    info.usedBytes = (bs.clusterCount - free) * bs.clusterSize;
    return fs;
  }

  /** FAT32 FSInfo's free count when it is plausible (as Linux does), else a count over the FAT. */
  private async freeClusters(): Promise<number> {
    const bs = this.bs;
    if (bs.fatType === 32 && bs.fsInfoSector > 0 && bs.fsInfoSector < bs.reservedSectors) {
      const s = await this.dev.read(bs.fsInfoSector * bs.bytesPerSector, 512);
      if (s.readUInt32LE(0) === 0x41615252 && s.readUInt32LE(484) === 0x61417272) {
        const free = s.readUInt32LE(488);
        if (free <= bs.clusterCount) return free;
      }
    }
    return this.fat.countFree();
  }

  // ---- directories ----------------------------------------------------------------------

  private clusterOffset(c: number): number {
    return this.bs.dataOffset + (c - 2) * this.bs.clusterSize;
  }

  /** Reads the bytes of a cluster chain (runs) into one buffer. */
  private async readRuns(runs: ClusterRun[], bytes: number): Promise<Buffer> {
    const out = Buffer.alloc(bytes);
    let at = 0;
    for (const r of runs) {
      if (at >= bytes) break;
      const n = Math.min(r.len * this.bs.clusterSize, bytes - at);
      (await this.dev.read(this.clusterOffset(r.start), n)).copy(out, at);
      at += n;
    }
    return out;
  }

  /** Directory data plus the device offset of each byte position (for entry numbers). */
  private async dirData(ino: number, d: FatDirent | undefined): Promise<{ data: Buffer; devOffset: (pos: number) => number }> {
    const bs = this.bs;
    if (ino === ROOT_INO && bs.fatType !== 32) {
      const data = await this.dev.read(bs.rootDirOffset, bs.rootDirBytes);
      return { data, devOffset: (pos) => bs.rootDirOffset + pos };
    }
    const first = ino === ROOT_INO ? bs.rootCluster : d!.firstCluster;
    if (first === 0) throw corrupt(`${this.dev.name}: FAT directory entry ${ino} has no clusters`, { device: this.dev.name, entry: ino });
    const maxClusters = Math.ceil(MAX_DIR_BYTES / bs.clusterSize);
    const what = ino === ROOT_INO ? 'root directory' : `directory '${d!.name}'`;
    const { runs, clusters, ended } = await this.fat.chain(first, maxClusters + 1, what);
    if (!ended && clusters > maxClusters) {
      throw corrupt(`${this.dev.name}: FAT: ${what} is longer than the 65,536 entries a FAT directory may hold`, { device: this.dev.name });
    }
    const data = await this.readRuns(runs, clusters * bs.clusterSize);
    const cs = bs.clusterSize;
    return {
      data,
      devOffset: (pos) => {
        let skip = Math.floor(pos / cs);
        for (const r of runs) {
          if (skip < r.len) return this.clusterOffset(r.start + skip) + (pos % cs);
          skip -= r.len;
        }
        throw new Error('position outside directory data');
      },
    };
  }

  private async rootDir(): Promise<{ label?: string }> {
    const { data } = await this.dirData(ROOT_INO, undefined);
    return parseDirectory(data, this.bs.fatType === 32);
  }

  private dir(ino: number): Promise<ParsedDir> {
    const hit = this.dirs.get(ino);
    if (hit) return hit;
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
    const d = ino === ROOT_INO ? undefined : await this.dirent(ino);
    if (d && !(d.attr & ATTR.DIRECTORY)) throw new FsError('ENOTDIR', 'scandir', `entry ${ino}`);
    const { data, devOffset } = await this.dirData(ino, d);
    const parsed = parseDirectory(data, this.bs.fatType === 32);
    const entries: DirEntry[] = [];
    const shortByName = new Map<string, number>();
    for (const { pos, dirent } of parsed.entries) {
      const entIno = devOffset(pos) / 32;
      this.dirents.set(entIno, dirent);
      entries.push({ name: dirent.name, ino: entIno, type: dirent.attr & ATTR.DIRECTORY ? 'directory' : 'file' });
      shortByName.set(dirent.shortName.toLowerCase(), entIno);
    }
    return { entries, shortByName };
  }

  /** The 8.3 entry behind an entry number (cached, else re-read from its slot). */
  private async dirent(ino: number): Promise<FatDirent> {
    const hit = this.dirents.get(ino);
    if (hit) return hit;
    const off = ino * 32;
    if (!Number.isSafeInteger(ino) || ino < 2 || off < this.bs.fatOffset || off + 32 > this.dev.size) {
      throw corrupt(`${this.dev.name}: FAT entry number ${ino} does not name a directory slot`, { device: this.dev.name, entry: ino });
    }
    const e = await this.dev.read(off, 32);
    if (e[0] === 0 || e[0] === 0xe5 || (e[11]! & 0x3f) === 0x0f || e[11]! & ATTR.VOLUME_ID) {
      throw corrupt(`${this.dev.name}: FAT entry number ${ino} is not a live file entry`, { device: this.dev.name, entry: ino });
    }
    const name = shortName(e, true);
    const d: FatDirent = { name, shortName: shortName(e, false), ...parseEntryFields(e, this.bs.fatType === 32) };
    this.dirents.set(ino, d);
    return d;
  }

  // ---- FileSystem ------------------------------------------------------------------------

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const d = await this.dir(dirIno);
    if (!d.byName) {
      d.byName = new Map();
      for (const e of d.entries) if (!d.byName.has(e.name.toLowerCase())) d.byName.set(e.name.toLowerCase(), e.ino);
    }
    const key = name.toLowerCase();
    // Like Linux vfat: long names case-insensitively, then the 8.3 alias.
    return d.byName.get(key) ?? d.shortByName.get(key);
  }

  async stat(ino: number): Promise<InodeStat> {
    const bs = this.bs;
    if (ino === ROOT_INO) {
      const size = bs.fatType === 32 ? await this.dirSize(bs.rootCluster, 'root directory') : bs.rootDirBytes;
      return { ino, type: 'directory', mode: 0o755, uid: 0, gid: 0, size, nlink: 2, atimeMs: 0, mtimeMs: 0, ctimeMs: 0 };
    }
    const d = await this.dirent(ino);
    const isDir = (d.attr & ATTR.DIRECTORY) !== 0;
    // Linux vfat with the default umask 022: rwxr-xr-x, write bits dropped for read-only files.
    const mode = isDir ? 0o755 : d.attr & ATTR.READ_ONLY ? 0o555 : 0o755;
    let size = d.size;
    if (isDir) {
      size = d.firstCluster === 0 ? 0 : await this.dirSize(d.firstCluster, `directory '${d.name}'`);
    }
    return {
      ino,
      type: isDir ? 'directory' : 'file',
      mode,
      uid: 0,
      gid: 0,
      size,
      nlink: isDir ? 2 : 1,
      atimeMs: d.atimeMs,
      mtimeMs: d.mtimeMs,
      ctimeMs: d.mtimeMs,
      birthtimeMs: d.birthtimeMs,
    };
  }

  /** A directory's size as Linux reports it: its clusters times the cluster size. */
  private dirSize(first: number, what: string): Promise<number> {
    const bs = this.bs;
    return this.dirSizes.getOrCreate(first, async () => {
      const { clusters } = await this.fat.chain(first, Math.ceil(MAX_DIR_BYTES / bs.clusterSize), what);
      return clusters * bs.clusterSize;
    });
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    return (await this.dir(dirIno)).entries.map((e) => ({ ...e }));
  }

  /** Cluster runs of a file, exactly as many clusters as its size needs. */
  private fileRuns(d: FatDirent): Promise<ClusterRun[]> {
    const need = Math.ceil(d.size / this.bs.clusterSize);
    return this.chains.getOrCreate(`${d.firstCluster}:${need}`, async () => {
      if (need > this.bs.clusterCount) {
        throw corrupt(`${this.dev.name}: FAT file '${d.name}': size ${d.size} exceeds the volume's ${this.bs.clusterCount} clusters`, { device: this.dev.name });
      }
      const { runs, clusters } = await this.fat.chain(d.firstCluster, need, `file '${d.name}'`);
      if (clusters < need) {
        throw corrupt(`${this.dev.name}: FAT file '${d.name}': size ${d.size} needs ${need} clusters but its chain ends after ${clusters}`, { device: this.dev.name });
      }
      return runs;
    });
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    if (ino === ROOT_INO) throw new FsError('EISDIR', 'read', '/');
    const d = await this.dirent(ino);
    if (d.attr & ATTR.DIRECTORY) throw new FsError('EISDIR', 'read', d.name);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new FsError('EINVAL', 'read', d.name, `range ${offset}+${length}`);
    }
    if (offset >= d.size || length === 0) return Buffer.alloc(0);
    const len = Math.min(length, d.size - offset);
    if (d.firstCluster === 0) throw corrupt(`${this.dev.name}: FAT file '${d.name}' has size ${d.size} but no clusters`, { device: this.dev.name });
    const runs = await this.fileRuns(d);
    const cs = this.bs.clusterSize;
    const out = Buffer.alloc(len);
    let fileCluster = 0; // file-relative index of the run's first cluster
    for (const r of runs) {
      const runFrom = fileCluster * cs;
      const runTo = (fileCluster + r.len) * cs;
      fileCluster += r.len;
      const from = Math.max(runFrom, offset);
      const to = Math.min(runTo, offset + len);
      for (let pos = from; pos < to; pos += MAX_IO) {
        const n = Math.min(MAX_IO, to - pos);
        (await this.dev.read(this.clusterOffset(r.start) + (pos - runFrom), n)).copy(out, pos - offset);
      }
      if (runTo >= offset + len) break;
    }
    return out;
  }

  async readlink(ino: number): Promise<string> {
    throw new FsError('EINVAL', 'readlink', `entry ${ino}`, 'FAT has no symbolic links');
  }

  async close(): Promise<void> {
    this.dirents.clear();
    this.dirs.clear();
    this.chains.clear();
    this.dirSizes.clear();
  }
}

export async function openFat(dev: BlockDevice): Promise<FileSystem> {
  return FatFs.open(dev);
}
