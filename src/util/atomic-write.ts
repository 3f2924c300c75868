import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/*
 * Replacing a file so readers see the whole old content or the whole new one, never a part:
 * the new bytes go to a uniquely named temporary file in the target's own folder (a rename is
 * atomic only within one filesystem), which is then renamed over the target. On failure the
 * temporary file is removed and the target is left as it was.
 */

export interface AtomicWriteOptions {
  /**
   * Flush the new file to disk before the rename and the folder after it, so the new content
   * survives a crash once the call returns (default false: atomic, not durable).
   */
  fsync?: boolean;
  /** Permission bits of the new file (default 0o666 less the umask, as writeFile). */
  mode?: number;
}

let counter = 0;
let tag: string | undefined;
/** Random bits drawn once per process (a draw per write cost ~12 µs on the result hot path). */
const processTag = () => (tag ??= randomBytes(4).toString('hex'));

/**
 * A fresh temporary name beside `path`: hidden, unique per process and call, with random bits
 * so processes of other hosts sharing the folder never collide; short enough for NAME_MAX.
 */
export function atomicTempPath(path: string): string {
  const base = basename(path).slice(0, 160);
  return join(dirname(path), `.${base}.${process.pid}-${processTag()}-${counter++}.tmp`);
}

/** Writes `data` to `path` atomically (synchronous). */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = atomicTempPath(path);
  try {
    // 'wx': a fresh file, never one that exists (or a link planted under the name)
    const fd = openSync(tmp, 'wx', opts.mode ?? 0o666);
    try {
      writeFileSync(fd, data);
      if (opts.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (opts.fsync) fsyncDirSync(dirname(path));
}

/** Writes `data` to `path` atomically, off the event loop (each step on libuv's threadpool). */
export function writeFileAtomicAsync(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  return viaTemp(path, opts, async (tmp) => {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o666);
    try {
      await fh.writeFile(data);
      if (opts.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

/**
 * Produces `path` atomically from a writer that needs a file name (a streaming conversion, an
 * image writer): `fill(tmp)` writes the complete content to `tmp` (it may open it with 'w': the
 * file is created empty first, exclusively), which then replaces `path`. If `fill` throws or the
 * rename fails, `tmp` is removed and the error rethrown.
 */
export function replaceFileAtomic(path: string, fill: (tmp: string) => Promise<void>, opts: AtomicWriteOptions = {}): Promise<void> {
  return viaTemp(path, opts, async (tmp) => {
    await (await open(tmp, 'wx', opts.mode ?? 0o666)).close();
    await fill(tmp);
    if (opts.fsync) {
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  });
}

/** `produce(tmp)` makes the whole new file, which then replaces `path`; on failure tmp is removed. */
async function viaTemp(path: string, opts: AtomicWriteOptions, produce: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = atomicTempPath(path);
  try {
    await produce(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (opts.fsync) await fsyncDir(dirname(path));
}

/** Flushes a folder's entries (a rename in it); filesystems that cannot fsync a folder are let be. */
function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* EISDIR/EINVAL/EPERM on some filesystems and platforms: the rename itself is done */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* as fsyncDirSync */
  }
}
