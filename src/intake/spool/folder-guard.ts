import { realpathSync } from 'node:fs';

/**
 * A spool folder pinned to the real path it had at start. A folder swapped at run time for
 * a symlink to somewhere else is reported (and the spool stops using it) instead of being
 * followed: job files would be read from, and results written to, the link's target.
 * A folder that is missing or not a folder is not a swap: the spool's own checks answer
 * those (it recreates a missing folder at the same real path).
 */
export class FolderGuard {
  private real?: string;

  constructor(
    readonly path: string,
    readonly what: string,
  ) {}

  /** Records the folder's real path (after the spool created it). */
  pin(): void {
    try {
      this.real = realpathSync.native(this.path);
    } catch {
      this.real = undefined;
    }
  }

  /** Why the folder must not be used now, or undefined. */
  problem(): string | undefined {
    let now: string;
    try {
      now = realpathSync.native(this.path);
    } catch {
      return undefined;
    }
    if (this.real === undefined) {
      this.real = now; // created after start
      return undefined;
    }
    if (now === this.real) return undefined;
    return `the ${this.what} ${this.path} now resolves to ${now}, not ${this.real} (replaced by a symlink?); not followed until it is restored`;
  }
}
