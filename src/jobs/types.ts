import type { JobDocument } from '../protocol/envelope.js';

/** Where a handler runs: `inline` on the worker's event loop (trusted, cheap, cooperative),
 *  `thread` in a pooled worker thread that a timeout, cancel or memory cap can really stop. */
export type Isolation = 'inline' | 'thread';

/** An image a job names; the executor checks path policy and checksum before any handler code runs. */
export interface ImageRef {
  /** JSON path of the reference inside payload.data, for error messages (`image.path`). */
  field: string;
  path: string;
  checksum?: string | null;
}

export interface ProgressUpdate {
  phase: string;
  message: string;
  progress_percent?: number;
  details?: Record<string, unknown>;
}

export interface HandlerContext {
  job: JobDocument;
  attempt: number;
  workerId: string;
  /** Aborted on timeout, cancel or drain; thread handlers are additionally terminated. */
  signal: AbortSignal;
  progress(update: ProgressUpdate): void;
  /** Image paths after the path policy resolved them (realpath), in `images()` order. */
  resolvedImages: string[];
  /**
   * The worker's allowed roots (real paths; empty = unrestricted). Files an image names
   * itself (backing files, extents, parents) must lie under them too.
   */
  allowedRoots: readonly string[];
}

export interface HandlerOutput {
  /** The result document's `data`. */
  data: unknown;
  outputs?: { primary?: string; artifacts?: string[] };
  /** Merged into the result's `metrics` (disk_read_bytes etc.). */
  metrics?: Record<string, number>;
}

export interface HandlerDefinition {
  operation: string;
  aliases?: readonly string[];
  isolation: Isolation;
  /** Advertised features (`lvm`, `ext4`, …) and disk formats (`qcow2`, …). */
  features?: readonly string[];
  diskFormats?: readonly string[];
  /** Filesystems it reads (advertised as `fs.<name>`). */
  filesystems?: readonly string[];
  /** Output paths the handler will write (checked against the worker's allowed roots). */
  outputs?(data: unknown): ImageRef[];
  /** Images the job names: path policy and checksum are checked before run(). */
  images?(data: unknown): ImageRef[];
  run(ctx: HandlerContext, data: unknown): Promise<HandlerOutput>;
}
