import { readSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { GuestkitError, corrupt } from '../protocol/errors.js';
import { newReadStats, type ReadStats } from './types.js';

/**
 * Reads up to this size are made with pread on this thread: from the page cache that takes a
 * few microseconds, where a trip through libuv's threadpool costs tens (inspection makes ~100
 * small dependent reads). Larger reads, and one read every SYNC_SLICE_MS, go through the
 * threadpool, so the event loop still gets its turns (timers, messages, other jobs).
 */
const SYNC_READ_MAX = 1024 * 1024;
const SYNC_SLICE_MS = 5;
/** When this thread last gave the event loop a turn (shared by every source). */
let lastYield = 0;

/** Positional reads on one image file, counted in `stats`. */
export class FileSource {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly size: number,
    readonly stats: ReadStats,
  ) {}

  static async open(path: string, stats: ReadStats = newReadStats()): Promise<FileSource> {
    // Opening a FIFO blocks until a writer appears: refuse anything but files and block devices first.
    const pre = await stat(path).catch(() => undefined);
    if (pre && !pre.isFile() && !pre.isBlockDevice() && !pre.isDirectory()) {
      throw new GuestkitError('IMAGE_NOT_FOUND', `image path is not a regular file (FIFO, socket or character device): ${path}`, {
        details: { path },
      });
    }
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new GuestkitError('IMAGE_NOT_FOUND', `image file not found: ${path}`, { details: { path } });
      }
      if (code === 'EACCES' || code === 'EPERM') {
        throw new GuestkitError('IMAGE_NOT_FOUND', `image file not readable (permission denied): ${path}`, {
          details: { path },
        });
      }
      if (code === 'EISDIR') {
        throw new GuestkitError('IMAGE_NOT_FOUND', `image path is a directory, not a file: ${path}`, {
          details: { path },
        });
      }
      throw err;
    }
    const st = await fh.stat();
    if (st.isDirectory()) {
      await fh.close();
      throw new GuestkitError('IMAGE_NOT_FOUND', `image path is a directory, not a file: ${path}`, { details: { path } });
    }
    return new FileSource(path, fh, st.size, stats);
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
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    const sync = length <= SYNC_READ_MAX && performance.now() - lastYield < SYNC_SLICE_MS;
    while (done < length) {
      const pos = offset + done;
      if (pos >= this.size) break;
      const n = Math.min(length - done, this.size - pos);
      const bytesRead = sync ? readSync(this.fh.fd, buf, done, n, pos) : (await this.fh.read(buf, done, n, pos)).bytesRead;
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (!sync) lastYield = performance.now();
    if (done < length) buf.fill(0, done);
    this.stats.bytesRead += done;
    this.stats.reads++;
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
