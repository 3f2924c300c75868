import { FsError } from '../../src/fs/errors.js';
import type { DirEntry, FileSystem, FileType, InodeStat } from '../../src/fs/types.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession } from '../../src/inspect/session.js';

interface Node {
  ino: number;
  type: FileType;
  data?: Buffer;
  target?: string;
  children?: Map<string, number>;
}

/**
 * A tiny guest filesystem in memory: a few files (and symlinks) at absolute paths, the
 * directories above them made up. One fuzz input becomes one guest file, so a collector
 * runs over the real guest paths without any image being opened.
 */
export class MemFs implements FileSystem {
  readonly info = { type: 'memfs' };
  readonly rootIno = 1;
  private readonly nodes = new Map<number, Node>([[1, { ino: 1, type: 'directory', children: new Map() }]]);

  constructor(files: Record<string, Buffer | { symlink: string }> = {}) {
    for (const [p, v] of Object.entries(files)) {
      if (Buffer.isBuffer(v)) this.add(p, { type: 'file', data: v });
      else this.add(p, { type: 'symlink', target: v.symlink });
    }
  }

  /** Adds a file, symlink or (empty) directory at `path`, making up its parents. */
  add(path: string, n: { type: FileType; data?: Buffer; target?: string }): void {
    const parts = path.split('/').filter(Boolean);
    let dir = this.nodes.get(1)!;
    for (let i = 0; i < parts.length; i++) {
      const last = i === parts.length - 1;
      let ino = dir.children!.get(parts[i]!);
      if (ino === undefined) {
        ino = this.nodes.size + 1;
        const node: Node = last ? { ino, ...n } : { ino, type: 'directory' };
        if (node.type === 'directory') node.children ??= new Map();
        this.nodes.set(ino, node);
        dir.children!.set(parts[i]!, ino);
      }
      const next = this.nodes.get(ino)!;
      if (last) return;
      if (next.type !== 'directory') throw new Error(`memfs: ${parts.slice(0, i + 1).join('/')} is not a directory`);
      dir = next;
    }
  }

  private node(ino: number): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new FsError('ENOENT', 'stat', `inode ${ino}`);
    return n;
  }

  async lookup(dirIno: number, name: string): Promise<number | undefined> {
    const d = this.node(dirIno);
    if (d.type !== 'directory') throw new FsError('ENOTDIR', 'lookup', `inode ${dirIno}`);
    return d.children!.get(name);
  }

  async stat(ino: number): Promise<InodeStat> {
    const n = this.node(ino);
    const size = n.data?.length ?? (n.target !== undefined ? Buffer.byteLength(n.target) : 0);
    return { ino, type: n.type, mode: n.type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, size, nlink: 1, atimeMs: 0, mtimeMs: 0, ctimeMs: 0 };
  }

  async readdir(dirIno: number): Promise<DirEntry[]> {
    const d = this.node(dirIno);
    if (d.type !== 'directory') throw new FsError('ENOTDIR', 'readdir', `inode ${dirIno}`);
    return [...d.children!].map(([name, ino]) => ({ name, ino, type: this.nodes.get(ino)!.type }));
  }

  async read(ino: number, offset: number, length: number): Promise<Buffer> {
    const n = this.node(ino);
    if (n.type === 'directory') throw new FsError('EISDIR', 'read', `inode ${ino}`);
    return (n.data ?? Buffer.alloc(0)).subarray(offset, offset + length);
  }

  async readlink(ino: number): Promise<string> {
    const n = this.node(ino);
    if (n.type !== 'symlink') throw new FsError('EINVAL', 'readlink', `inode ${ino}`);
    return n.target!;
  }
}

/** A collector's view of a guest made of these files only. */
export function memGuest(files: Record<string, Buffer | { symlink: string }>, warnings: string[] = []): GuestView {
  return new GuestView(new Vfs(new MemFs(files)), warnings);
}

/**
 * Files read out of a fixture guest image (its first OS's tree) by guestkit itself: seeds for
 * guest files no extracted tree holds (Alpine's installed, pacman's desc). Missing ones are left out.
 */
export async function guestImageFiles(image: string | undefined, paths: string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (!image) return out;
  const session = await GuestSession.open([image]);
  try {
    const vfs = await session.osView();
    for (const p of paths) {
      try {
        out.set(p, await vfs.readFile(p, { maxBytes: 4 << 20 }));
      } catch {
        /* not in this guest */
      }
    }
  } finally {
    await session.close();
  }
  return out;
}

/** Paths under `dir` of a fixture guest image, one level (names only). */
export async function guestImageList(image: string | undefined, dir: string): Promise<string[]> {
  if (!image) return [];
  const session = await GuestSession.open([image]);
  try {
    return await (await session.osView()).readdirNames(dir);
  } catch {
    return [];
  } finally {
    await session.close();
  }
}
