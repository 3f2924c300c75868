import { compareVersions, ECOSYSTEMS, versionProblem, type Ecosystem } from '../versions/index.js';

/**
 * Fleet inventory: what the newest completed inspection of each image found (packages, OS),
 * read from the stored inspection results. A port of its own, like JobStats: the SQLite and
 * PostgreSQL adapters answer it from the store's own database.
 *
 * "Latest" is per namespace and image path: the completed guestkit.inspect job that finished
 * last (ties: the greater job id). Every answer names that job, so a hit can be traced to
 * the report it comes from.
 *
 * Advisory queries (which images an advisory affects) reuse `packages`: the advisory's package
 * names in, each hit's ecosystem, version and source package out, ranges matched on those.
 */
export interface Inventory {
  /**
   * Installed packages named `names`, within the version bounds, one row per image and package; with
   * `source`, snaps, flatpaks or container images (other_applications) instead or as well.
   */
  packages(q: PackageQuery): Promise<InventoryPage<PackageHit>>;
  /** Images (their latest inspection), optionally only those with a package (within bounds). */
  images(q: ImageQuery): Promise<InventoryPage<InventoryImage>>;
}

export interface InventoryScope {
  /** `default` also covers jobs that name no namespace; unset: every namespace (admins). */
  namespace?: string;
  /** os-release ID of the image's first OS (debian, rocky, alpinelinux, …). */
  os?: string;
  /** At most this many items (the answer says when more matched). */
  limit: number;
}

/** Version bounds, each compared in the ecosystem of the image's package format. */
export interface VersionBounds {
  lt?: string;
  le?: string;
  gt?: string;
  ge?: string;
  eq?: string;
}

/** Where installed software comes from: the package manager, or beside it (inspection's other_applications). */
export const APP_SOURCES = ['package', 'snap', 'flatpak', 'container'] as const;
export type AppSource = (typeof APP_SOURCES)[number];
/** What a query searches: one source, or `any` of them. */
export const SOURCE_FILTERS = [...APP_SOURCES, 'any'] as const;
export type SourceFilter = (typeof SOURCE_FILTERS)[number];

export interface PackageQuery extends InventoryScope {
  /**
   * Distro packages: binary names (exact), a source package name matching its binaries too.
   * Snaps and flatpaks: their name. Containers: the repository (Docker Hub's short and full forms
   * alike, `repo:tag` narrowing to a tag), or a digest or image id (sha256:…).
   */
  names: string[];
  /** Default `package` (distro packages only). */
  source?: SourceFilter;
  /** Distro packages only: the other sources have no version order (sourceBoundsProblem). */
  versions?: VersionBounds;
}

export interface ImageQuery extends InventoryScope {
  /** Only images with this package installed (as PackageQuery's names, in `source`). */
  package?: string;
  source?: SourceFilter;
  versions?: VersionBounds;
}

export interface InventoryPage<T> {
  items: T[];
  /** More matched than `limit`. */
  truncated: boolean;
  /** What the answer leaves out and why (a bound that is no version in some ecosystem). */
  warnings: string[];
}

/** An image as its latest inspection saw it. */
export interface InventoryImage {
  image_path: string;
  namespace: string;
  /** The inspection job the facts come from, and when it finished (ms since epoch). */
  job_id: string;
  finished_at: number;
  os: {
    distro: string;
    name: string;
    version: string;
    arch?: string;
    hostname?: string;
    package_format?: string;
    ecosystem?: Ecosystem;
  } | null;
  packages: number;
}

export interface PackageHit {
  image: Omit<InventoryImage, 'packages'>;
  source: AppSource;
  name: string;
  /** As the package manager prints it: `[epoch:]version[-release]`; a snap's or flatpak's version, a container's tag; '' when none. */
  version: string;
  arch: string;
  source_package?: string;
  /** Distro packages only (null for the other sources: no version order). */
  ecosystem: Ecosystem | null;
  /** container: what identifies the image on the node. */
  engine?: string;
  repository?: string;
  tag?: string;
  digest?: string;
  image_id?: string;
  size?: number;
  /** container: the store's root in the guest. */
  store?: string;
  /** snap */
  revision?: string;
  channel?: string;
  /** flatpak */
  ref?: string;
  origin?: string;
  installation?: string;
}

export const MAX_INVENTORY_LIMIT = 10_000;

/** The sources a filter covers. */
export function sourcesOf(f: SourceFilter | undefined): AppSource[] {
  return f === undefined ? ['package'] : f === 'any' ? [...APP_SOURCES] : [f];
}

/** Version bounds with a source other than distro packages: a usage error, not an empty answer. */
export function sourceBoundsProblem(source: SourceFilter | undefined, b: VersionBounds | undefined): string | undefined {
  if (source === undefined || source === 'package' || boundsOf(b).length === 0) return undefined;
  return `version bounds apply to distro packages only (source=package): ${source === 'any' ? 'snaps, flatpaks and container images' : `${source}s`} have no version order`;
}

const OPS: Record<keyof VersionBounds, (c: number) => boolean> = {
  lt: (c) => c < 0,
  le: (c) => c <= 0,
  gt: (c) => c > 0,
  ge: (c) => c >= 0,
  eq: (c) => c === 0,
};

export const BOUND_OPS = Object.keys(OPS) as (keyof VersionBounds)[];

/** The bounds set, as [op, version] pairs. */
export function boundsOf(b: VersionBounds | undefined): [keyof VersionBounds, string][] {
  return b ? BOUND_OPS.flatMap((op) => (b[op] !== undefined ? [[op, b[op]!] as [keyof VersionBounds, string]] : [])) : [];
}

/** Whether `version` (of ecosystem `eco`) is within every bound; no ecosystem, no order: false. */
export function withinBounds(eco: Ecosystem | null | undefined, version: string, b: VersionBounds | undefined): boolean {
  const set = boundsOf(b);
  if (set.length === 0) return true;
  if (!eco) return false;
  return set.every(([op, v]) => OPS[op](compareVersions(eco, version, v)));
}

/**
 * Ecosystems in which some bound is no version: their packages cannot be ordered against it,
 * so they are left out, and the answer says so.
 */
export function boundWarnings(b: VersionBounds | undefined): { skip: Set<Ecosystem>; warnings: string[] } {
  const skip = new Set<Ecosystem>();
  const warnings: string[] = [];
  for (const [op, v] of boundsOf(b)) {
    for (const eco of ECOSYSTEMS) {
      const problem = versionProblem(eco, v);
      if (problem && !skip.has(eco)) {
        skip.add(eco);
        warnings.push(`version_${op} ${JSON.stringify(v)} is not a valid ${eco} version (${problem}): images with ${eco} packages are left out`);
      }
    }
  }
  return { skip, warnings };
}
