import { realpathSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GuestkitError } from '../protocol/errors.js';

/**
 * Images must lie under the worker's allowed roots. The check is made on the real path
 * (symlinks resolved) against the real paths of the roots, so neither `..` nor a symlink
 * inside an allowed root can reach outside it. No roots configured = no restriction.
 */
export class PathPolicy {
  private readonly roots: string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => {
      const abs = resolve(r);
      try {
        return realpathSync(abs);
      } catch {
        return abs; // a root that does not exist (yet) still restricts lexically
      }
    });
  }

  get restricted(): boolean {
    return this.roots.length > 0;
  }

  allowedRoots(): readonly string[] {
    return this.roots;
  }

  /** The real path of an allowed image, or PATH_NOT_ALLOWED / IMAGE_NOT_FOUND. */
  async resolve(path: string, field = 'image.path'): Promise<string> {
    const deny = (why: string) =>
      new GuestkitError('PATH_NOT_ALLOWED', `${field}: ${path}: ${why}`, {
        phase: 'validation',
        details: { field, path, allowed_roots: this.roots },
      });
    if (typeof path !== 'string' || path === '') throw deny('must be a non-empty path');
    if (path.includes('\0')) throw deny('must not contain NUL');
    if (!isAbsolute(path)) throw deny('must be an absolute path');
    if (path.split(/[/\\]/).includes('..')) throw deny('must not contain ".." segments');
    // lexical check first: never touch (or reveal) files outside the roots
    if (this.restricted && !this.under(resolve(path))) throw deny('is not under an allowed root');
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
        throw new GuestkitError('IMAGE_NOT_FOUND', `${field}: image not found: ${path}`, { phase: 'validation', details: { field, path } });
      }
      throw new GuestkitError('IMAGE_NOT_FOUND', `${field}: image not accessible: ${path} (${code ?? String(err)})`, { phase: 'validation', details: { field, path } });
    }
    if (this.restricted && !this.under(real)) throw deny(`resolves to ${real}, outside the allowed roots (symlink escape)`);
    return real;
  }

  /**
   * The submit-time check (the API's): the same rules as resolve(), but an image that does
   * not exist (yet, or on this node) is let through — the worker reports it when it runs.
   */
  async admit(path: string, field = 'image.path'): Promise<void> {
    try {
      await this.resolve(path, field);
    } catch (err) {
      if (!(err instanceof GuestkitError) || err.code !== 'IMAGE_NOT_FOUND') throw err;
      // not there: its nearest existing folder must still be inside the roots (no symlink out)
      if (this.restricted) {
        await this.checkOutputUnderRoots(path, (why) => new GuestkitError('PATH_NOT_ALLOWED', `${field}: ${path}: ${why}`, { phase: 'validation', details: { field, path, allowed_roots: this.roots } }));
      }
    }
  }

  /**
   * An output path a handler will create: same rules, checked on the real path of its
   * nearest existing ancestor (the file itself usually does not exist yet).
   */
  async checkOutput(path: string, field: string): Promise<void> {
    const deny = (why: string) =>
      new GuestkitError('PATH_NOT_ALLOWED', `${field}: ${path}: ${why}`, { phase: 'validation', details: { field, path, allowed_roots: this.roots } });
    if (typeof path !== 'string' || path === '' || path.includes('\0')) throw deny('must be a non-empty path');
    if (!isAbsolute(path)) throw deny('must be an absolute path');
    if (path.split(/[/\\]/).includes('..')) throw deny('must not contain ".." segments');
    if (this.restricted) await this.checkOutputUnderRoots(path, deny);
    // refused before the job runs, not after a whole inspection failed to write
    const st = await stat(path).catch(() => undefined);
    if (st?.isDirectory()) {
      throw new GuestkitError('VALIDATION_ERROR', `${field}: ${path} is a directory; name the file to write`, { phase: 'validation', details: { field, path } });
    }
  }

  private async checkOutputUnderRoots(path: string, deny: (why: string) => GuestkitError): Promise<void> {
    if (!this.under(resolve(path))) throw deny('is not under an allowed root');
    const full = resolve(path);
    let p = full;
    for (let i = 0; i < 256; i++) {
      try {
        // the part that does not exist yet holds no symlinks: real path = real ancestor + rest
        const real = join(await realpath(p), relative(p, full));
        if (!this.under(real)) throw deny(`resolves to ${real}, outside the allowed roots (symlink escape)`);
        return;
      } catch (err) {
        if (err instanceof GuestkitError) throw err;
        const up = dirname(p);
        if (up === p) return;
        p = up;
      }
    }
  }

  private under(p: string): boolean {
    return this.roots.some((root) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep));
  }
}
