import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/**
 * Starts the CLI. A command listed in BUNDLED runs from one CommonJS bundle of exactly what it
 * imports (scripts/build-cli.mjs), compiled through a V8 code cache kept per user: loading and
 * compiling a hundred ES modules is most of a cold `guestkit inspect`, and ES modules get no code
 * cache on Node 20. Everything else, and every command when GUESTKIT_NO_BUNDLE=1 or no bundle was
 * built, runs from the ES modules. Only node: built-ins are imported here.
 */
export const BUNDLED: Readonly<Record<string, string>> = {
  inspect: 'inspect',
  profile: 'profile',
  sbom: 'sbom',
  filesystems: 'files',
  ls: 'files',
  cat: 'files',
  vulns: 'vulns',
};

type Main = (argv: string[]) => Promise<void>;

const here = dirname(fileURLToPath(import.meta.url));

export async function launch(argv: string[]): Promise<void> {
  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  // the daemons keep their own handling: a closed log pipe must not end them with status 0
  if (name !== 'worker' && name !== 'serve') quietOnClosedPipe();
  const bundle = name !== undefined && Object.hasOwn(BUNDLED, name) && !process.env.GUESTKIT_NO_BUNDLE ? bundlePath(BUNDLED[name]!) : undefined;
  const main = bundle ? loadBundle(bundle) : undefined;
  await (main ?? ((await import('./main.js')) as { main: Main }).main)(argv);
}

/**
 * dist/src/cli/launch.js → dist/cli/NAME.cjs. Run from sources (tsx) there is none: a bundle there
 * would be older than the sources. GUESTKIT_CLI_BUNDLES names another folder (tests).
 */
function bundlePath(name: string): string | undefined {
  const dir = process.env.GUESTKIT_CLI_BUNDLES || (/[\\/]dist[\\/]src[\\/]cli$/.test(here) ? join(here, '..', '..', 'cli') : undefined);
  if (!dir) return undefined;
  const file = join(dir, `${name}.cjs`);
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `guestkit inspect --json IMAGE | head` closes the pipe under a pending write: the reader has
 * what it wanted, so the process ends quietly (status 0) instead of dying on an unhandled EPIPE.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

export type CodeCacheState = 'accepted' | 'rejected' | 'none' | 'off';

/**
 * The bundle file is one function expression, `(function (exports, require, module, __filename,
 * __dirname) {…})`, in ASCII (scripts/build-cli.mjs): read as latin1 it needs no decoding, and it is
 * compiled as it is, with no wrapped copy.
 */
function loadBundle(file: string): Main | undefined {
  const source = readFileSync(file, 'latin1');
  const cacheFile = codeCacheFile(file);
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // first run, or the cache was removed
    }
  }
  const script = new vm.Script(source, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const state: CodeCacheState = !cacheFile ? 'off' : !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  if (process.env.GUESTKIT_DEBUG_CODE_CACHE) process.stderr.write(`guestkit: code cache ${state}${cacheFile ? ` (${cacheFile})` : ''}\n`);
  // Written at exit, so the cache also holds the functions this run compiled (most of the next run's).
  if (cacheFile && state !== 'accepted') process.once('exit', () => writeCodeCache(cacheFile, script));
  const mod = { exports: {} as { main?: Main } };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeRequire, m: unknown, f: string, d: string) => void;
  // Packages the bundle leaves out (native addons) resolve from this package, wherever the bundle is.
  wrapper.call(mod.exports, mod.exports, createRequire(import.meta.url), mod, file, dirname(file));
  return mod.exports.main;
}

/**
 * The cache lives under the user's own cache folder (never a shared temporary folder: cached code
 * is run as it is). Its name carries the bundle's size, mtime and inode and Node's version: V8
 * itself checks only the source's length and its own flags.
 */
function codeCacheFile(bundle: string): string | undefined {
  const setting = process.env.GUESTKIT_CODE_CACHE;
  if (setting === '0' || setting === 'off') return undefined;
  let dir = setting;
  if (!dir) {
    const base = process.env.XDG_CACHE_HOME || (safeHome() ? join(safeHome()!, '.cache') : undefined);
    if (!base) return undefined;
    dir = join(base, 'guestkit', 'code-cache');
  }
  try {
    const st = statSync(bundle);
    const name = basename(bundle, '.cjs');
    return join(dir, `${name}-${st.size}-${Math.trunc(st.mtimeMs)}-${st.ino}-${process.version}-${process.arch}.bin`);
  } catch {
    return undefined;
  }
}

function safeHome(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined;
  }
}

function writeCodeCache(file: string, script: vm.Script): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
    renameSync(tmp, file);
    // Caches of earlier builds of this bundle are never read again.
    const prefix = basename(file).split('-')[0] + '-';
    for (const old of readdirSync(dirname(file))) {
      if (old.startsWith(prefix) && old.endsWith('.bin') && old !== basename(file)) rmSync(join(dirname(file), old), { force: true });
    }
  } catch {
    // a read-only or full home folder: the next run compiles again
  }
}
