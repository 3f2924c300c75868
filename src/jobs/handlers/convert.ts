import { realpath, rm, stat } from 'node:fs/promises';
import { COMPRESSIBLE_FORMATS, convertImage, type ConvertFormat } from '../../disk/convert.js';
import { FORMATS } from '../../disk/formats.js';
import type { ImageDevice } from '../../disk/image.js';
import { openImage } from '../../disk/open.js';
import { newReadStats } from '../../disk/types.js';
import { GuestkitError } from '../../protocol/errors.js';
import { ConvertPayloadSchema } from '../../protocol/payloads/convert.js';
import { defineHandler, type HandlerContext, type HandlerDefinition } from '../types.js';

/** Formats the engine writes; the others the protocol names are refused with UNSUPPORTED_FORMAT. */
const WRITABLE: Record<string, ConvertFormat> = { raw: 'raw', img: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vhd: 'vhd', vdi: 'vdi', vhdx: 'vhdx' };
const VERIFY_PIECE = 4 * 1024 * 1024;

interface AllocationAware {
  isAllocated(offset: number, length: number): Promise<boolean>;
}
const allocationOf = (d: ImageDevice): AllocationAware | undefined =>
  typeof (d as Partial<AllocationAware>).isAllocated === 'function' ? (d as unknown as AllocationAware) : undefined;

/** Progress by bytes: one event per whole percent reached, and the last one. */
function byteProgress(ctx: HandlerContext, phase: string, verb: string): (done: number, total: number) => void {
  let lastPct = -1;
  return (done, total) => {
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    if (done < total && pct === lastPct) return;
    lastPct = pct;
    ctx.progress({ phase, message: `${verb} ${done} of ${total} bytes`, progress_percent: pct, details: { bytes_done: done, bytes_total: total } });
  };
}

/**
 * Content comparison of the written image with its source: every range either may hold data
 * is read from both and compared (ranges both formats say are unallocated are zeros on both
 * sides and skipped; a raw output cannot say, so it is read whole). Throws EXECUTION_ERROR at
 * the first difference.
 */
export async function verifyConversion(src: ImageDevice, out: ImageDevice, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<{ bytes_compared: number }> {
  // the output may be longer (a sector; vhd: whole CHS geometry); that tail must read as zeros (below)
  if (out.size < src.size) {
    throw new GuestkitError('EXECUTION_ERROR', `verification failed: output size ${out.size} does not match the source's ${src.size}`, { phase: 'verification', recoverable: false });
  }
  const aa = allocationOf(src);
  const ab = allocationOf(out);
  const zero = Buffer.alloc(VERIFY_PIECE);
  let compared = 0;
  for (let off = 0; off < src.size; off += VERIFY_PIECE) {
    if (opts.signal?.aborted) throw new GuestkitError('CANCELLED', 'verification cancelled');
    const len = Math.min(VERIFY_PIECE, src.size - off);
    // where the source says it holds no data it reads as zeros: only the output is read there
    const srcHole = aa !== undefined && !(await aa.isAllocated(off, len));
    if (srcHole && ab && !(await ab.isAllocated(off, len))) {
      opts.onProgress?.(off + len, src.size);
      continue;
    }
    const [x, y] = await Promise.all([srcHole ? zero.subarray(0, len) : src.read(off, len), out.read(off, len)]);
    if (!x.equals(y)) {
      let i = 0;
      while (i < len && x[i] === y[i]) i++;
      throw new GuestkitError('EXECUTION_ERROR', `verification failed: the output differs from the source at guest offset ${off + i}`, {
        phase: 'verification',
        recoverable: false,
        details: { offset: off + i },
      });
    }
    compared += len;
    opts.onProgress?.(off + len, src.size);
  }
  // the tail the output format added must read as zeros
  if (out.size > src.size && !(await out.read(src.size, out.size - src.size)).equals(Buffer.alloc(out.size - src.size))) {
    throw new GuestkitError('EXECUTION_ERROR', 'verification failed: the output has data past the source size', { phase: 'verification', recoverable: false });
  }
  return { bytes_compared: compared };
}

/**
 * guestkit.convert: the disk convert engine over one image, in a pool thread (it parses an
 * untrusted image). The target path is an output the runner checks against the allowed roots;
 * the output stays sparse; verify_after_convert compares the written image with the source.
 */
export function convertHandler(): HandlerDefinition {
  return defineHandler(ConvertPayloadSchema, {
    operation: 'guestkit.convert',
    isolation: 'thread',
    diskFormats: FORMATS.map((f) => f.name),
    images: (d) => [{ field: 'source.path', path: d.source.path, checksum: d.source.checksum ?? null }],
    outputs: (d) => [{ field: 'target.path', path: d.target.path }],
    async run(ctx, d) {
      const format = WRITABLE[d.target.format];
      if (!format) {
        throw new GuestkitError('UNSUPPORTED_FORMAT', `target.format ${d.target.format}: this worker writes ${Object.keys(WRITABLE).join(', ')} images only`, {
          phase: 'validation',
          details: { format: d.target.format, writable: Object.keys(WRITABLE) },
        });
      }
      const compress = d.target.compression === true || (d.target.compression_type !== undefined && d.target.compression_type !== null && d.target.compression !== false);
      // vmdk: compression means streamOptimized (deflated grains)
      if (compress && !COMPRESSIBLE_FORMATS.includes(format)) {
        throw new GuestkitError('VALIDATION_ERROR', `target.compression needs target.format ${COMPRESSIBLE_FORMATS.join(' or ')}`, { phase: 'validation' });
      }
      if (compress && d.target.compression_type === 'zstd') {
        throw new GuestkitError('UNSUPPORTED_FORMAT', 'target.compression_type zstd: this worker writes zlib/deflate compression only', { phase: 'validation', details: { compression_type: 'zstd' } });
      }
      const srcPath = ctx.resolvedImages[0] ?? d.source.path;
      const stats = newReadStats();
      ctx.progress({ phase: 'disk_attach', message: `opening ${d.source.path}` });
      const src = await openImage(srcPath, { format: d.source.format, stats, allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined });
      try {
        // never over the source or a file of its backing chain
        const chain: string[] = [];
        for (let x: ImageDevice | undefined = src; x; x = x.backing) chain.push(await realpath(x.name).catch(() => x!.name));
        const dstReal = await realpath(d.target.path).catch(() => undefined);
        if (dstReal && chain.includes(dstReal)) {
          throw new GuestkitError('VALIDATION_ERROR', `target.path ${d.target.path} is the source image or one of its backing files`, { phase: 'validation', details: { path: d.target.path } });
        }
        if (dstReal && !(await stat(dstReal)).isFile()) {
          throw new GuestkitError('VALIDATION_ERROR', `target.path ${d.target.path} exists and is not a regular file`, { phase: 'validation', details: { path: d.target.path } });
        }
        const res = await convertImage(src, d.target.path, {
          format,
          compress,
          signal: ctx.signal,
          onProgress: byteProgress(ctx, 'convert', 'converted'),
        });
        const data: Record<string, unknown> = {
          source: { path: d.source.path, format: src.format, virtual_size: src.size },
          target: { path: d.target.path, format, compressed: compress, file_size: res.file_size, allocated_bytes: (await stat(d.target.path)).blocks * 512 },
          virtual_size: res.virtual_size,
          data_bytes: res.data_bytes,
          sparse: true,
        };
        if (d.options?.preserve_sparse === false) data.note = 'preserve_sparse: false is not offered: the output is always sparse (its holes read as zeros)';
        if (d.options?.verify_after_convert) {
          ctx.progress({ phase: 'verification', message: 'comparing the output with the source' });
          const out = await openImage(d.target.path, { format });
          try {
            data.verification = { identical: true, ...(await verifyConversion(src, out, { signal: ctx.signal, onProgress: byteProgress(ctx, 'verification', 'compared') })) };
          } catch (err) {
            await rm(d.target.path, { force: true });
            throw err;
          } finally {
            await out.close();
          }
        }
        return { data, outputs: { primary: d.target.path }, metrics: { disk_read_bytes: stats.bytesRead, bytes_written: res.file_size } };
      } finally {
        await src.close();
      }
    },
  });
}
