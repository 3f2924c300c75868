import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { GuestView } from '../guest-view.js';
import type { Application, NixosGeneration } from '../types.js';
import { queryDatabase } from './sqlite.js';
import { compareText } from '../../util/compare.js';

/**
 * NixOS: software lives in the Nix store (/nix/store/<hash>-<name>-<version>), recorded in the
 * Nix database /nix/var/nix/db/db.sqlite (table ValidPaths); the system generations are the
 * profile links /nix/var/nix/profiles/system-N-link, `system` pointing at the current one; /etc
 * is mostly symlinks through /etc/static into the current generation's etc in the store (the
 * guest view follows them as the booted system does, absolute targets inside the guest).
 */

export const NIX_DB = '/nix/var/nix/db/db.sqlite';
const PROFILES = '/nix/var/nix/profiles';
const MAX_DB = 512 * 1024 * 1024;

/**
 * A store path's name split as Nix splits derivation names (DrvName): the version starts at the
 * first dash followed by a character that is not a letter ("bash-5.2-p15" → bash, 5.2-p15;
 * "perl5.38.2-URI-5.21" → perl5.38.2-URI, 5.21); without one, there is no version.
 */
export function splitStoreName(name: string): { name: string; version: string } {
  for (let i = 0; i + 1 < name.length; i++) {
    if (name[i] === '-' && !/[A-Za-z]/.test(name[i + 1]!)) return { name: name.slice(0, i), version: name.slice(i + 1) };
  }
  return { name, version: '' };
}

/** "/nix/store/<32-char hash>-<name>" → name, or undefined for anything else. */
export function storePathName(path: string): string | undefined {
  return /^\/nix\/store\/[0-9a-df-np-sv-z]{32}-([^/]+)$/.exec(path)?.[1];
}

/**
 * Packages from the Nix database: every valid store path whose name has a version (a package
 * build; plain files and trees such as `etc` or `system-path` have none), .drv files left out.
 * Read in memory through the same SQLite reader as rpmdb.sqlite.
 */
export async function nixApplications(g: GuestView): Promise<Application[] | undefined> {
  if (!(await g.isFile(NIX_DB))) return undefined;
  const bytes = await g.bytes(NIX_DB, MAX_DB);
  if (!bytes) return undefined;
  let rows: { path: unknown }[];
  try {
    rows = await queryDatabase<{ path: unknown }>(bytes, 'SELECT path FROM ValidPaths');
  } catch (err) {
    if (err instanceof GuestkitError) throw err;
    throw corrupt(`${NIX_DB}: ${(err as Error).message}`, { path: NIX_DB, sqlite_code: (err as { code?: unknown }).code });
  }
  const seen = new Set<string>();
  const apps: Application[] = [];
  for (const { path } of rows) {
    const base = typeof path === 'string' ? storePathName(path) : undefined;
    if (!base || base.endsWith('.drv')) continue;
    const { name, version } = splitStoreName(base);
    if (version === '' || seen.has(`${name}\0${version}`)) continue;
    seen.add(`${name}\0${version}`);
    apps.push({ name, epoch: 0, version, release: '', arch: '' });
  }
  return apps.sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version));
}

/** The system generations (system-N-link), oldest first; `current` is the one `system` points at. */
export async function nixosGenerations(g: GuestView): Promise<NixosGeneration[]> {
  const current = await g.readlink(`${PROFILES}/system`);
  const out: NixosGeneration[] = [];
  for (const link of await g.list(PROFILES)) {
    const m = /^system-(\d+)-link$/.exec(link);
    if (!m) continue;
    const target = await g.readlink(`${PROFILES}/${link}`);
    if (!target) continue;
    const fromFile = (await g.text(`${target}/nixos-version`))?.trim();
    const fromName = splitStoreName(storePathName(target) ?? '').version;
    const version = fromFile || fromName;
    out.push({ number: Number(m[1]), path: target, ...(version ? { version } : {}), current: current === link || current === `${PROFILES}/${link}` });
  }
  return out.sort((a, b) => a.number - b.number);
}

/** libosinfo's NixOS ids are nixos-<YY.MM> (nixos-23.11). */
export function nixosOsinfo(major: number, minor: number): string {
  return `nixos-${major}.${String(minor).padStart(2, '0')}`;
}
