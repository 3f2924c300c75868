import { open, stat, type FileHandle } from 'node:fs/promises';
import { GuestkitError, corrupt } from '../protocol/errors.js';
import { newReadStats, type ReadStats } from './types.js';

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
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      if (pos >= this.size) break;
      const { bytesRead } = await this.fh.read(buf, done, Math.min(length - done, this.size - pos), pos);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    this.stats.bytesRead += done;
    this.stats.reads++;
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
