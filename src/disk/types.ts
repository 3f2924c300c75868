/** Counts what a read path actually pulled from image files (for `stats` and metrics). */
export interface ReadStats {
  bytesRead: number;
  reads: number;
}

export function newReadStats(): ReadStats {
  return { bytesRead: 0, reads: 0 };
}

/**
 * A random-access, read-only view of a virtual disk (or a partition / LV of one).
 * `read` returns exactly `length` bytes of guest data: zeros for unallocated
 * space. Reading past `size` is a RangeError-free typed error (CORRUPT_IMAGE).
 */
export interface BlockDevice {
  /** Virtual size in bytes. */
  readonly size: number;
  /** Human name for messages ("disk.qcow2", "/dev/sda1"). */
  readonly name: string;
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}
