import { lstatSync, realpathSync, statSync } from 'node:fs';

/**
 * A spool folder pinned to the real path it had at start. A folder swapped at run time for
 * a symlink to somewhere else is reported (and the spool stops using it) instead of being
 * followed: job files would be read from, and results written to, the link's target.
 * A folder that is missing or not a folder is not a swap: the spool's own checks answer
 * those (it recreates a missing folder at the same real path).
 */
export class FolderGuard {
  private real?: string;
  /** The real folder's identity: a plain folder with it at the path needs no realpath (one lstat per check). */
  private dev = -1;
  private ino = -1;

  constructor(
    readonly path: string,
    readonly what: string,
  ) {}

  /** Records the folder's real path (after the spool created it). */
  pin(): void {
    try {
      this.real = realpathSync.native(this.path);
      this.remember(this.real);
    } catch {
      this.real = undefined;
    }
  }

  private remember(real: string): void {
    const st = statSync(real);
    this.dev = st.dev;
    this.ino = st.ino;
  }

  /** Checked fine in this event-loop turn: the result files of one turn share one lstat. */
  private fineThisTurn = false;

  /** Why the folder must not be used now, or undefined. */
  problem(): string | undefined {
    if (this.fineThisTurn) return undefined;
    const why = this.check();
    if (why === undefined) {
      this.fineThisTurn = true;
      setImmediate(() => (this.fineThisTurn = false));
    }
    return why;
  }

  private check(): string | undefined {
    let now: string;
    try {
      const st = lstatSync(this.path);
      if (st.ino === this.ino && st.dev === this.dev && st.isDirectory()) return undefined;
      now = realpathSync.native(this.path);
    } catch {
      return undefined;
    }
    if (this.real === undefined) this.real = now; // created after start
    if (now === this.real) {
      // recreated at the same place (a new inode), or configured through a link
      try {
        this.remember(now);
      } catch {
        /* gone again */
      }
      return undefined;
    }
    return `the ${this.what} ${this.path} now resolves to ${now}, not ${this.real} (replaced by a symlink?); not followed until it is restored`;
  }
}
