import { FsError } from './errors.js';
import { TYPE_BITS } from './mode.js';
import type { DirEntry, FileSystem, FileType, InodeStat } from './types.js';
import { compareText } from '../util/compare.js';

/** Linux's limit on symlinks followed while resolving one path. */
const MAX_SYMLINKS = 40;
const MAX_PATH = 4096;
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;


/** Node-like stat result for a guest file. `mode` carries the type bits as Node's does. */
export class GuestStats {
  readonly ino: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly nlink: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly birthtimeMs?: number;
  readonly rdev?: number;
  /** Named data streams (NTFS alternate data streams). */
  readonly streams?: string[];
  readonly type: FileType;
  /** The filesystem the file lives on (the mount's device). */
  readonly device: string;

  constructor(s: InodeStat, device: string) {
    this.ino = s.ino;
    this.type = s.type;
    this.mode = TYPE_BITS[s.type] | (s.mode & 0o7777);
    this.uid = s.uid;
    this.gid = s.gid;
    this.size = s.size;
    this.nlink = s.nlink;
    this.atimeMs = s.atimeMs;
    this.mtimeMs = s.mtimeMs;
    this.ctimeMs = s.ctimeMs;
    if (s.birthtimeMs !== undefined) this.birthtimeMs = s.birthtimeMs;
    if (s.rdev !== undefined) this.rdev = s.rdev;
    if (s.streams !== undefined) this.streams = s.streams;
    this.device = device;
  }
  isFile(): boolean {
    return this.type === 'file';
  }
  isDirectory(): boolean {
    return this.type === 'directory';
  }
  isSymbolicLink(): boolean {
    return this.type === 'symlink';
  }
  get mtime(): Date {
    return new Date(this.mtimeMs);
  }
}

interface Mount {
  /** Normalised absolute guest path ("/", "/boot"). */
  path: string;
  fs: FileSystem;
  device: string;
}

interface Frame {
  mount: Mount;
  ino: number;
  /** Absolute guest path of this frame. */
  path: string;
}

export interface Resolved {
  mount: Mount;
  ino: number;
  path: string;
}

/** Splits a guest path into components, dropping empty and "." parts. */
export function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * A guest's file tree as a booted system would see it: filesystems attached
 * at mount points, symlinks followed inside the guest (absolute targets
 * resolve against the guest root, never the host), loops bounded.
 */
export class Vfs {
  private readonly mounts = new Map<string, Mount>();

  constructor(root: FileSystem, rootDevice = 'root') {
    this.mounts.set('/', { path: '/', fs: root, device: rootDevice });
  }

  /** Attaches `fs` at `path`. The mount point need not exist on the parent filesystem. */
  mount(path: string, fs: FileSystem, device: string): void {
    const norm = '/' + splitPath(path).join('/');
    this.mounts.set(norm, { path: norm, fs, device });
  }

  mountPoints(): { path: string; device: string; type: string }[] {
    return [...this.mounts.values()]
      .sort((a, b) => compareText(a.path, b.path))
      .map((m) => ({ path: m.path, device: m.device, type: m.fs.info.type }));
  }

  private rootFrame(): Frame {
    const mount = this.mounts.get('/')!;
    return { mount, ino: mount.fs.rootIno, path: '/' };
  }

  /** Resolves a path; the last component is followed only when `follow`. */
  async resolve(path: string, follow: boolean, syscall = 'stat'): Promise<Resolved> {
    if (path.length > MAX_PATH) throw new FsError('ENAMETOOLONG', syscall, path.slice(0, 64) + '…');
    let stack: Frame[] = [this.rootFrame()];
    let rest = splitPath(path);
    let links = 0;
    while (rest.length > 0) {
      const name = rest.shift()!;
      const cur = stack[stack.length - 1]!;
      if (name === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const st = await cur.mount.fs.stat(cur.ino);
      if (st.type !== 'directory') throw new FsError('ENOTDIR', syscall, path);
      const childPath = joinPath(cur.path, name);
      const mounted = this.mounts.get(childPath);
      if (mounted) {
        stack.push({ mount: mounted, ino: mounted.fs.rootIno, path: childPath });
        continue;
      }
      const ino = await cur.mount.fs.lookup(cur.ino, name);
      if (ino === undefined) throw new FsError('ENOENT', syscall, path);
      const isLast = rest.length === 0;
      if (!isLast || follow) {
        const cst = await cur.mount.fs.stat(ino);
        if (cst.type === 'symlink') {
          if (++links > MAX_SYMLINKS) throw new FsError('ELOOP', syscall, path);
          const target = await cur.mount.fs.readlink(ino);
          if (target === '') throw new FsError('ENOENT', syscall, path, 'empty symlink');
          if (target.startsWith('/')) stack = [this.rootFrame()];
          rest = [...splitPath(target), ...rest];
          continue;
        }
      }
      stack.push({ mount: cur.mount, ino, path: childPath });
    }
    const top = stack[stack.length - 1]!;
    return { mount: top.mount, ino: top.ino, path: top.path };
  }

  async stat(path: string): Promise<GuestStats> {
    const r = await this.resolve(path, true, 'stat');
    return new GuestStats(await r.mount.fs.stat(r.ino), r.mount.device);
  }

  async lstat(path: string): Promise<GuestStats> {
    const r = await this.resolve(path, false, 'lstat');
    return new GuestStats(await r.mount.fs.stat(r.ino), r.mount.device);
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.resolve(path, true);
      return true;
    } catch (err) {
      if (err instanceof FsError) return false;
      throw err;
    }
  }

  /** Resolved absolute guest path with every symlink followed. */
  async realpath(path: string): Promise<string> {
    return (await this.resolve(path, true, 'realpath')).path;
  }

  async readlink(path: string): Promise<string> {
    const r = await this.resolve(path, false, 'readlink');
    const st = await r.mount.fs.stat(r.ino);
    if (st.type !== 'symlink') throw new FsError('EINVAL', 'readlink', path);
    return r.mount.fs.readlink(r.ino);
  }

  /** Directory entries (without "." and ".."), with mount points listed as directories. */
  async readdir(path: string): Promise<DirEntry[]> {
    const r = await this.resolve(path, true, 'scandir');
    const st = await r.mount.fs.stat(r.ino);
    if (st.type !== 'directory') throw new FsError('ENOTDIR', 'scandir', path);
    const entries = (await r.mount.fs.readdir(r.ino)).filter((e) => e.name !== '.' && e.name !== '..');
    for (const e of entries) {
      if (e.type === 'unknown') e.type = (await r.mount.fs.stat(e.ino)).type;
    }
    return entries;
  }

  async readdirNames(path: string): Promise<string[]> {
    return (await this.readdir(path)).map((e) => e.name);
  }

  /** Whole file contents, refusing (EFBIG) files larger than `maxBytes`. */
  async readFile(path: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
    const max = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
    const r = await this.resolve(path, true, 'open');
    const st = await r.mount.fs.stat(r.ino);
    if (st.type === 'directory') throw new FsError('EISDIR', 'read', path);
    if (st.size > max) throw new FsError('EFBIG', 'read', path, `${st.size} bytes > limit ${max}`);
    return r.mount.fs.read(r.ino, 0, st.size);
  }

  /** UTF-8 text of a file, or undefined when it does not exist. */
  async readText(path: string, opts: { maxBytes?: number } = {}): Promise<string | undefined> {
    try {
      return (await this.readFile(path, opts)).toString('utf8');
    } catch (err) {
      if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
      throw err;
    }
  }

  /** A byte range of a file (for headers such as ELF). */
  async readRange(path: string, offset: number, length: number): Promise<Buffer> {
    const r = await this.resolve(path, true, 'read');
    const st = await r.mount.fs.stat(r.ino);
    if (st.type === 'directory') throw new FsError('EISDIR', 'read', path);
    const len = Math.max(0, Math.min(length, st.size - offset));
    return r.mount.fs.read(r.ino, offset, len);
  }
}
