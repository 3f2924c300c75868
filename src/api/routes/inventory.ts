import type { FastifyInstance } from 'fastify';
import {
  BOUND_OPS,
  MAX_INVENTORY_LIMIT,
  type Inventory,
  type InventoryImage,
  type InventoryScope,
  type PackageHit,
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
    const q = inventoryParams(req.query, [...SCOPE_PARAMS, 'name']);
    if (!q.name) throw badRequest('name is required: the package to look for (binary or source name; several: name=a,b)');
    const names = [...new Set(q.name.split(',').map((n) => n.trim()).filter(Boolean))];
    if (names.length === 0 || names.length > MAX_NAMES) throw badRequest(`name: 1 to ${MAX_NAMES} package names, got ${names.length}`);
    const page = await inventory().packages({ ...inventoryScope(q, p), names, versions: bounds(q) });
    return { items: page.items.map(packageView), truncated: page.truncated, warnings: page.warnings };
  });

  app.get<Query>('/inventory/images', async (req) => {
    const p = await api.caller(req, 'viewer', 'inventory.get');
    const q = inventoryParams(req.query, [...SCOPE_PARAMS, 'package']);
    const versions = bounds(q);
    if (versions && !q.package) throw badRequest('version_* filters need package: the package whose version they bound');
    const page = await inventory().images({ ...inventoryScope(q, p), ...(q.package ? { package: q.package } : {}), versions });
    return { items: page.items.map(imageView), truncated: page.truncated, warnings: page.warnings };
  });
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
  return {
    ...imageView(h.image),
    package: { name: h.name, version: h.version, arch: h.arch, ecosystem: h.ecosystem, ...(h.source_package ? { source_package: h.source_package } : {}) },
  };
}
