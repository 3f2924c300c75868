import type { Command } from 'commander';
import type { InventoryAnswer, InventoryImageView, InventoryPackageView, InventorySource, VersionBoundsQuery } from '../../client/api-client.js';
import { table } from '../format.js';
import { action, EXIT_OK, usage, writeJson } from '../output.js';
import { clientOf, remoteOptions, when, type RemoteFlags } from './remote.js';

/* `guestkit fleet packages|images`: the server's fleet inventory (GET /inventory/*). */

interface ScopeFlags extends RemoteFlags, VersionBoundsQuery {
  os?: string;
  namespace?: string;
  limit?: string;
}

const limitOf = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw usage(`--limit must be a positive integer, got "${v}"`);
  return Number(v);
};

const bounds = (f: VersionBoundsQuery): VersionBoundsQuery => ({ lt: f.lt, le: f.le, gt: f.gt, ge: f.ge, eq: f.eq });
const hasBounds = (f: VersionBoundsQuery) => Object.values(bounds(f)).some((x) => x !== undefined);

const SOURCES: InventorySource[] = ['package', 'snap', 'flatpak', 'container', 'any'];

/** --source, checked here so that a typo is a usage error; version bounds need distro packages. */
function sourceOf(f: VersionBoundsQuery & { source?: string }, fallback: InventorySource = 'package'): InventorySource {
  const s = (f.source ?? fallback) as InventorySource;
  if (!SOURCES.includes(s)) throw usage(`--source is one of ${SOURCES.join(', ')}, got "${f.source}"`);
  if (s !== 'package' && hasBounds(f)) throw usage(`--lt/--le/--gt/--ge/--eq compare distro package versions: ${s === 'any' ? 'snaps, flatpaks and container images' : `${s}s`} have no version order (use --source package)`);
  return s;
}

type Hit = InventoryPackageView;
/** Table columns per source: what identifies the hit there. */
const COLUMNS: Record<InventorySource, [string, (i: Hit) => string][]> = {
  package: [['PACKAGE', (i) => i.package.name], ['VERSION', (i) => i.package.version], ['INSPECTED', (i) => when(i.finished_at)]],
  container: [['NAME', (i) => i.package.repository ?? i.package.name], ['TAG', (i) => i.package.tag ?? '-'], ['DIGEST', (i) => i.package.digest ?? i.package.image_id ?? '-'], ['ENGINE', (i) => i.package.engine ?? '-']],
  snap: [['SNAP', (i) => i.package.name], ['VERSION', (i) => i.package.version || '-'], ['REVISION', (i) => i.package.revision ?? '-'], ['CHANNEL', (i) => i.package.channel ?? '-']],
  flatpak: [['REF', (i) => i.package.ref ?? i.package.name], ['VERSION', (i) => i.package.version || '-'], ['ORIGIN', (i) => i.package.origin ?? '-'], ['INSTALLATION', (i) => i.package.installation ?? '-']],
  any: [
    ['SOURCE', (i) => i.package.source],
    ['NAME', (i) => i.package.name],
    ['VERSION', (i) => i.package.version || '-'],
    ['ID', (i) => i.package.digest ?? i.package.image_id ?? i.package.ref ?? i.package.revision ?? i.package.arch ?? '-'],
  ],
};
const NOUN: Record<InventorySource, [string, string]> = {
  package: ['package', 'packages'],
  container: ['container image', 'container images'],
  snap: ['snap', 'snaps'],
  flatpak: ['flatpak', 'flatpaks'],
  any: ['hit', 'hits'],
};
const osName = (i: InventoryImageView | InventoryPackageView) => (i.os ? `${i.os.distro} ${i.os.version}` : 'no OS');

/** What an answer leaves out: warnings and truncation, on stderr so that the table stays clean. */
function notes(a: InventoryAnswer<unknown>): void {
  for (const w of a.warnings) process.stderr.write(`warning: ${w}\n`);
  if (a.truncated) process.stderr.write(`(more matched than ${a.items.length}: raise --limit)\n`);
}

async function packagesCmd(flags: ScopeFlags & { name?: string; source?: string; digest?: string }): Promise<number> {
  if (!flags.name && !flags.digest) throw usage('--name or --digest: what to look for');
  const source = sourceOf(flags, flags.digest ? 'container' : 'package');
  if (flags.digest && source !== 'container' && source !== 'any') throw usage(`--digest matches container images: --source container or any, not ${source}`);
  const a = await clientOf(flags).inventoryPackages({
    ...(flags.name ? { name: flags.name } : {}),
    ...(flags.digest ? { digest: flags.digest } : {}),
    ...(flags.source !== undefined || flags.digest ? { source } : {}),
    os: flags.os,
    namespace: flags.namespace,
    limit: limitOf(flags.limit),
    ...bounds(flags),
  });
  if (flags.json) {
    writeJson(a);
    return EXIT_OK;
  }
  const cols = COLUMNS[source];
  const rows = [['IMAGE', 'OS', ...cols.map(([h]) => h), 'JOB']];
  for (const i of a.items) rows.push([i.image_path, osName(i), ...cols.map(([, f]) => f(i)), i.job_id]);
  const [one, many] = NOUN[source];
  const images = new Set(a.items.map((i) => `${i.namespace}\0${i.image_path}`)).size;
  process.stdout.write(a.items.length ? `${table(rows)}\n${a.items.length} ${a.items.length === 1 ? one : many} on ${images} image${images === 1 ? '' : 's'}\n` : 'no image matches\n');
  notes(a);
  return EXIT_OK;
}

async function imagesCmd(flags: ScopeFlags & { package?: string; source?: string }): Promise<number> {
  const v = bounds(flags);
  if (hasBounds(flags) && !flags.package) throw usage('--lt/--le/--gt/--ge/--eq bound the version of --package: name it');
  if (flags.source !== undefined && !flags.package) throw usage('--source says where --package is looked for: name it');
  const source = sourceOf(flags);
  const a = await clientOf(flags).inventoryImages({ os: flags.os, package: flags.package, ...(flags.source !== undefined ? { source } : {}), namespace: flags.namespace, limit: limitOf(flags.limit), ...v });
  if (flags.json) {
    writeJson(a);
    return EXIT_OK;
  }
  const rows = [['IMAGE', 'NAMESPACE', 'OS', 'PACKAGES', 'INSPECTED', 'JOB']];
  for (const i of a.items) rows.push([i.image_path, i.namespace, osName(i), String(i.packages ?? '-'), when(i.finished_at), i.job_id]);
  process.stdout.write(a.items.length ? `${table(rows)}\n${a.items.length} image${a.items.length === 1 ? '' : 's'}\n` : 'no image matches\n');
  notes(a);
  return EXIT_OK;
}

function scopeOptions(cmd: Command): Command {
  return remoteOptions(
    cmd
      .option('--lt <version>', 'installed version below this')
      .option('--le <version>', 'at most this')
      .option('--gt <version>', 'above this')
      .option('--ge <version>', 'at least this')
      .option('--eq <version>', 'exactly this')
      .option('--os <id>', 'only images whose OS has this os-release ID (debian, rocky, alpinelinux, …)')
      .option('--namespace <ns>', 'only this namespace (admins; others see their own)')
      .option('--limit <n>', 'at most this many rows (default 1000)'),
  );
}

export function registerInventoryCommands(program: Command): void {
  const fleet = program.command('fleet').description("Query the fleet inventory: the latest inspection of every image the server has inspected");
  scopeOptions(
    fleet
      .command('packages')
      .description('Images with a package installed, with its version and the inspection it comes from')
      .option('--name <package>', 'package name, binary or source (several: a,b); with --source: snap or flatpak name, container repository (repo:tag for one tag) or digest')
      .option('--source <source>', 'where to look: package (distro packages, default), snap, flatpak, container, any')
      .option('--digest <sha256>', 'container images with this manifest digest or image id (implies --source container)'),
  )
    .addHelpText('after', `
Versions compare in each image's own ecosystem order (dpkg, rpm, apk, pacman): epochs,
~ pre-releases and revisions count, so 1:3.0.1-1 is not below 3.0.7 and 3.0.7~rc1 is.
Snaps, flatpaks and container images have no version order: --lt … need --source package.
Docker Hub names match in both forms (nginx and docker.io/library/nginx).

Examples:
  guestkit fleet packages --name openssl --lt 3.0.7
  guestkit fleet packages --name openssl --ge 3.0.0 --lt 3.0.7 --os debian --json
  guestkit fleet packages --source container --name docker.io/library/nginx
  guestkit fleet packages --digest sha256:…
  guestkit fleet packages --source snap --name lxd`)
    .action(action(packagesCmd));

  scopeOptions(
    fleet
      .command('images')
      .description('Images by their latest inspection: OS, package count, the inspection job')
      .option('--package <name>', 'only images with this package (and, with --lt …, a version within bounds)')
      .option('--source <source>', 'where --package is looked for: package (default), snap, flatpak, container, any'),
  )
    .addHelpText('after', `
Examples:
  guestkit fleet images --os rocky
  guestkit fleet images --package docker.io/library/nginx --source container
  guestkit fleet images --package openssl --lt 3.0.7 --json`)
    .action(action(imagesCmd));
}
