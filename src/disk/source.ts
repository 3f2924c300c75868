import { corrupt } from '../protocol/errors.js';
import { FileSource } from './file-source.js';
import type { ReadStats } from './types.js';

/**
 * What the image readers read from: a whole file (FileSource has this shape) or
 * a byte range inside one (a disk inside an OVA tar). Same method shape as FileSource.
 */
export interface ByteSource {
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`; past the end reads zeros only when `zeroPastEof`. */
  read(offset: number, length: number, zeroPastEof?: boolean): Promise<Buffer>;
  close(): Promise<void>;
}

/** Bytes a source occupies on the host: allocated blocks of a file (sparse files are smaller), a member's length. */
export async function allocatedBytes(src: ByteSource): Promise<number> {
  return src instanceof FileSource ? src.allocated : src.size;
}

export function openFileSource(path: string, stats: ReadStats): Promise<FileSource> {
  return FileSource.open(path, stats);
}

/** Opens the file at `path` and builds on it with `open`; the file is closed again when that fails. */
export async function openOnFile<T>(path: string, stats: ReadStats, open: (src: FileSource) => Promise<T>): Promise<T> {
  const src = await FileSource.open(path, stats);
  try {
    return await open(src);
  } catch (err) {
    await src.close();
    throw err;
  }
}

/** A window `offset..offset+size` of another source, read like a file of its own. Closing it leaves the parent open. */
export class SubSource implements ByteSource {
  constructor(
    private readonly parent: ByteSource,
    private readonly start: number,
    readonly size: number,
    /** Names the member in messages: "appliance.ova/disk1.vmdk". */
    readonly path: string,
  ) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 0 || start + size > parent.size) {
      throw corrupt(`${path}: member range ${start}+${size} lies outside ${parent.path} (${parent.size} bytes)`);
    }
  }

  async read(offset: number, length: number, zeroPastEof = false): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw corrupt(`${this.path}: invalid read ${offset}+${length}`);
    }
    if (offset + length <= this.size) return this.parent.read(this.start + offset, length);
    if (!zeroPastEof) {
      throw corrupt(`${this.path}: read ${offset}+${length} goes past the end of the member (${this.size} bytes); the image is truncated or a table entry is wrong`, {
        path: this.path,
        offset,
        length,
        file_size: this.size,
      });
    }
    const out = Buffer.alloc(length);
    if (offset < this.size) (await this.parent.read(this.start + offset, this.size - offset)).copy(out);
    return out;
  }

  async close(): Promise<void> {
    // the container owns the parent source
  }
}
