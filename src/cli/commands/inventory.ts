import type { Command } from 'commander';
import type { InventoryAnswer, InventoryImageView, InventoryPackageView, VersionBoundsQuery } from '../../client/api-client.js';
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
const osName = (i: InventoryImageView | InventoryPackageView) => (i.os ? `${i.os.distro} ${i.os.version}` : 'no OS');

/** What an answer leaves out: warnings and truncation, on stderr so that the table stays clean. */
function notes(a: InventoryAnswer<unknown>): void {
  for (const w of a.warnings) process.stderr.write(`warning: ${w}\n`);
  if (a.truncated) process.stderr.write(`(more matched than ${a.items.length}: raise --limit)\n`);
}

async function packagesCmd(flags: ScopeFlags & { name: string }): Promise<number> {
  const a = await clientOf(flags).inventoryPackages({ name: flags.name, os: flags.os, namespace: flags.namespace, limit: limitOf(flags.limit), ...bounds(flags) });
  if (flags.json) {
    writeJson(a);
    return EXIT_OK;
  }
  const rows = [['IMAGE', 'OS', 'PACKAGE', 'VERSION', 'INSPECTED', 'JOB']];
  for (const i of a.items) rows.push([i.image_path, osName(i), i.package.name, i.package.version, when(i.finished_at), i.job_id]);
  process.stdout.write(a.items.length ? `${table(rows)}\n${a.items.length} package${a.items.length === 1 ? '' : 's'} on ${new Set(a.items.map((i) => `${i.namespace}\0${i.image_path}`)).size} images\n` : 'no image matches\n');
  notes(a);
  return EXIT_OK;
}

async function imagesCmd(flags: ScopeFlags & { package?: string }): Promise<number> {
  const v = bounds(flags);
  if (Object.values(v).some((x) => x !== undefined) && !flags.package) throw usage('--lt/--le/--gt/--ge/--eq bound the version of --package: name it');
  const a = await clientOf(flags).inventoryImages({ os: flags.os, package: flags.package, namespace: flags.namespace, limit: limitOf(flags.limit), ...v });
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
      .requiredOption('--name <package>', 'package name, binary or source (several: a,b)'),
  )
    .addHelpText('after', `
Versions compare in each image's own ecosystem order (dpkg, rpm, apk, pacman): epochs,
~ pre-releases and revisions count, so 1:3.0.1-1 is not below 3.0.7 and 3.0.7~rc1 is.

Examples:
  guestkit fleet packages --name openssl --lt 3.0.7
  guestkit fleet packages --name openssl --ge 3.0.0 --lt 3.0.7 --os debian --json`)
    .action(action(packagesCmd));

  scopeOptions(
    fleet
      .command('images')
      .description('Images by their latest inspection: OS, package count, the inspection job')
      .option('--package <name>', 'only images with this package (and, with --lt …, a version within bounds)'),
  )
    .addHelpText('after', `
Examples:
  guestkit fleet images --os rocky
  guestkit fleet images --package openssl --lt 3.0.7 --json`)
    .action(action(imagesCmd));
}
