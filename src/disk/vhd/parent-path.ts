import { access } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';

/**
 * Where a parent named in a child image may be on this host. Windows paths are
 * turned into POSIX ones; an absolute path from another machine ("C:\VMs\base.vhd")
 * falls back to its file name beside the child, which is how copied chains are kept.
 */
export function parentCandidates(childPath: string, named: string): string[] {
  const dir = dirname(childPath);
  let p = named.trim().replace(/\0+$/, '');
  if (p.startsWith('file://')) p = decodeURI(p.slice('file://'.length).replace(/^localhost\//, '/'));
  const drive = /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
  p = p.replace(/\\/g, '/');
  const out: string[] = [];
  if (!drive) out.push(isAbsolute(p) ? p : resolve(dir, p));
  const base = basename(p);
  if (base) out.push(resolve(dir, base));
  return [...new Set(out)];
}

export async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      await access(p);
      return p;
    } catch {
      // try the next
    }
  }
  return undefined;
}
