import { GuestkitError } from '../protocol/errors.js';
import {
  APP_SOURCES,
  boundWarnings,
  sourceBoundsProblem,
  withinBounds,
  type AppSource,
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

/** An entry of an OS's other_applications (snap, flatpak or container image), as stored: untrusted JSON. */
export interface OtherDoc {
  source?: unknown;
  name?: unknown;
  version?: unknown;
  arch?: unknown;
  engine?: unknown;
  repository?: unknown;
  tag?: unknown;
  digest?: unknown;
  image_id?: unknown;
  size?: unknown;
  store?: unknown;
  revision?: unknown;
  channel?: unknown;
  ref?: unknown;
  origin?: unknown;
  installation?: unknown;
}

export const INSPECT_OPERATION = 'guestkit.inspect';

/** The query asked with version bounds for a source without a version order: a validation error. */
export function checkSourceBounds(q: Pick<PackageQuery, 'source' | 'versions'>): void {
  const problem = sourceBoundsProblem(q.source, q.versions);
  if (problem) throw new GuestkitError('VALIDATION_ERROR', problem, { phase: 'validation', details: { parameter: 'source', value: q.source } });
}

/* Container references. Docker keeps Docker Hub names short (nginx, bitnami/redis), Podman and
   containerd in full (docker.io/library/nginx): both forms are one repository. */

/** A repository in its full form: nginx → docker.io/library/nginx, bitnami/redis → docker.io/bitnami/redis. */
export function fullRepository(repo: string): string {
  const slash = repo.indexOf('/');
  if (slash < 0) return `docker.io/library/${repo}`;
  const first = repo.slice(0, slash);
  if (first === 'index.docker.io') return fullRepository(`docker.io${repo.slice(slash)}`);
  if (first === 'docker.io') return repo.indexOf('/', slash + 1) < 0 ? `docker.io/library/${repo.slice(slash + 1)}` : repo;
  return first.includes('.') || first.includes(':') || first === 'localhost' ? repo : `docker.io/${repo}`;
}

/** The short form Docker stores: docker.io/library/nginx → nginx, docker.io/bitnami/redis → bitnami/redis. */
function familiarRepository(full: string): string {
  if (full.startsWith('docker.io/library/') && !full.slice(18).includes('/')) return full.slice(18);
  return full.startsWith('docker.io/') ? full.slice(10) : full;
}

interface RefTerm {
  repo?: string;
  tag?: string;
  digest?: string;
}

/** `repo`, `repo:tag`, `repo@sha256:…`, or a bare digest / image id (sha256:… or its 64 hex digits). */
function refTerm(name: string): RefTerm {
  const hex = /^(?:sha256:)?([0-9a-f]{64})$/.exec(name);
  if (hex) return { digest: `sha256:${hex[1]}` };
  const [ref, digest] = name.split('@', 2) as [string, string | undefined];
  const colon = ref.lastIndexOf(':');
  const tagged = colon > ref.lastIndexOf('/');
  return { repo: fullRepository(tagged ? ref.slice(0, colon) : ref), ...(tagged ? { tag: ref.slice(colon + 1) } : {}), ...(digest ? { digest } : {}) };
}

/**
 * The strings the database matches other_applications' name, repository, digest and image_id
 * against (a coarse filter: the names as given, and each container reference's repository in
 * both forms and its digest); otherMatches then decides exactly.
 */
export function otherKeys(names: string[]): string[] {
  const keys = new Set(names);
  for (const t of names.map(refTerm)) {
    if (t.repo) keys.add(t.repo).add(familiarRepository(t.repo));
    if (t.digest) keys.add(t.digest);
  }
  return [...keys];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Whether an other_applications entry of `source` is one the names ask for. */
export function otherMatches(source: AppSource, app: OtherDoc, names: string[]): boolean {
  if (source !== 'container') {
    const name = str(app.name);
    return name !== undefined && names.includes(name);
  }
  const repos = [str(app.name), str(app.repository)].filter((r): r is string => !!r).map(fullRepository);
  return names.map(refTerm).some(
    (t) =>
      (!t.repo || repos.includes(t.repo)) &&
      (!t.tag || str(app.tag) === t.tag) &&
      (!t.digest || str(app.digest) === t.digest || str(app.image_id) === t.digest),
  );
}

/** A hit's fields for an other_applications entry (those of its source). */
function otherFields(source: AppSource, app: OtherDoc): Omit<PackageHit, 'image' | 'source' | 'ecosystem'> {
  const pick = (keys: (keyof OtherDoc)[]) => Object.fromEntries(keys.flatMap((k) => (str(app[k]) !== undefined ? [[k, str(app[k])]] : [])));
  const size = num(app.size);
  return {
    name: str(app.name) ?? '',
    version: str(app.version) ?? '',
    arch: str(app.arch) ?? '',
    ...(source === 'container' ? { ...pick(['engine', 'repository', 'tag', 'digest', 'image_id']), ...(size !== undefined ? { size } : {}), ...pick(['store']) } : {}),
    ...(source === 'snap' ? pick(['revision', 'channel']) : {}),
    ...(source === 'flatpak' ? pick(['ref', 'origin', 'installation']) : {}),
  };
}

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
  rows: ({ latest: LatestRow; os: OsDoc | null } & ({ source?: 'package'; app: AppDoc } | { source: Exclude<AppSource, 'package'>; app: OtherDoc }))[],
  q: PackageQuery,
  orderedInDb: ReadonlySet<Ecosystem> = new Set(),
): InventoryPage<PackageHit> {
  const { skip, warnings } = boundWarnings(q.versions);
  const hits: PackageHit[] = [];
  for (const row of rows) {
    const { latest, os } = row;
    const image = imageView(latest, os);
    if (row.source !== undefined && row.source !== 'package') {
      if (otherMatches(row.source, row.app, q.names)) hits.push({ image, source: row.source, ...otherFields(row.source, row.app), ecosystem: null });
      continue;
    }
    const app = row.app;
    const eco = image.os?.ecosystem ?? null;
    const version = fullVersion(app);
    if (eco && skip.has(eco)) continue;
    if (!(eco && orderedInDb.has(eco)) && !withinBounds(eco, version, q.versions)) continue;
    hits.push({
      image,
      source: 'package',
      name: app.name,
      version,
      arch: app.arch ?? '',
      ...(app.source_package && app.source_package !== app.name ? { source_package: app.source_package } : {}),
      ecosystem: eco,
    });
  }
  const rank = (s: AppSource) => APP_SOURCES.indexOf(s);
  hits.sort(
    (a, b) =>
      cmp(a.image.image_path, b.image.image_path) ||
      cmp(a.image.namespace, b.image.namespace) ||
      rank(a.source) - rank(b.source) ||
      cmp(a.name, b.name) ||
      cmp(a.version, b.version) ||
      cmp(a.engine ?? '', b.engine ?? '') ||
      cmp(a.store ?? a.installation ?? '', b.store ?? b.installation ?? ''),
  );
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
