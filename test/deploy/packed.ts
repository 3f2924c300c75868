import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../helpers/fixtures.js';

const run = promisify(execFile);

export interface PackedFile {
  path: string;
  size: number;
}

export interface Packed {
  /** The .tgz `npm pack` wrote. */
  tarball: string;
  /** What the tarball holds (npm pack --json), paths relative to the package root. */
  files: PackedFile[];
  /** Bytes of the .tgz and of its unpacked contents. */
  size: number;
  unpackedSize: number;
}

/**
 * `npm pack` of this repository as it is. `npm test` has built dist/ already, so the prepack
 * build is skipped (--ignore-scripts) instead of rebuilding the tree other tests are running from.
 */
export async function packRepo(dest: string): Promise<Packed> {
  mkdirSync(dest, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: REPO, maxBuffer: 64 << 20 });
  const [info] = JSON.parse(stdout) as { filename: string; size: number; unpackedSize: number; files: PackedFile[] }[];
  if (!info) throw new Error(`npm pack printed no package: ${stdout.slice(0, 200)}`);
  return { tarball: join(dest, info.filename), files: info.files, size: info.size, unpackedSize: info.unpackedSize };
}

/** The install options the Dockerfile's build stage uses, as npm arguments (production dependencies only). */
export const INSTALL_ARGS = ['--omit=dev', '--no-audit', '--no-fund'] as const;

/**
 * Installs a packed tarball into `prefix` (an empty folder; `npm install --prefix`, as the
 * Dockerfile does, or `npm install -g --prefix` for a global install) from the registry through
 * npm's local cache (--prefer-offline).
 *
 * One step differs from a real install, on purpose: install scripts are skipped and better-sqlite3's
 * compiled addon is copied from this repository's own node_modules (same Node, same platform).
 * Without a reachable prebuilt binary, better-sqlite3's install script compiles SQLite from source
 * (minutes on two cores); that step is better-sqlite3's, and the README says what it needs.
 */
export async function installTarball(tarball: string, prefix: string, opts: { global?: boolean } = {}): Promise<string> {
  mkdirSync(prefix, { recursive: true });
  if (!opts.global && !existsSync(join(prefix, 'package.json'))) writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
  const args = ['install', ...(opts.global ? ['--global'] : []), '--prefix', prefix, ...INSTALL_ARGS, '--prefer-offline', '--ignore-scripts', tarball];
  await run('npm', args, { cwd: prefix, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
  const modules = opts.global ? join(prefix, 'lib', 'node_modules', 'guestkit', 'node_modules') : join(prefix, 'node_modules');
  const sqlite = join(modules, 'better-sqlite3');
  if (!existsSync(sqlite)) throw new Error(`better-sqlite3 was not installed under ${modules}`);
  const addon = join('build', 'Release', 'better_sqlite3.node');
  mkdirSync(join(sqlite, 'build', 'Release'), { recursive: true });
  copyFileSync(join(REPO, 'node_modules', 'better-sqlite3', addon), join(sqlite, addon));
  return modules;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
