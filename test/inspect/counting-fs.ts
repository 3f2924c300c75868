import type { DirEntry, FileSystem, InodeStat } from '../../src/fs/types.js';

/** Work done through a filesystem: calls of each kind, bytes and directory entries handed out. */
export interface FsWork {
  lookups: number;
  stats: number;
  readdirs: number;
  reads: number;
  readlinks: number;
  /** Bytes returned by read(). */
  bytes: number;
  /** Entries returned by readdir(). */
  entries: number;
}

export function noWork(): FsWork {
  return { lookups: 0, stats: 0, readdirs: 0, reads: 0, readlinks: 0, bytes: 0, entries: 0 };
}

/** All calls of any kind. */
export function calls(w: FsWork): number {
  return w.lookups + w.stats + w.readdirs + w.reads + w.readlinks;
}

/**
 * A filesystem that counts everything read through it, for bounding the work a reader does
 * (a machine-independent measure, unlike time): every call goes to `inner` unchanged.
 */
export class CountingFs implements FileSystem {
  work: FsWork = noWork();
  readonly rootIno: number;

  constructor(private readonly inner: FileSystem) {
    this.rootIno = inner.rootIno;
  }

  get info() {
    return this.inner.info;
  }

  /** The work counted since the last reset, and a fresh count. */
  take(): FsWork {
    const w = this.work;
    this.work = noWork();
    return w;
  }

  lookup(dirIno: number, name: string): Promise<number | undefined> {
    this.work.lookups++;
    return this.inner.lookup(dirIno, name);
  }

  stat(ino: number): Promise<InodeStat> {
    this.work.stats++;
    return this.inner.stat(ino);
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    this.work.readdirs++;
    const es = await this.inner.readdir(dirIno);
    this.work.entries += es.length;
    return es;
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    this.work.reads++;
    const b = await this.inner.read(ino, offset, length);
    this.work.bytes += b.length;
    return b;
  }

  readlink(ino: number): Promise<string> {
    this.work.readlinks++;
    return this.inner.readlink(ino);
  }
}
