import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { FsError } from '../fs/errors.js';
import type { Vfs } from '../fs/vfs.js';
import type { FileChange, FileDiff, FileState } from './types.js';

export interface FileCompareOptions {
  /** Report files whose only difference is the modification time. */
  timestamps?: boolean;
  /** Entries per side before the walk stops (`truncated`). Default 200,000. */
  maxEntries?: number;
  /** Files larger than this are compared by size only. Default 256 MiB. */
  maxHashBytes?: number;
  /** Text files up to this size on both sides get a unified diff. Default 64 KiB. */
  maxDiffBytes?: number;
  /** Lines of context around each change. Default 3. */
  context?: number;
  signal?: AbortSignal;
}

interface Entry {
  state: FileState;
  mtimeMs: number;
  /** Kept for the diff (small files only). */
  content?: Buffer;
}

const HASH_PIECE = 4 * 1024 * 1024;

/** Files whose content must not be copied into a report: password hashes and private keys. */
const SENSITIVE_NAMES = /(^|\/)(g?shadow-?|opasswd|security\/opasswd|ssh_host_[a-z0-9]+_key|.*\.key|.*_rsa|.*_ed25519|.*_ecdsa|.*_dsa|krb5\.keytab|.*\.keytab)$/;
const PRIVATE_KEY = Buffer.from('PRIVATE KEY-----');

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function isText(b: Buffer): boolean {
  if (b.subarray(0, 8192).includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Guest paths normalised: absolute, no trailing slash, no empty or `.` parts. */
export function normaliseGuestPath(p: string): string {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (parts.includes('..')) throw new FsError('EINVAL', 'compare', p, 'a compared path must not contain ".."');
  return '/' + parts.join('/');
}

/** The roots without one that lies inside another (it would be walked twice). */
function distinctRoots(roots: string[]): string[] {
  const norm = [...new Set(roots.map(normaliseGuestPath))].sort();
  return norm.filter((r) => !norm.some((o) => o !== r && (o === '/' || r.startsWith(o + '/'))));
}

class Walker {
  readonly entries = new Map<string, Entry>();
  readonly unreadable: { path: string; reason: string }[] = [];
  truncated = false;

  constructor(
    private readonly vfs: Vfs,
    private readonly o: Required<Omit<FileCompareOptions, 'signal'>> & { signal?: AbortSignal },
  ) {}

  async walk(root: string): Promise<void> {
    const st = await this.stat(root);
    if (!st) return;
    if (st.state.type !== 'directory') {
      await this.add(root, st);
      return;
    }
    const stack = [root];
    while (stack.length > 0) {
      if (this.o.signal?.aborted) throw this.o.signal.reason ?? new Error('aborted');
      const dir = stack.pop()!;
      let names: { name: string; type: string }[];
      try {
        names = await this.vfs.readdir(dir);
      } catch (err) {
        this.unreadable.push({ path: dir, reason: reason(err) });
        continue;
      }
      names.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
      for (const e of names) {
        const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
        if (this.entries.size >= this.o.maxEntries) {
          this.truncated = true;
          return;
        }
        const s = await this.stat(p);
        if (!s) continue;
        await this.add(p, s);
        if (s.state.type === 'directory') stack.push(p);
      }
    }
  }

  private async stat(p: string): Promise<Entry | undefined> {
    try {
      const st = await this.vfs.lstat(p);
      const state: FileState = { type: st.type, mode: octal(st.mode), uid: st.uid, gid: st.gid };
      if (st.type === 'file' || st.type === 'symlink') state.size = st.size;
      return { state, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') return undefined;
      this.unreadable.push({ path: p, reason: reason(err) });
      return undefined;
    }
  }

  private async add(p: string, e: Entry): Promise<void> {
    try {
      if (e.state.type === 'symlink') e.state.link_target = await this.vfs.readlink(p);
      else if (e.state.type === 'file') await this.hash(p, e);
    } catch (err) {
      this.unreadable.push({ path: p, reason: reason(err) });
    }
    this.entries.set(p, e);
  }

  private async hash(p: string, e: Entry): Promise<void> {
    const size = e.state.size ?? 0;
    if (size > this.o.maxHashBytes) return;
    const h = createHash('sha256');
    if (size <= HASH_PIECE) {
      const b = await this.vfs.readFile(p, { maxBytes: HASH_PIECE });
      h.update(b);
      if (b.length <= this.o.maxDiffBytes) e.content = b;
    } else {
      for (let off = 0; off < size; off += HASH_PIECE) h.update(await this.vfs.readRange(p, off, Math.min(HASH_PIECE, size - off)));
    }
    e.state.sha256 = h.digest('hex');
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function diffOf(path: string, a: Entry, b: Entry, o: { maxDiffBytes: number; context: number }): Pick<FileChange, 'diff' | 'diff_omitted'> {
  if (SENSITIVE_NAMES.test(path) || a.content?.includes(PRIVATE_KEY) || b.content?.includes(PRIVATE_KEY)) return { diff_omitted: 'sensitive' };
  if (!a.content || !b.content) return { diff_omitted: 'too_large' };
  if (!isText(a.content) || !isText(b.content)) return { diff_omitted: 'binary' };
  const patch = createTwoFilesPatch(`a${path}`, `b${path}`, a.content.toString('utf8'), b.content.toString('utf8'), undefined, undefined, { context: o.context });
  // the library's header line of '=' is not part of a unified diff
  return { diff: patch.replace(/^=+\n/, '') };
}

/**
 * The files under `roots` in two guests: added, removed and modified (content by SHA-256,
 * type, link target, mode, owner, and the modification time when asked), with a unified diff
 * for small text files. Directories count as entries (added / removed / mode, owner) but their
 * times never do.
 */
export async function compareFiles(base: Vfs, target: Vfs, roots: string[], opts: FileCompareOptions = {}): Promise<FileDiff> {
  const o = {
    timestamps: opts.timestamps ?? false,
    maxEntries: opts.maxEntries ?? 200_000,
    maxHashBytes: opts.maxHashBytes ?? 256 * 1024 * 1024,
    maxDiffBytes: opts.maxDiffBytes ?? 64 * 1024,
    context: opts.context ?? 3,
    signal: opts.signal,
  };
  const rs = distinctRoots(roots);
  const wa = new Walker(base, o);
  const wb = new Walker(target, o);
  for (const r of rs) {
    await wa.walk(r);
    await wb.walk(r);
  }
  const out: FileDiff = {
    roots: rs,
    entries_compared: wa.entries.size + wb.entries.size,
    added: [],
    removed: [],
    modified: [],
    unreadable: [...wa.unreadable.map((u) => ({ ...u, side: 'baseline' as const })), ...wb.unreadable.map((u) => ({ ...u, side: 'target' as const }))],
  };
  if (wa.truncated || wb.truncated) out.truncated = true;
  const withTime = (e: Entry): FileState => (o.timestamps && e.state.type !== 'directory' ? { ...e.state, mtime: new Date(e.mtimeMs).toISOString() } : e.state);
  for (const [p, e] of wb.entries) if (!wa.entries.has(p)) out.added.push({ path: p, state: withTime(e) });
  for (const [p, a] of wa.entries) {
    const b = wb.entries.get(p);
    if (!b) {
      out.removed.push({ path: p, state: withTime(a) });
      continue;
    }
    const changes: string[] = [];
    if (a.state.type !== b.state.type) changes.push('type');
    else if (a.state.type === 'file' && (a.state.sha256 !== b.state.sha256 || a.state.size !== b.state.size)) changes.push('content');
    else if (a.state.type === 'symlink' && a.state.link_target !== b.state.link_target) changes.push('link_target');
    if (a.state.mode !== b.state.mode && a.state.type !== 'symlink') changes.push('mode');
    if (a.state.uid !== b.state.uid || a.state.gid !== b.state.gid) changes.push('owner');
    if (o.timestamps && a.state.type !== 'directory' && a.state.type === b.state.type && a.mtimeMs !== b.mtimeMs) changes.push('mtime');
    if (changes.length === 0) continue;
    const c: FileChange = { path: p, changes, baseline: withTime(a), target: withTime(b) };
    if (changes.includes('content')) Object.assign(c, diffOf(p, a, b, o));
    out.modified.push(c);
  }
  const byPath = (x: { path: string }, y: { path: string }) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  out.added.sort(byPath);
  out.removed.sort(byPath);
  out.modified.sort(byPath);
  out.unreadable.sort(byPath);
  return out;
}
