import { stat } from 'node:fs/promises';
import { GuestkitError } from '../protocol/errors.js';

const KINDS: [string, (s: Awaited<ReturnType<typeof stat>>) => boolean][] = [
  ['a directory', (s) => s.isDirectory()],
  ['a FIFO', (s) => s.isFIFO()],
  ['a socket', (s) => s.isSocket()],
  ['a character device', (s) => s.isCharacterDevice()],
];

/**
 * Refuses image paths that are not files or block devices before anything opens them:
 * opening a FIFO for reading blocks until a writer appears, so the command would hang.
 * Missing and unreadable paths are left to the image opener, which names them.
 */
export async function checkImagePaths(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    const kind = KINDS.find(([, is]) => is(st));
    if (kind) {
      throw new GuestkitError('IMAGE_NOT_FOUND', `image path is ${kind[0]}, not a disk image file: ${path}`, { details: { path } });
    }
  }
}
