import { FsError } from '../../fs/errors.js';
import type { GuestStats } from '../../fs/vfs.js';
import { GuestView } from '../../inspect/guest-view.js';
import { detectApplications } from '../../inspect/linux/packages/index.js';
import { parseFstab } from '../../inspect/linux/fstab.js';
import { globMatch } from '../../inspect/parse.js';
import type { Application, FstabEntry } from '../../inspect/types.js';

export interface PasswdEntry {
  name: string;
  password: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  line: number;
}
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
  line: number;
}
export interface ShadowEntry {
  name: string;
  hash: string;
  line: number;
}

/**
 * One Linux root as the evaluators see it: files read through the inspection engine's view
 * (each read once, however many checks ask), and the account databases parsed once.
 */
export class LinuxGuest {
  private readonly texts = new Map<string, Promise<string | undefined>>();
  private readonly stats = new Map<string, Promise<GuestStats | undefined>>();
  private readonly memo = new Map<string, Promise<unknown>>();

  /**
   * `installed`: where the installed packages come from when the caller already has them (the
   * migration profile's inspection read the database); without it they are read here.
   */
  constructor(
    readonly view: GuestView,
    readonly packageFormat: string | undefined,
    private readonly installed?: () => Promise<Application[] | undefined>,
  ) {}

  warn(message: string): void {
    this.view.warn(message);
  }

  /** Text of a file, or undefined when it is missing (a file too big to be configuration is warned and missing). */
  text(path: string): Promise<string | undefined> {
    let p = this.texts.get(path);
    if (!p) {
      p = this.view.text(path);
      this.texts.set(path, p);
    }
    return p;
  }

  /** Lines of a file, split once per guest (the array is shared: callers only read it). */
  lines(path: string): Promise<string[] | undefined> {
    return this.once(`lines:${path}`, async () => {
      const t = await this.text(path);
      return t === undefined ? undefined : t.split(/\r?\n/);
    });
  }

  /** stat (symlinks followed); undefined when missing. */
  stat(path: string): Promise<GuestStats | undefined> {
    let p = this.stats.get(path);
    if (!p) {
      p = this.view.vfs.stat(path).catch((err: unknown) => {
        if (err instanceof FsError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
        throw err;
      });
      this.stats.set(path, p);
    }
    return p;
  }

  async lstatType(path: string): Promise<string | undefined> {
    return this.view.lstatType(path);
  }

  readlink(path: string): Promise<string | undefined> {
    return this.view.readlink(path);
  }

  list(dir: string): Promise<string[]> {
    return this.once(`list:${dir}`, () => this.view.list(dir));
  }

  entries(dir: string): Promise<{ name: string; type: string }[]> {
    return this.once(`entries:${dir}`, () => this.view.entries(dir));
  }

  /** Paths matching a pattern whose components may hold `*` and `?`, sorted as the shell (C locale) sorts them. */
  async glob(pattern: string): Promise<string[]> {
    const parts = pattern.split('/').filter((p) => p !== '');
    let cur = ['/'];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const next: string[] = [];
      for (const dir of cur) {
        const join = (n: string) => (dir === '/' ? `/${n}` : `${dir}/${n}`);
        if (!/[*?]/.test(part)) {
          next.push(join(part));
          continue;
        }
        for (const n of await this.list(dir)) {
          if (n.startsWith('.') && !part.startsWith('.')) continue;
          if (globMatch(part, n)) next.push(join(n));
        }
      }
      cur = next;
    }
    const out: string[] = [];
    for (const p of cur) if (await this.stat(p)) out.push(p);
    return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Computed once per guest. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.memo.set(key, p);
    }
    return p;
  }

  passwd(): Promise<PasswdEntry[] | undefined> {
    return this.once('passwd', async () => {
      const lines = await this.lines('/etc/passwd');
      if (!lines) return undefined;
      const out: PasswdEntry[] = [];
      lines.forEach((l, i) => {
        if (l.trim() === '' || l.startsWith('#')) return;
        const f = l.split(':');
        if (f.length < 7 || f[0]!.startsWith('+') || f[0]!.startsWith('-')) return;
        out.push({ name: f[0]!, password: f[1]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]!, line: i + 1 });
      });
      return out;
    });
  }

  group(): Promise<GroupEntry[] | undefined> {
    return this.once('group', async () => {
      const lines = await this.lines('/etc/group');
      if (!lines) return undefined;
      const out: GroupEntry[] = [];
      lines.forEach((l, i) => {
        if (l.trim() === '' || l.startsWith('#')) return;
        const f = l.split(':');
        if (f.length < 3) return;
        out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean), line: i + 1 });
      });
      return out;
    });
  }

  shadow(): Promise<ShadowEntry[] | undefined> {
    return this.once('shadow', async () => {
      const lines = await this.lines('/etc/shadow');
      if (!lines) return undefined;
      const out: ShadowEntry[] = [];
      lines.forEach((l, i) => {
        if (l.trim() === '' || l.startsWith('#')) return;
        const f = l.split(':');
        if (f.length < 2) return;
        out.push({ name: f[0]!, hash: f[1]!, line: i + 1 });
      });
      return out;
    });
  }

  /** Installed package names (the inspection engine's dpkg/rpm/apk/pacman readers); undefined when no database could be read. */
  packages(): Promise<Set<string> | undefined> {
    return this.once('packages', async () => {
      const apps = this.installed ? await this.installed() : await detectApplications(this.view.scope(), this.packageFormat);
      return apps ? new Set(apps.map((a) => a.name)) : undefined;
    });
  }

  /** fstab entries with their line numbers (each line through the inspection engine's fstab parser). */
  fstab(): Promise<(FstabEntry & { line: number })[] | undefined> {
    return this.once('fstab', async () => {
      const lines = await this.lines('/etc/fstab');
      if (!lines) return undefined;
      const out: (FstabEntry & { line: number })[] = [];
      lines.forEach((l, i) => {
        for (const e of parseFstab(l)) out.push({ ...e, line: i + 1 });
      });
      return out;
    });
  }

  /** uid → user name and gid → group name, for evidence and owner checks. */
  async names(): Promise<{ users: Map<number, string>; groups: Map<number, string> }> {
    return this.once('names', async () => {
      const users = new Map<number, string>();
      const groups = new Map<number, string>();
      for (const u of (await this.passwd()) ?? []) if (!users.has(u.uid)) users.set(u.uid, u.name);
      for (const g of (await this.group()) ?? []) if (!groups.has(g.gid)) groups.set(g.gid, g.name);
      return { users, groups };
    });
  }
}
