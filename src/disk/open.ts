import { realpathSync } from 'node:fs';
import { GuestkitError } from '../protocol/errors.js';
import { assertUnderRoots } from './policy.js';
import { detectFormat, findFormat, readProbe } from './detect.js';
import type { ImageDevice, ImageFormat, ImageFormatName, OpenContext, OpenOptions } from './image.js';
import { newReadStats, type ReadStats } from './types.js';

export const DEFAULT_MAX_CHAIN = 32;

/**
 * Opens a disk image as a block device. The format comes from the magic
 * bytes; a stated format (`opts.format`) must agree with them. Backing files
 * are opened through the same path, with loop detection and a depth limit.
 */
export async function openImage(path: string, opts: OpenOptions = {}): Promise<ImageDevice> {
  const stats = opts.stats ?? newReadStats();
  return openChained(path, opts.format, [], opts, stats, undefined);
}

async function openChained(
  path: string,
  stated: OpenOptions['format'],
  above: string[],
  options: OpenOptions,
  stats: ReadStats,
  overlay: string | undefined,
): Promise<ImageDevice> {
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    if (overlay !== undefined) {
      throw new GuestkitError('IMAGE_NOT_FOUND', `${overlay}: backing file not found: ${path}`, {
        details: { path: overlay, backing_file: path },
      });
    }
    throw new GuestkitError('IMAGE_NOT_FOUND', `image file not found: ${path}`, { details: { path } });
  }
  assertUnderRoots(real, options.allowedRoots, overlay === undefined ? 'image' : 'backing file', overlay ?? path);
  if (above.includes(real)) {
    throw new GuestkitError('CORRUPT_IMAGE', `backing chain loop: ${[...above, real].join(' -> ')}`, {
      details: { chain: [...above, real] },
    });
  }
  const maxChain = options.maxChain ?? DEFAULT_MAX_CHAIN;
  if (above.length > maxChain) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${overlay ?? path}: backing chain deeper than ${maxChain} images`, {
      details: { path: overlay ?? path, max_chain: maxChain },
    });
  }
  const fmt = await chooseFormat(path, stated, stats);
  const chain = [...above, real];
  const ctx: OpenContext = {
    stats,
    chain,
    options,
    openBacking: (p: string, f?: ImageFormatName) => openChained(p, f, chain, options, stats, path),
  };
  return fmt.open(path, ctx);
}

async function chooseFormat(path: string, stated: OpenOptions['format'], stats: ReadStats): Promise<ImageFormat> {
  const { head, tail, size } = await readProbe(path, stats);
  const detected = detectFormat(head, tail, size);
  if (stated === undefined || stated === 'auto') return detected;
  const want: ImageFormatName = stated === 'img' ? 'raw' : stated;
  const f = findFormat(want);
  if (!f) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${path}: image format ${want} is not supported`, { details: { path, format: want } });
  }
  // A stated non-raw format is accepted when its own probe matches, even if another probe also would.
  if (want === detected.name || (want !== 'raw' && f.probe(head, tail, size))) return f;
  throw new GuestkitError(
    'UNSUPPORTED_FORMAT',
    `${path}: stated format ${want} does not match the image, whose magic bytes say ${detected.name}`,
    { details: { path, stated_format: want, detected_format: detected.name } },
  );
}
