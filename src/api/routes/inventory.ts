import type { FastifyInstance } from 'fastify';
import {
  BOUND_OPS,
  MAX_INVENTORY_LIMIT,
  SOURCE_FILTERS,
  sourceBoundsProblem,
  type Inventory,
  type InventoryImage,
  type InventoryScope,
  type PackageHit,
  type SourceFilter,
  type VersionBounds,
} from '../../ports/inventory.js';
import { GuestkitError } from '../../protocol/errors.js';
import { ECOSYSTEMS, versionProblem } from '../../versions/index.js';
import type { Principal } from '../auth.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import type { InventoryImageView, InventoryPackageView } from '../inventory-views.js';
import { scopedNamespace } from './jobs.js';

type Query = { Querystring: Record<string, string | string[] | undefined> };

export const DEFAULT_INVENTORY_LIMIT = 1000;
/** Most package names one query may ask for. */
export const MAX_NAMES = 100;

const SCOPE_PARAMS = ['namespace', 'os', 'limit', ...BOUND_OPS.map((op) => `version_${op}`)];

/**
 * Fleet inventory (GET /inventory/*): what the latest inspection of each image found, from the
 * Inventory port. A non-admin reads its own namespace only; each item names the inspection job
 * it comes from.
 */
export function registerInventoryRoutes(app: FastifyInstance, api: ApiContext): void {
  const inventory = () => inventoryOf(api);

  app.get<Query>('/inventory/packages', async (req) => {
    const p = await api.caller(req, 'viewer', 'inventory.get');
    const q = inventoryParams(req.query, [...SCOPE_PARAMS, 'name', 'source', 'digest']);
    if (!q.name && !q.digest) throw badRequest('name is required: the package to look for (binary or source name; several: name=a,b), or digest=sha256:… for container images');
    const digests = q.digest !== undefined ? list(q.digest).map(digestOf) : [];
    const source = sourceOf(q, digests.length > 0);
    const names = [...new Set([...(q.name !== undefined ? list(q.name) : []), ...digests])];
    if (names.length === 0 || names.length > MAX_NAMES) throw badRequest(`name: 1 to ${MAX_NAMES} package names, got ${names.length}`);
    const page = await inventory().packages({ ...inventoryScope(q, p), names, source, versions: sourceBounds(q, source) });
    return { items: page.items.map(packageView), truncated: page.truncated, warnings: page.warnings };
  });

  app.get<Query>('/inventory/images', async (req) => {
    const p = await api.caller(req, 'viewer', 'inventory.get');
    const q = inventoryParams(req.query, [...SCOPE_PARAMS, 'package', 'source']);
    const source = sourceOf(q, false);
    const versions = sourceBounds(q, source);
    if (versions && !q.package) throw badRequest('version_* filters need package: the package whose version they bound');
    if (q.source !== undefined && !q.package) throw badRequest('source needs package: the software to look for in that source', { parameter: 'source' });
    const page = await inventory().images({ ...inventoryScope(q, p), ...(q.package ? { package: q.package } : {}), source, versions });
    return { items: page.items.map(imageView), truncated: page.truncated, warnings: page.warnings };
  });
}

const list = (v: string) => [...new Set(v.split(',').map((n) => n.trim()).filter(Boolean))];

/** sha256:<64 hex>, or the 64 hex digits alone. */
function digestOf(v: string): string {
  const m = /^(?:sha256:)?([0-9a-f]{64})$/.exec(v);
  if (!m) throw badRequest(`digest is a manifest digest or image id, sha256:<64 hex digits>, got ${JSON.stringify(v)}`, { parameter: 'digest', value: v });
  return `sha256:${m[1]}`;
}

/** source= (default package; a digest asks for container images unless source says any). */
function sourceOf(q: Record<string, string | undefined>, digest: boolean): SourceFilter {
  const s = q.source;
  if (s === undefined) return digest ? 'container' : 'package';
  if (!(SOURCE_FILTERS as readonly string[]).includes(s)) throw badRequest(`source is one of ${SOURCE_FILTERS.join(', ')}, got ${JSON.stringify(s)}`, { parameter: 'source', value: s });
  if (digest && s !== 'container' && s !== 'any') throw badRequest(`digest matches container images: source=container or any, not ${s}`, { parameter: 'source', value: s });
  return s as SourceFilter;
}

/** The version bounds, which only distro packages have an order for. */
function sourceBounds(q: Record<string, string | undefined>, source: SourceFilter): VersionBounds | undefined {
  const b = bounds(q);
  const problem = sourceBoundsProblem(source, b);
  if (problem) throw badRequest(problem, { parameter: 'source', value: source });
  return b;
}

/** The store's Inventory; a store that answers no inventory queries is UNAVAILABLE. */
export function inventoryOf(api: ApiContext): Inventory {
  if (api.deps.inventory) return api.deps.inventory;
  throw new GuestkitError('UNAVAILABLE', 'this server’s job store answers no inventory queries', { phase: 'execution', recoverable: false });
}

/** One value per known parameter; an unknown or repeated one is a 400, not silently ignored. */
export function inventoryParams(raw: Record<string, string | string[] | undefined>, known: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!known.includes(k)) throw badRequest(`unknown query parameter ${JSON.stringify(k)}; known: ${known.join(', ')}`, { parameter: k });
    if (Array.isArray(v)) throw badRequest(`${k} given ${v.length} times; give it once`, { parameter: k });
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** namespace (as the caller may see), os and limit. */
export function inventoryScope(q: Record<string, string | undefined>, p: Principal): InventoryScope {
  let limit = DEFAULT_INVENTORY_LIMIT;
  if (q.limit !== undefined) {
    limit = Number(q.limit);
    if (!/^[0-9]+$/.test(q.limit) || limit < 1 || limit > MAX_INVENTORY_LIMIT) throw badRequest(`limit must be an integer from 1 to ${MAX_INVENTORY_LIMIT}, got ${JSON.stringify(q.limit)}`);
  }
  if (q.os !== undefined && !/^[a-z0-9._-]+$/.test(q.os)) throw badRequest(`os is an os-release ID (debian, rocky, alpinelinux, …), got ${JSON.stringify(q.os)}`);
  const namespace = scopedNamespace(p, q.namespace);
  return { ...(namespace !== undefined ? { namespace } : {}), ...(q.os ? { os: q.os } : {}), limit };
}

/** version_lt … version_eq; a bound that is no version in any ecosystem is a 400. */
function bounds(q: Record<string, string | undefined>): VersionBounds | undefined {
  const out: VersionBounds = {};
  for (const op of BOUND_OPS) {
    const v = q[`version_${op}`];
    if (v === undefined) continue;
    const problems = ECOSYSTEMS.map((eco) => [eco, versionProblem(eco, v)] as const);
    if (problems.every(([, pr]) => pr)) {
      throw badRequest(`version_${op} ${JSON.stringify(v)} is not a version in any ecosystem: ${problems.map(([e, pr]) => `${e}: ${pr}`).join('; ')}`, {
        parameter: `version_${op}`,
        value: v,
      });
    }
    out[op] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

function imageView(i: InventoryImage | PackageHit['image']): InventoryImageView {
  return { image_path: i.image_path, namespace: i.namespace, job_id: i.job_id, finished_at: iso(i.finished_at), os: i.os, ...('packages' in i ? { packages: i.packages } : {}) };
}

function packageView(h: PackageHit): InventoryPackageView {
  const { image, ...pkg } = h;
  return { ...imageView(image), package: pkg };
}
