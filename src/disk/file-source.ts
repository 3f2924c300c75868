import { closeSync, fstatSync, openSync, read as readAsync, readSync, statSync, type Stats } from 'node:fs';
import { GuestkitError, corrupt } from '../protocol/errors.js';
import { newReadStats, type ReadStats } from './types.js';

/**
 * Reads up to this size are made with pread on this thread: from the page cache that takes a
 * few microseconds, where a trip through libuv's threadpool costs tens (inspection makes ~100
 * small dependent reads). Larger reads, and one read every SYNC_SLICE_MS, go through the
 * threadpool, so the event loop still gets its turns (timers, messages, other jobs).
 * Opening (stat, open, fstat) is synchronous for the same reason.
 */
const SYNC_READ_MAX = 1024 * 1024;
const SYNC_SLICE_MS = 5;
/** When this thread last gave the event loop a turn (shared by every source). */
let lastYield = 0;

/** Positional reads on one image file, counted in `stats`. */
export class FileSource {
  private fd: number;
  private inflight = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    fd: number,
    readonly size: number,
    readonly stats: ReadStats,
    /** Bytes the file occupies on the host (allocated blocks; sparse files are smaller). */
    readonly allocated: number,
  ) {
    this.fd = fd;
  }

  static async open(path: string, stats: ReadStats = newReadStats()): Promise<FileSource> {
    // Opening a FIFO blocks until a writer appears: refuse anything but files and block devices first.
    let pre: Stats | undefined;
    try {
      pre = statSync(path, { throwIfNoEntry: false });
    } catch {
      pre = undefined; // the open below reports it
    }
    if (pre && !pre.isFile() && !pre.isBlockDevice() && !pre.isDirectory()) {
      throw new GuestkitError('IMAGE_NOT_FOUND', `image path is not a regular file (FIFO, socket or character device): ${path}`, {
        details: { path },
      });
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw openError(err, path);
    }
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (st.isDirectory()) {
      closeSync(fd);
      throw new GuestkitError('IMAGE_NOT_FOUND', `image path is a directory, not a file: ${path}`, { details: { path } });
    }
    return new FileSource(path, fd, st.size, stats, st.blocks * 512);
  }

  /** Reads exactly `length` bytes at `offset`; bytes past end of file read as zeros only when `zeroPastEof`. */
  async read(offset: number, length: number, zeroPastEof = false): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw corrupt(`${this.path}: invalid read ${offset}+${length}`);
    }
    if (!zeroPastEof && offset + length > this.size) {
      throw corrupt(`${this.path}: read ${offset}+${length} goes past end of file (${this.size} bytes); the image is truncated or a table entry is wrong`, {
        path: this.path,
        offset,
        length,
        file_size: this.size,
      });
    }
    if (this.closed) throw Object.assign(new Error(`EBADF: ${this.path} is closed`), { code: 'EBADF' });
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    const sync = length <= SYNC_READ_MAX && performance.now() - lastYield < SYNC_SLICE_MS;
    while (done < length) {
      const pos = offset + done;
      if (pos >= this.size) break;
      const n = Math.min(length - done, this.size - pos);
      const bytesRead = sync ? readSync(this.fd, buf, done, n, pos) : await this.readInPool(buf, done, n, pos);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (!sync) lastYield = performance.now();
    if (done < length) buf.fill(0, done);
    this.stats.bytesRead += done;
    this.stats.reads++;
    return buf;
  }

  /** A read on libuv's threadpool; the descriptor stays open until it is done. */
  private readInPool(buf: Buffer, at: number, n: number, pos: number): Promise<number> {
    this.inflight++;
    return new Promise<number>((resolve, reject) => {
      readAsync(this.fd, buf, at, n, pos, (err, bytesRead) => {
        if (--this.inflight === 0 && this.closed) this.release();
        if (err) reject(err);
        else resolve(bytesRead);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inflight === 0) this.release();
  }

  private release(): void {
    if (this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // already gone: nothing to release
    }
    this.fd = -1;
  }
}

function openError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new GuestkitError('IMAGE_NOT_FOUND', `image file not found: ${path}`, { details: { path } });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new GuestkitError('IMAGE_NOT_FOUND', `image file not readable (permission denied): ${path}`, { details: { path } });
  }
  if (code === 'EISDIR') {
    return new GuestkitError('IMAGE_NOT_FOUND', `image path is a directory, not a file: ${path}`, { details: { path } });
  }
  return err;
}
