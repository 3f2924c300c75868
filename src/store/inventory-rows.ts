import {
  boundWarnings,
  withinBounds,
  type ImageQuery,
  type InventoryImage,
  type InventoryPage,
  type PackageHit,
  type PackageQuery,
} from '../ports/inventory.js';
import { ecosystemOfPackageFormat, type Ecosystem } from '../versions/index.js';

/* What the SQLite and PostgreSQL inventory adapters share: rows → answers, and the version bounds
   for the ecosystems a database does not order itself. */

/** The latest inspection of one image, as both adapters select it. */
export interface LatestRow {
  job_id: string;
  image_path: string;
  ns: string;
  finished_at: number | string;
}

/** The fields of an inspected OS the inventory reads (the adapters select only these, not its package list). */
export const OS_FIELDS = ['distro', 'name', 'pretty_name', 'product_name', 'major_version', 'minor_version', 'arch', 'hostname', 'package_format'] as const;

export interface OsDoc {
  distro?: string;
  name?: string;
  pretty_name?: string;
  product_name?: string;
  major_version?: number;
  minor_version?: number;
  arch?: string;
  hostname?: string;
  package_format?: string;
}

export interface AppDoc {
  name: string;
  epoch?: number;
  version?: string;
  release?: string;
  arch?: string;
  source_package?: string;
}

export const INSPECT_OPERATION = 'guestkit.inspect';

/** The version as its package manager prints it (src/compare's formatVersion, on untrusted JSON). */
export function fullVersion(a: AppDoc): string {
  const epoch = typeof a.epoch === 'number' && a.epoch > 0 ? `${a.epoch}:` : '';
  return `${epoch}${a.version ?? ''}${a.release ? `-${a.release}` : ''}`;
}

export function osView(os: OsDoc | null | undefined): InventoryImage['os'] {
  if (!os || typeof os !== 'object') return null;
  const eco = os.package_format ? ecosystemOfPackageFormat(os.package_format) : undefined;
  return {
    distro: os.distro ?? 'unknown',
    name: os.pretty_name || os.product_name || os.distro || 'unknown',
    version: `${os.major_version ?? 0}.${os.minor_version ?? 0}`,
    ...(os.arch ? { arch: os.arch } : {}),
    ...(os.hostname ? { hostname: os.hostname } : {}),
    ...(os.package_format ? { package_format: os.package_format } : {}),
    ...(eco ? { ecosystem: eco } : {}),
  };
}

export function imageView(row: LatestRow, os: OsDoc | null | undefined): Omit<InventoryImage, 'packages'> {
  return { image_path: row.image_path, namespace: row.ns, job_id: row.job_id, finished_at: Number(row.finished_at), os: osView(os) };
}

/**
 * Package rows (one per image, OS and package) → the page: bounds applied to the ecosystems the
 * database did not filter (`orderedInDb`), ecosystems a bound is no version of left out with a warning.
 */
export function packagePage(
  rows: { latest: LatestRow; os: OsDoc | null; app: AppDoc }[],
  q: PackageQuery,
  orderedInDb: ReadonlySet<Ecosystem> = new Set(),
): InventoryPage<PackageHit> {
  const { skip, warnings } = boundWarnings(q.versions);
  const hits: PackageHit[] = [];
  for (const { latest, os, app } of rows) {
    const image = imageView(latest, os);
    const eco = image.os?.ecosystem ?? null;
    const version = fullVersion(app);
    if (eco && skip.has(eco)) continue;
    if (!(eco && orderedInDb.has(eco)) && !withinBounds(eco, version, q.versions)) continue;
    hits.push({
      image,
      name: app.name,
      version,
      arch: app.arch ?? '',
      ...(app.source_package && app.source_package !== app.name ? { source_package: app.source_package } : {}),
      ecosystem: eco,
    });
  }
  hits.sort((a, b) => cmp(a.image.image_path, b.image.image_path) || cmp(a.image.namespace, b.image.namespace) || cmp(a.name, b.name) || cmp(a.version, b.version));
  return { items: hits.slice(0, q.limit), truncated: hits.length > q.limit, warnings };
}

/** Image rows → the page; with a package asked for, only the images among `withPackage` (job ids). */
export function imagePage(rows: { latest: LatestRow; os: OsDoc | null; packages: number }[], q: ImageQuery, withPackage?: InventoryPage<PackageHit>): InventoryPage<InventoryImage> {
  const jobs = withPackage ? new Set(withPackage.items.map((h) => h.image.job_id)) : undefined;
  const items = rows
    .filter((r) => !jobs || jobs.has(r.latest.job_id))
    .map((r) => ({ ...imageView(r.latest, r.os), packages: r.packages }))
    .sort((a, b) => cmp(a.image_path, b.image_path) || cmp(a.namespace, b.namespace));
  return { items: items.slice(0, q.limit), truncated: items.length > q.limit, warnings: withPackage?.warnings ?? [] };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
