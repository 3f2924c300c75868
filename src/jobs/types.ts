import type { z } from 'zod';
import type { JobDocument } from '../protocol/envelope.js';
import type { GuestkitError } from '../protocol/errors.js';
import { fromZodIssues, type ValidationIssue } from '../protocol/issues.js';

/** Where a handler runs: `inline` on the worker's event loop (trusted, cheap, and it never
 *  waits on anything outside the process: no timer is armed for it), `thread` in a pooled
 *  worker thread that a timeout, cancel or memory cap can really stop. */
export type Isolation = 'inline' | 'thread';

/** An image a job names; the runner checks path policy and checksum before any handler code runs. */
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

/** What a handler module declares, typed by its payload. */
export interface HandlerSpec<T> {
  operation: string;
  aliases?: readonly string[];
  isolation: Isolation;
  /** Advertised features (`lvm`, `ext4`, …) and disk formats (`qcow2`, …). */
  features?: readonly string[];
  diskFormats?: readonly string[];
  /** Filesystems it reads (advertised as `fs.<name>`). */
  filesystems?: readonly string[];
  /** Images the job names: path policy and checksum are checked before run(). */
  images?(data: T): ImageRef[];
  /** A request this handler will never carry out (asked of it by its payload): answered before capabilities are weighed. */
  refuse?(data: T): GuestkitError | undefined;
  /** Output paths the handler will write (checked against the worker's allowed roots). */
  outputs?(data: T): ImageRef[];
  run(ctx: HandlerContext, data: T): Promise<HandlerOutput>;
}

/** A job's payload checked against its handler's schema, ready to run. */
export interface PreparedJob {
  /** Set when the handler refuses this payload outright (e.g. a write the tool never makes). */
  refusal?: GuestkitError;
  images: ImageRef[];
  outputs: ImageRef[];
  run(ctx: HandlerContext): Promise<HandlerOutput>;
}

export type Preparation = { ok: true; job: PreparedJob } | { ok: false; issues: ValidationIssue[] };

/** A registered handler; its payload type is closed over by defineHandler. */
export interface HandlerDefinition {
  readonly operation: string;
  readonly aliases?: readonly string[];
  readonly isolation: Isolation;
  readonly features?: readonly string[];
  readonly diskFormats?: readonly string[];
  readonly filesystems?: readonly string[];
  /** Parses payload.data with the handler's schema (defaults applied). */
  prepare(data: unknown): Preparation;
}

/** A handler typed by its payload schema: run() receives the parsed data, never `unknown`. */
export function defineHandler<S extends z.ZodType>(schema: S, spec: HandlerSpec<z.output<S>>): HandlerDefinition {
  const { images, outputs, refuse, run, ...meta } = spec;
  return {
    ...meta,
    prepare(data) {
      const parsed = schema.safeParse(data);
      if (!parsed.success) return { ok: false, issues: fromZodIssues(parsed.error.issues, 'payload.data') };
      const value = parsed.data;
      return {
        ok: true,
        job: {
          refusal: refuse?.(value),
          images: images?.(value) ?? [],
          outputs: outputs?.(value) ?? [],
          run: (ctx) => run(ctx, value),
        },
      };
    },
  };
}
