import type pg from 'pg';
import { boundsOf, sourcesOf, type AppSource, type ImageQuery, type Inventory, type InventoryImage, type InventoryPage, type InventoryScope, type PackageHit, type PackageQuery } from '../../ports/inventory.js';
import { DEFAULT_NAMESPACE, type JobStore } from '../../ports/job-store.js';
import { ECOSYSTEM_OF_FORMAT, type Ecosystem } from '../../versions/index.js';
import { checkSourceBounds, imagePage, INSPECT_OPERATION, OS_FIELDS, otherKeys, packagePage, type AppDoc, type LatestRow, type OsDoc, type OtherDoc } from '../inventory-rows.js';
import { PostgresJobStore } from './pg-job-store.js';
import { PG_ORDERED_ECOSYSTEMS } from './version-functions.js';

const CMP: Record<string, string> = { lt: '< 0', le: '<= 0', gt: '> 0', ge: '>= 0', eq: '= 0' };
const ORDERED_IN_DB: ReadonlySet<Ecosystem> = new Set(PG_ORDERED_ECOSYSTEMS);

// package_format → ecosystem, from src/versions' own table (constants only: no user input)
const ECO_SQL = `CASE os.value ->> 'package_format' ${Object.entries(ECOSYSTEM_OF_FORMAT)
  .map(([f, e]) => `WHEN '${f}' THEN '${e}'`)
  .join(' ')} END`;
// the version as the package manager prints it (inventory-rows.ts fullVersion)
const VERSION_SQL = `(CASE WHEN jsonb_typeof(app.value -> 'epoch') = 'number' AND (app.value ->> 'epoch')::numeric > 0 THEN (app.value ->> 'epoch') || ':' ELSE '' END)
  || coalesce(app.value ->> 'version', '')
  || (CASE WHEN coalesce(app.value ->> 'release', '') <> '' THEN '-' || (app.value ->> 'release') ELSE '' END)`;
// the OS with only the fields the inventory reads (not its package list)
const OS_OBJECT = (expr: string) => `CASE WHEN jsonb_typeof(${expr}) = 'object' THEN jsonb_build_object(${OS_FIELDS.map((f) => `'${f}', ${expr} -> '${f}'`).join(', ')}) END`;
const ARRAY_AT = (expr: string) => `CASE WHEN jsonb_typeof(${expr}) = 'array' THEN ${expr} ELSE '[]'::jsonb END`;

class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** The newest completed inspection per namespace and image path, as a CTE named `latest`. */
function latestCte(scope: InventoryScope, p: Params): string {
  const ns = `coalesce(nullif(namespace, ''), '${DEFAULT_NAMESPACE}')`;
  return `WITH latest AS (
    SELECT DISTINCT ON (ns, image_path) job_id, image_path, ns, finished_at FROM (
      SELECT job_id, doc #>> '{payload,data,image,path}' AS image_path, ${ns} AS ns, finished_at
      FROM jobs WHERE operation = ${p.add(INSPECT_OPERATION)} AND status = 'completed'
      ${scope.namespace !== undefined ? `AND ${ns} = ${p.add(scope.namespace)}` : ''}
    ) x WHERE image_path IS NOT NULL
    ORDER BY ns, image_path, finished_at DESC, job_id DESC)`;
}

/**
 * The Inventory port over the PostgreSQL store: the latest inspection per image by DISTINCT ON,
 * packages and other_applications out of the JSONB results, and version bounds decided in the database by gk_vercmp
 * (schema v2) for every ecosystem it orders; src/versions applies them to any it does not.
 */
export class PgInventory implements Inventory {
  constructor(private readonly pool: pg.Pool) {}

  async packages(q: PackageQuery): Promise<InventoryPage<PackageHit>> {
    checkSourceBounds(q);
    if (q.names.length === 0) return { items: [], truncated: false, warnings: [] };
    const p = new Params();
    const cte = latestCte(q, p);
    const sources = sourcesOf(q.source);
    const others = sources.filter((s) => s !== 'package');
    const os = q.os !== undefined ? p.add(q.os) : undefined;
    const osWhere = os ? `AND os.value ->> 'distro' = ${os}` : '';
    const from = (list: string) => `FROM latest l JOIN results r ON r.job_id = l.job_id
        CROSS JOIN LATERAL jsonb_array_elements(${ARRAY_AT(`r.doc #> '{data,operating_systems}'`)}) os(value)
        CROSS JOIN LATERAL jsonb_array_elements(${ARRAY_AT(`os.value -> '${list}'`)}) app(value)`;
    const selects: string[] = [];
    if (sources.includes('package')) {
      const names = p.add(q.names);
      const bounds = boundsOf(q.versions).map(([op, v]) => `gk_vercmp(eco, ver, ${p.add(v)}) ${CMP[op]}`);
      const inDb = [...ORDERED_IN_DB].map((e) => `'${e}'`).join(', ');
      const versionWhere = bounds.length ? `WHERE eco IS NULL OR eco NOT IN (${inDb}) OR (${bounds.join(' AND ')})` : '';
      selects.push(`SELECT job_id, image_path, ns, finished_at, ${OS_OBJECT('os')} AS os, 'package' AS source, app FROM (
        SELECT l.job_id, l.image_path, l.ns, l.finished_at, os.value AS os, app.value AS app, ${ECO_SQL} AS eco, ${VERSION_SQL} AS ver
        ${from('applications')}
        WHERE (app.value ->> 'name' = ANY(${names}::text[]) OR app.value ->> 'source_package' = ANY(${names}::text[])) ${osWhere}
      ) hits ${versionWhere}`);
    }
    if (others.length) {
      // name, repository, digest or image id among the keys; otherMatches decides tags and forms
      const keys = p.add(otherKeys(q.names));
      selects.push(`SELECT l.job_id, l.image_path, l.ns, l.finished_at, ${OS_OBJECT('os.value')} AS os, app.value ->> 'source' AS source, app.value AS app
        ${from('other_applications')}
        WHERE jsonb_typeof(app.value) = 'object' AND app.value ->> 'source' = ANY(${p.add(others)}::text[])
          AND (${['name', 'repository', 'digest', 'image_id'].map((f) => `app.value ->> '${f}' = ANY(${keys}::text[])`).join(' OR ')}) ${osWhere}`);
    }
    const { rows } = await this.pool.query<LatestRow & { os: OsDoc; source: AppSource; app: AppDoc & OtherDoc }>(`${cte}\n${selects.join('\nUNION ALL\n')}`, p.values);
    return packagePage(
      rows.map((r) => (r.source === 'package' ? { latest: r, os: r.os, source: 'package' as const, app: r.app as AppDoc } : { latest: r, os: r.os, source: r.source, app: r.app as OtherDoc })),
      q,
      ORDERED_IN_DB,
    );
  }

  async images(q: ImageQuery): Promise<InventoryPage<InventoryImage>> {
    checkSourceBounds(q);
    const p = new Params();
    const cte = latestCte(q, p);
    const osWhere = q.os !== undefined ? `WHERE r.doc #>> '{data,operating_systems,0,distro}' = ${p.add(q.os)}` : '';
    const { rows } = await this.pool.query<LatestRow & { os: OsDoc | null; packages: number }>(
      `${cte}
      SELECT l.job_id, l.image_path, l.ns, l.finished_at, ${OS_OBJECT(`(r.doc #> '{data,operating_systems,0}')`)} AS os,
             coalesce(jsonb_array_length(${ARRAY_AT(`r.doc #> '{data,operating_systems,0,applications}'`)}), 0) AS packages
      FROM latest l JOIN results r ON r.job_id = l.job_id ${osWhere}`,
      p.values,
    );
    const withPackage = q.package !== undefined ? await this.packages({ ...q, names: [q.package], limit: Infinity }) : undefined;
    return imagePage(rows.map((r) => ({ latest: r, os: r.os, packages: Number(r.packages) })), q, withPackage);
  }
}

/** The inventory of a PostgreSQL job store (undefined for any other store). */
export function pgInventoryOf(store: JobStore): PgInventory | undefined {
  return store instanceof PostgresJobStore ? new PgInventory(store.pool) : undefined;
}
