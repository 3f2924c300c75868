import { open } from 'node:fs/promises';
import { GuestkitError } from '../protocol/errors.js';
import { replaceFileAtomic } from '../util/atomic-write.js';
import { basename } from 'node:path';
import { Qcow2Writer } from './qcow2/writer.js';
import type { BlockDevice } from './types.js';
import { VdiWriter } from './vdi/writer.js';
import { VhdxWriter } from './vhdx/writer.js';
import { VhdWriter } from './vhd/writer.js';
import { VmdkWriter } from './vmdk/writer.js';

/** Formats the engine writes (vhd, vdi, vhdx: dynamic; vmdk: monolithicSparse, streamOptimized when compressed). */
export const CONVERT_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhd', 'vdi', 'vhdx'] as const;
export type ConvertFormat = (typeof CONVERT_FORMATS)[number];
/** Subformats each format offers (the first is the default), named as `qemu-img create -o subformat=` names them. */
export const SUBFORMATS: Partial<Record<ConvertFormat, readonly string[]>> = {
  vmdk: ['monolithicSparse', 'streamOptimized'],
  vhd: ['dynamic', 'fixed'],
};
/** Formats where `compress` is offered. */
export const COMPRESSIBLE_FORMATS: readonly ConvertFormat[] = ['qcow2', 'vmdk'];

export interface ConvertOptions {
  format: ConvertFormat;
  /**
   * qcow2: zlib-compress clusters (uncompressed where that does not shrink them).
   * vmdk: write streamOptimized (every grain deflated, with markers), the subformat OVA/vSphere imports take.
   */
  compress?: boolean;
  /** vmdk: monolithicSparse or streamOptimized (same as compress); vhd: dynamic or fixed (the whole disk, sparse, then the footer). */
  subformat?: string;
  /** Called after each chunk with guest bytes processed and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the conversion (the partial output is removed) with CANCELLED. */
  signal?: AbortSignal;
  /** Bytes read from the source per step (default 2 MiB, a multiple of 64 KiB). */
  chunkSize?: number;
  /**
   * Flush the output and its folder to disk before returning (default true). false skips
   * the fsyncs of the raw output, as `qemu-img convert` does by default (benchmarks).
   */
  durable?: boolean;
}

export interface ConvertResult {
  format: ConvertFormat;
  /** The output's size: the source's, rounded up to a sector (vhd: to whole CHS geometry below 127 GiB). */
  virtual_size: number;
  /** Size of the output file (raw: its length; holes are not allocated). */
  file_size: number;
  /** Guest bytes that held data and were written. */
  data_bytes: number;
}

/** A device that can tell cheaply when a range holds no data (qcow2: unallocated/zero clusters). */
interface AllocationAware {
  isAllocated(offset: number, length: number): Promise<boolean>;
}

/** The largest span asked about at once when skipping a hole. */
const MAX_SPAN = 1024 * 1024 * 1024;

function allocationAware(dev: BlockDevice): dev is BlockDevice & AllocationAware {
  return typeof (dev as Partial<AllocationAware>).isAllocated === 'function';
}

/**
 * Streams a block device into a new image file: raw (sparse: all-zero chunks
 * are skipped and the length set with truncate), qcow2 (our own v3 writer,
 * 64 KiB clusters, optionally compressed), vmdk (monolithicSparse, or
 * streamOptimized when compressed), vhd, vdi or vhdx (dynamic); all-zero
 * ranges are never allocated. The output appears at `dstPath` only when complete.
 */
export async function convertImage(src: BlockDevice, dstPath: string, opts: ConvertOptions): Promise<ConvertResult> {
  if (!(CONVERT_FORMATS as readonly string[]).includes(opts.format)) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `cannot write image format ${String(opts.format)} (${CONVERT_FORMATS.join(', ')})`);
  }
  if (opts.compress && !COMPRESSIBLE_FORMATS.includes(opts.format)) {
    throw new GuestkitError('VALIDATION_ERROR', `compression needs the ${COMPRESSIBLE_FORMATS.join(' or ')} output format`);
  }
  if (opts.subformat !== undefined) {
    const offered = SUBFORMATS[opts.format] ?? [];
    if (!offered.includes(opts.subformat)) {
      throw new GuestkitError('VALIDATION_ERROR', `${opts.format} subformat ${opts.subformat} is not offered${offered.length ? ` (one of ${offered.join(', ')})` : ''}`);
    }
    if (opts.compress && opts.subformat === 'monolithicSparse') throw new GuestkitError('VALIDATION_ERROR', 'compression means the vmdk subformat streamOptimized, not monolithicSparse');
  }
  const chunk = opts.chunkSize ?? 2 * 1024 * 1024;
  if (chunk <= 0 || chunk % 65536 !== 0) throw new GuestkitError('VALIDATION_ERROR', 'chunkSize must be a positive multiple of 64 KiB');
  let size = opts.format === 'raw' ? src.size : Math.ceil(src.size / 512) * 512;
  const skip = allocationAware(src) ? src : undefined;
  const zero = Buffer.alloc(chunk);
  let dataBytes = 0;

  // With an allocation-aware source only the ranges it says hold data are read: holes are
  // skipped by asking it about ever larger spans (then narrowing down to 64 KiB), so a huge
  // sparse disk costs a few hundred questions instead of one read per chunk.
  const G = 65536;
  const blockLen = (off: number) => Math.min(G, src.size - off);
  const nextAllocated = async (from: number): Promise<number> => {
    if (from >= src.size || (await skip!.isAllocated(from, blockLen(from)))) return Math.min(from, src.size);
    let pos = from + blockLen(from);
    let span = 2 * G;
    while (pos < src.size) {
      checkAbort(opts.signal);
      let len = Math.min(span, src.size - pos);
      if (!(await skip!.isAllocated(pos, len))) {
        pos += len;
        span = Math.min(span * 2, MAX_SPAN);
        continue;
      }
      while (len > G) {
        const half = Math.ceil(len / 2 / G) * G;
        if (await skip!.isAllocated(pos, half)) len = half;
        else {
          pos += half;
          len -= half;
        }
      }
      return pos;
    }
    return src.size;
  };

  // The next range at or after `from` that may hold data (at most one chunk), read; null at the end.
  const readNext = async (from: number): Promise<{ start: number; end: number; data: Buffer | null } | null> => {
    let start = from;
    let end: number;
    if (skip) {
      start = await nextAllocated(from);
      if (start >= src.size) return null;
      end = start + blockLen(start);
      while (end < src.size && end - start < chunk && (await skip.isAllocated(end, blockLen(end)))) end += blockLen(end);
    } else {
      if (start >= src.size) return null;
      end = Math.min(start + chunk, src.size);
    }
    const b = await src.read(start, end - start);
    return { start, end, data: b.equals(zero.subarray(0, b.length)) ? null : b };
  };

  // Range by range, the next one read ahead; a pending read-ahead never outlives a failure.
  const pump = async (write: (off: number, b: Buffer) => Promise<void>): Promise<void> => {
    let reported = 0;
    const report = (at: number) => {
      if (at > reported) opts.onProgress?.((reported = at), src.size);
    };
    // marked handled at once: a read-ahead failing while a write is awaited is thrown when awaited
    const ahead = (from: number) => {
      const p = readNext(from);
      p.catch(() => undefined);
      return p;
    };
    let next = ahead(0);
    try {
      for (;;) {
        checkAbort(opts.signal);
        const r = await next;
        if (!r) break;
        report(r.start);
        next = ahead(r.end);
        if (r.data) {
          await write(r.start, r.data);
          dataBytes += r.data.length;
        }
        report(r.end);
      }
      report(src.size);
    } finally {
      await next.catch(() => undefined);
    }
  };

  // Written beside dstPath under a temporary name, renamed over it when complete (removed on failure).
  await replaceFileAtomic(
    dstPath,
    async (tmp) => {
      if (opts.format === 'raw') {
        const fh = await open(tmp, 'w');
        try {
          await pump(async (off, b) => {
            // Only the non-zero 64 KiB blocks of a chunk are written, so the output stays sparse.
            const blk = 65536;
            let run = -1;
            for (let i = 0; i <= b.length; i += blk) {
              const nonZero = i < b.length && !b.subarray(i, i + blk).equals(zero.subarray(0, Math.min(blk, b.length - i)));
              if (nonZero && run < 0) run = i;
              if (!nonZero && run >= 0) {
                const end = Math.min(i, b.length);
                await fh.write(b, run, end - run, off + run);
                run = -1;
              }
            }
          });
          await fh.truncate(size);
        } finally {
          await fh.close();
        }
      } else {
        const w = await openWriter(tmp, basename(dstPath), size, opts);
        size = w.size;
        try {
          await pump((off, b) => w.write(off, b));
          await w.finish();
        } catch (err) {
          await w.abort();
          throw err;
        }
      }
    },
    { fsync: opts.durable !== false },
  );
  const st = await open(dstPath, 'r').then(async (fh) => {
    try {
      return await fh.stat();
    } finally {
      await fh.close();
    }
  });
  return { format: opts.format, virtual_size: size, file_size: st.size, data_bytes: dataBytes };
}

/** One-pass writers: data arrives in increasing guest order, 64 KiB-aligned. */
interface ImageWriter {
  readonly size: number;
  write(off: number, data: Buffer): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

async function openWriter(tmp: string, name: string, size: number, opts: ConvertOptions): Promise<ImageWriter> {
  switch (opts.format) {
    case 'qcow2': {
      const w = await Qcow2Writer.create(tmp, size, { compress: opts.compress });
      return { size, write: (off, b) => w.writeClusters(off / w.clusterSize, b), finish: () => w.finish(), abort: () => w.abort() };
    }
    case 'vmdk':
      return VmdkWriter.create(tmp, size, { streamOptimized: opts.compress === true || opts.subformat === 'streamOptimized', fileName: name });
    case 'vhd':
      return VhdWriter.create(tmp, size, { fixed: opts.subformat === 'fixed' });
    case 'vdi':
      return VdiWriter.create(tmp, size);
    case 'vhdx':
      return VhdxWriter.create(tmp, size);
    default:
      throw new GuestkitError('UNSUPPORTED_FORMAT', `cannot write image format ${opts.format}`);
  }
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new GuestkitError('CANCELLED', 'image conversion cancelled');
}
