import { lstatSync, openSync, readSync, closeSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { DirEntry, FileSystem, FileType, InodeStat } from '../../src/fs/types.js';

/**
 * A host directory as a guest FileSystem, so collectors can be checked
 * against a real tree (e.g. a debootstrap root) beside the same tree read
 * from a disk image.
 */
export class HostDirFs implements FileSystem {
  readonly info = { type: 'hostdir' };
  readonly rootIno = 1;
  private readonly paths = new Map<number, string>([[1, '']]);
  private readonly inos = new Map<string, number>([['', 1]]);

  constructor(private readonly root: string) {}

  private ino(rel: string): number {
    let n = this.inos.get(rel);
    if (n === undefined) {
      n = this.inos.size + 1;
      this.inos.set(rel, n);
      this.paths.set(n, rel);
    }
    return n;
  }
  private abs(ino: number): string {
    return join(this.root, this.paths.get(ino)!);
  }

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const rel = join(this.paths.get(dirIno)!, name);
    try {
      lstatSync(join(this.root, rel));
      return this.ino(rel);
    } catch {
      return undefined;
    }
  }

  async stat(ino: number): Promise<InodeStat> {
    const s = lstatSync(this.abs(ino));
    const type: FileType = s.isFile() ? 'file' : s.isDirectory() ? 'directory' : s.isSymbolicLink() ? 'symlink' : 'unknown';
    return { ino, type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size, nlink: s.nlink, atimeMs: s.atimeMs, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    const rel = this.paths.get(dirIno)!;
    return readdirSync(this.abs(dirIno)).map((name) => ({ name, ino: this.ino(join(rel, name)), type: 'unknown' as const }));
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const fd = openSync(this.abs(ino), 'r');
    try {
      const b = Buffer.alloc(length);
      const n = readSync(fd, b, 0, length, offset);
      return b.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  async readlink(ino: number): Promise<string> {
    return readlinkSync(this.abs(ino), 'utf8');
  }
}
