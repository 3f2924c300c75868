import type { FileSystem } from '../../src/fs/types.js';
import { isTypedError } from './typed.js';

/** How much of a fuzzed filesystem one input may walk: enough to reach every structure of a seed. */
export interface WalkLimits {
  entries: number;
  fileBytes: number;
  depth: number;
}

const DEFAULTS: WalkLimits = { entries: 2000, fileBytes: 1 << 20, depth: 16 };

/** Walks a filesystem the way inspection does: readdir, lookup, stat, readlink, read. Bounded. */
export async function walkFs(fs: FileSystem, limits: Partial<WalkLimits> = {}): Promise<void> {
  const lim = { ...DEFAULTS, ...limits };
  let budget = lim.entries;
  const queue: { ino: number; depth: number }[] = [{ ino: fs.rootIno, depth: 0 }];
  const seen = new Set<number>();
  const visit = async (dir: number, name: string, ino: number, depth: number): Promise<void> => {
    await fs.lookup(dir, name);
    const st = await fs.stat(ino);
    if (st.type === 'directory') {
      if (depth + 1 < lim.depth) queue.push({ ino, depth: depth + 1 });
    } else if (st.type === 'symlink') {
      await fs.readlink(ino);
    } else if (st.type === 'file') {
      await fs.read(ino, 0, Math.min(st.size, lim.fileBytes));
      if (st.size > 8192) await fs.read(ino, st.size - 4096, 4096);
    }
  };
  while (queue.length && budget > 0) {
    const { ino, depth } = queue.shift()!;
    if (seen.has(ino)) continue;
    seen.add(ino);
    const entries = await typed(() => fs.readdir(ino));
    for (const e of entries ?? []) {
      if (--budget <= 0) return;
      if (e.name === '.' || e.name === '..') continue;
      // a damaged entry ends that entry, not the walk: the rest still gets coverage
      await typed(() => visit(ino, e.name, e.ino, depth));
    }
  }
}

async function typed<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (!isTypedError(err)) throw err;
    return undefined;
  }
}
