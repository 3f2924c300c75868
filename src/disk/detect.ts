import { GuestkitError } from '../protocol/errors.js';
import { FileSource } from './file-source.js';
import { FORMATS } from './formats.js';
import type { ImageFormat, ImageFormatName } from './image.js';
import type { ReadStats } from './types.js';

export const PROBE_HEAD = 64 * 1024;
export const PROBE_TAIL = 512;

/** The format whose magic matches; raw (which accepts anything) only when no other does. */
export function detectFormat(head: Buffer, tail: Buffer, fileSize: number, formats: readonly ImageFormat[] = FORMATS): ImageFormat {
  for (const f of formats) {
    if (f.name !== 'raw' && f.probe(head, tail, fileSize)) return f;
  }
  const raw = formats.find((f) => f.name === 'raw');
  if (!raw) throw new GuestkitError('UNSUPPORTED_FORMAT', 'no image format recognises this file');
  return raw;
}

export function findFormat(name: ImageFormatName, formats: readonly ImageFormat[] = FORMATS): ImageFormat | undefined {
  return formats.find((f) => f.name === name);
}

/** Reads the first 64 KiB and last 512 bytes of a file, as probes expect. */
export async function readProbe(path: string, stats?: ReadStats): Promise<{ head: Buffer; tail: Buffer; size: number }> {
  const src = await FileSource.open(path, stats);
  try {
    const head = await src.read(0, Math.min(src.size, PROBE_HEAD));
    const tailLen = Math.min(src.size, PROBE_TAIL);
    const tail = await src.read(src.size - tailLen, tailLen);
    return { head, tail, size: src.size };
  } finally {
    await src.close();
  }
}

/** Detects the format of a file by its magic bytes (never its extension). */
export async function detectFile(path: string, stats?: ReadStats): Promise<ImageFormatName> {
  const { head, tail, size } = await readProbe(path, stats);
  return detectFormat(head, tail, size).name;
}
