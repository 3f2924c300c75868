import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import { GuestkitError } from '../protocol/errors.js';

/**
 * Files an image pulls in by name (backing files, parents, external data
 * files) must stay under the caller's allowed roots: an image inside an
 * allowed folder must not be able to read /etc/shadow as its "backing file".
 * `real` and `roots` are real paths (symlinks resolved). No roots = no limit.
 */
export function assertUnderRoots(real: string, roots: readonly string[] | undefined, what: string, image: string): void {
  if (!roots || roots.length === 0) return;
  if (roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep))) return;
  throw new GuestkitError('PATH_NOT_ALLOWED', `${image}: ${what} ${real} lies outside the allowed roots`, {
    phase: 'disk_attach',
    details: { image, path: real, allowed_roots: roots },
  });
}

/** Same rule for a file named by path: resolved first, so a symlink cannot lead out. Missing files pass (the opener reports them). */
export async function assertFileUnderRoots(path: string, roots: readonly string[] | undefined, what: string, image: string): Promise<void> {
  if (!roots || roots.length === 0) return;
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    return;
  }
  assertUnderRoots(real, roots, what, image);
}
