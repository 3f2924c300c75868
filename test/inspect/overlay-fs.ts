import { FsError } from '../../src/fs/errors.js';
import type { DirEntry, FileSystem, InodeStat } from '../../src/fs/types.js';
import { Vfs, splitPath } from '../../src/fs/vfs.js';

/** Inode numbers of files the overlay adds (far above any real filesystem's). */
const FIRST_FAKE = 2 ** 40;

/**
 * A real guest filesystem with some files' contents replaced or added, for feeding
 * collectors hostile bytes at real guest paths (os-release, dpkg status, passwd …)
 * while everything else is read from the real image. Replaced files keep their
 * inode; added files and missing parent directories get inodes of their own.
 */
export class OverlayFs implements FileSystem {
  readonly rootIno: number;
  private readonly contents = new Map<number, Buffer>();
  private readonly added = new Map<number, Map<string, number>>();
  private readonly fakeDirs = new Set<number>();
  private next = FIRST_FAKE;
  private readonly base: Vfs;

  constructor(private readonly inner: FileSystem) {
    this.rootIno = inner.rootIno;
    this.base = new Vfs(inner);
  }

  get info() {
    return this.inner.info;
  }

  /** Sets the bytes of `path` (symlinks in its directories are not followed: give real paths). */
  async setFile(path: string, data: Buffer): Promise<void> {
    const parts = splitPath(path);
    let dir = this.rootIno;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const last = i === parts.length - 1;
      let ino = await this.lookup(dir, name);
      if (ino !== undefined && !last && (await this.stat(ino)).type !== 'directory') {
        throw new Error(`overlay: ${parts.slice(0, i + 1).join('/')} is not a directory`);
      }
      if (ino === undefined) {
        ino = this.next++;
        if (!this.added.has(dir)) this.added.set(dir, new Map());
        this.added.get(dir)!.set(name, ino);
        if (!last) this.fakeDirs.add(ino);
      }
      if (last) this.contents.set(ino, data);
      dir = ino;
    }
  }

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const add = this.added.get(dirIno)?.get(name);
    if (add !== undefined) return add;
    if (dirIno >= FIRST_FAKE) {
      if (!this.fakeDirs.has(dirIno)) throw new FsError('ENOTDIR', 'lookup', `inode ${dirIno}`);
      return undefined;
    }
    return this.inner.lookup(dirIno, name);
  }

  async stat(ino: number): Promise<InodeStat> {
    const data = this.contents.get(ino);
    if (ino >= FIRST_FAKE) {
      const dir = this.fakeDirs.has(ino);
      return { ino, type: dir ? 'directory' : 'file', mode: dir ? 0o755 : 0o644, uid: 0, gid: 0, size: data?.length ?? 0, nlink: 1, atimeMs: 0, mtimeMs: 0, ctimeMs: 0 };
    }
    const st = await this.inner.stat(ino);
    return data ? { ...st, type: 'file', size: data.length } : st;
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    const own = [...(this.added.get(dirIno) ?? [])].map(([name, ino]) => ({ name, ino, type: 'unknown' as const }));
    if (dirIno >= FIRST_FAKE) return own;
    return [...(await this.inner.readdir(dirIno)), ...own];
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const data = this.contents.get(ino);
    if (data) return Buffer.from(data.subarray(offset, offset + length));
    return this.inner.read(ino, offset, length);
  }

  async readlink(ino: number): Promise<string> {
    return this.inner.readlink(ino);
  }

  /** Whether a path exists in the real filesystem (for choosing replaced vs. added files). */
  exists(path: string): Promise<boolean> {
    return this.base.exists(path);
  }
}
