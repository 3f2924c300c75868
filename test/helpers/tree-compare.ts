import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vfs } from '../../src/fs/vfs.js';

export interface CompareOptions {
  /** Compare permission bits (not on FAT). */
  modes?: boolean;
  /** Compare uid/gid (images built by root from a root-owned tree keep them). */
  owners?: boolean;
  /** Compare link targets and hard-link counts (not on FAT). */
  links?: boolean;
  /** Compare mtimes to the second. */
  mtimes?: boolean;
  /** Lower-case names before comparing (case-insensitive filesystems). */
  nameCase?: 'exact' | 'insensitive';
}

export interface CompareReport {
  files: number;
  dirs: number;
  links: number;
  mismatches: string[];
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Walks the host source tree `srcDir` and checks that the guest tree at
 * `guestPath` in `vfs` matches it: names, types, sizes, modes, link targets
 * and sha256 of every file's contents.
 */
export async function compareTree(srcDir: string, vfs: Vfs, guestPath = '/', opts: CompareOptions = {}): Promise<CompareReport> {
  const o = { modes: true, owners: false, links: true, mtimes: false, nameCase: 'exact', ...opts };
  const rep: CompareReport = { files: 0, dirs: 0, links: 0, mismatches: [] };
  const norm = (n: string) => (o.nameCase === 'insensitive' ? n.toLowerCase() : n).normalize('NFC');
  const bad = (p: string, what: string) => {
    if (rep.mismatches.length < 200) rep.mismatches.push(`${p}: ${what}`);
  };

  async function walk(host: string, guest: string): Promise<void> {
    const names = (await readdir(host)).sort();
    let gnames: string[];
    try {
      gnames = await vfs.readdirNames(guest);
    } catch (err) {
      bad(guest, `readdir failed: ${(err as Error).message}`);
      return;
    }
    const want = names.map(norm).sort();
    const got = gnames.map(norm).sort();
    if (want.join('\0') !== got.join('\0')) {
      const missing = want.filter((n) => !got.includes(n)).slice(0, 5);
      const extra = got.filter((n) => !want.includes(n)).slice(0, 5);
      bad(guest, `entries differ: missing [${missing.join(', ')}] extra [${extra.join(', ')}] (${want.length} vs ${got.length})`);
    }
    for (const name of names) {
      const hp = join(host, name);
      const gp = guest === '/' ? `/${name}` : `${guest}/${name}`;
      const hs = await lstat(hp);
      let gs;
      try {
        gs = await vfs.lstat(gp);
      } catch (err) {
        bad(gp, `lstat failed: ${(err as Error).message}`);
        continue;
      }
      if (o.modes && (hs.mode & 0o7777) !== (gs.mode & 0o7777)) {
        bad(gp, `mode ${(gs.mode & 0o7777).toString(8)} != ${(hs.mode & 0o7777).toString(8)}`);
      }
      if (o.owners && (hs.uid !== gs.uid || hs.gid !== gs.gid)) bad(gp, `owner ${gs.uid}:${gs.gid} != ${hs.uid}:${hs.gid}`);
      if (o.mtimes && Math.floor(hs.mtimeMs / 1000) !== Math.floor(gs.mtimeMs / 1000)) {
        bad(gp, `mtime ${gs.mtimeMs} != ${hs.mtimeMs}`);
      }
      if (hs.isSymbolicLink()) {
        rep.links++;
        if (!gs.isSymbolicLink()) bad(gp, `expected a symlink, got ${gs.type}`);
        else if ((await vfs.readlink(gp)) !== (await readlink(hp))) bad(gp, 'link target differs');
      } else if (hs.isDirectory()) {
        rep.dirs++;
        if (!gs.isDirectory()) bad(gp, `expected a directory, got ${gs.type}`);
        else await walk(hp, gp);
      } else if (hs.isFile()) {
        rep.files++;
        if (!gs.isFile()) bad(gp, `expected a file, got ${gs.type}`);
        else if (gs.size !== hs.size) bad(gp, `size ${gs.size} != ${hs.size}`);
        else {
          if (o.links && hs.nlink !== gs.nlink) bad(gp, `nlink ${gs.nlink} != ${hs.nlink}`);
          const data = await vfs.readFile(gp, { maxBytes: 1 << 30 });
          if (sha(data) !== sha(await readFile(hp))) bad(gp, 'contents differ (sha256)');
        }
      }
    }
  }
  await walk(srcDir, guestPath);
  return rep;
}
