import { FsError } from '../fs/errors.js';
import type { Vfs } from '../fs/vfs.js';
import { InspectionBudget } from './budget.js';
import { faultOf } from './faults.js';
import { compareText } from '../util/compare.js';

/** Files larger than this are not configuration: collectors refuse to read them whole. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Distinct warnings one inspection lists at most. */
export const MAX_WARNINGS = 1000;
/** The distinct messages of each shared warnings list (collectors' views share one list). */
const warningSets = new WeakMap<string[], Set<string>>();

/**
 * A collector's window on one guest: reads through the VFS, remembers which
 * guest paths gave it data (the fact's evidence) and the oddities met.
 * Each collector gets its own view (`scope()`), so evidence never mixes.
 */
export class GuestView {
  readonly evidence: string[] = [];
  constructor(
    readonly vfs: Vfs,
    readonly warnings: string[] = [],
    /** The inspection's budget: every listing, open and file read here is counted against it. */
    readonly budget: InspectionBudget = InspectionBudget.unlimited(),
  ) {}

  scope(): GuestView {
    return new GuestView(this.vfs, this.warnings, this.budget);
  }

  warn(message: string): void {
    // a Set beside the shared list: includes() made W warnings cost W² (a state.json of 40,000
    // snaps without a sequence took 63 s); past MAX_WARNINGS the rest are only counted
    let seen = warningSets.get(this.warnings);
    if (!seen) warningSets.set(this.warnings, (seen = new Set(this.warnings)));
    if (seen.has(message)) return;
    seen.add(message);
    if (seen.size <= MAX_WARNINGS) this.warnings.push(message);
    else if (seen.size === MAX_WARNINGS + 1) this.warnings.push(`more than ${MAX_WARNINGS} warnings; the rest are not listed`);
  }

  private readonly noted = new Set<string>();
  private note(path: string): void {
    // a Set, not includes(): a collector reading 100,000 files (the budget's max_files_opened) paid 100,000²
    if (this.noted.has(path)) return;
    this.noted.add(path);
    this.evidence.push(path);
  }

  /** Text of a file, or undefined when missing / not a file / too big (too big is warned). */
  async text(path: string, maxBytes = MAX_CONFIG_BYTES): Promise<string | undefined> {
    const buf = await this.bytes(path, maxBytes);
    return buf?.toString('utf8');
  }

  async bytes(path: string, maxBytes = MAX_CONFIG_BYTES): Promise<Buffer | undefined> {
    const cap = this.budget.fileCap(maxBytes);
    try {
      this.budget.chargeOpen(path);
      const b = await this.vfs.readFile(path, { maxBytes: cap });
      this.budget.chargeCollected(b.length, path);
      this.note(path);
      return b;
    } catch (err) {
      // cut by the inspection's max_file_bytes rather than the collector's own cap: the result is partial
      if (cap < maxBytes && err instanceof FsError && err.code === 'EFBIG') {
        const trip = this.budget.fileSkipped(path, await this.size(path));
        this.warn(`${path}: ${trip.used} bytes exceed the inspection budget max_file_bytes (${trip.limit}); not read`);
        return undefined;
      }
      return this.absent(err, path);
    }
  }

  /** First bytes of a file (ELF headers, magic numbers). */
  async head(path: string, length: number): Promise<Buffer | undefined> {
    try {
      this.budget.chargeOpen(path);
      const b = await this.vfs.readRange(path, 0, length);
      this.budget.chargeCollected(b.length, path);
      this.note(path);
      return b;
    } catch (err) {
      return this.absent(err, path);
    }
  }

  async isFile(path: string): Promise<boolean> {
    return (await this.statType(path)) === 'file';
  }

  async isDir(path: string): Promise<boolean> {
    return (await this.statType(path)) === 'directory';
  }

  async exists(path: string): Promise<boolean> {
    return (await this.statType(path)) !== undefined;
  }

  /** Size in bytes after following symlinks, or undefined (nothing is read). */
  async size(path: string): Promise<number | undefined> {
    try {
      this.budget.check(path);
      const st = await this.vfs.stat(path);
      return st.isFile() ? st.size : undefined;
    } catch (err) {
      return this.absent(err, path);
    }
  }

  /** Type after following symlinks, or undefined. */
  async statType(path: string): Promise<string | undefined> {
    try {
      this.budget.check(path);
      return (await this.vfs.stat(path)).type;
    } catch (err) {
      return this.absent(err, path);
    }
  }

  async lstatType(path: string): Promise<string | undefined> {
    try {
      this.budget.check(path);
      return (await this.vfs.lstat(path)).type;
    } catch (err) {
      return this.absent(err, path);
    }
  }

  async readlink(path: string): Promise<string | undefined> {
    try {
      this.budget.check(path);
      return await this.vfs.readlink(path);
    } catch (err) {
      return this.absent(err, path);
    }
  }

  async realpath(path: string): Promise<string | undefined> {
    try {
      this.budget.check(path);
      return await this.vfs.realpath(path);
    } catch (err) {
      return this.absent(err, path);
    }
  }

  /** Entry names of a directory (sorted), [] when missing. */
  async list(path: string): Promise<string[]> {
    try {
      this.budget.check(path);
      const names = await this.vfs.readdirNames(path);
      this.budget.chargeEntries(names.length, path);
      this.note(path);
      return names.sort();
    } catch (err) {
      this.absent(err, path);
      return [];
    }
  }

  /** Entries with types, [] when missing. */
  async entries(path: string): Promise<{ name: string; type: string }[]> {
    try {
      this.budget.check(path);
      const es = await this.vfs.readdir(path);
      this.budget.chargeEntries(es.length, path);
      this.note(path);
      return es.map((e) => ({ name: e.name, type: e.type })).sort((a, b) => compareText(a.name, b.name));
    } catch (err) {
      this.absent(err, path);
      return [];
    }
  }

  /**
   * Missing files are normal; anything else (corrupt inode, ELOOP, too big) is
   * an oddity worth a warning, but never stops the other facts. A budget that ran
   * out and a bug (an untyped error) are not the guest's oddities: they go on up.
   */
  private absent(err: unknown, path: string): undefined {
    // a lower layer may have wrapped the budget's throw: the budget itself remembers
    if (this.budget.exhausted) throw this.budget.exhausted;
    if (faultOf(err) !== 'guest') throw err;
    if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
    if (err instanceof FsError && err.code === 'EISDIR') return undefined;
    const msg = err instanceof Error ? err.message : String(err);
    this.warn(`${path}: ${msg}`);
    return undefined;
  }
}

/** A fact with the paths it came from. */
export interface Found<T> {
  value: T;
  from: string[];
}
