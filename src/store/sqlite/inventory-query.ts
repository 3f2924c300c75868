import type Database from 'better-sqlite3';
import { DEFAULT_NAMESPACE } from '../../ports/job-store.js';
import { sourcesOf, type AppSource, type ImageQuery, type Inventory, type InventoryImage, type InventoryPage, type InventoryScope, type PackageHit, type PackageQuery } from '../../ports/inventory.js';
import { checkSourceBounds, imagePage, INSPECT_OPERATION, OS_FIELDS, otherKeys, packagePage, type AppDoc, type LatestRow, type OsDoc, type OtherDoc } from '../inventory-rows.js';

const NS = `coalesce(nullif(namespace, ''), '${DEFAULT_NAMESPACE}')`;
const IMAGE = `json_extract(doc, '$.payload.data.image.path')`;

/** The OS object at `path` of `json`, with only the fields the inventory reads. */
const osObject = (json: string, path: string) => `json_object(${OS_FIELDS.map((f) => `'${f}', json_extract(${json}, '${path}.${f}')`).join(', ')})`;

/** The newest completed inspection per namespace and image path, as a CTE named `latest`. */
function latestCte(scope: InventoryScope): { sql: string; params: unknown[] } {
  const params: unknown[] = [INSPECT_OPERATION];
  let ns = '';
  if (scope.namespace !== undefined) {
    ns = `AND ${NS} = ?`;
    params.push(scope.namespace);
  }
  const sql = `WITH latest AS (
    SELECT job_id, image_path, ns, finished_at FROM (
      SELECT job_id, ${IMAGE} AS image_path, ${NS} AS ns, finished_at,
             row_number() OVER (PARTITION BY ${NS}, ${IMAGE} ORDER BY finished_at DESC, job_id DESC) AS rn
      FROM jobs WHERE operation = ? AND status = 'completed' ${ns}
    ) WHERE rn = 1 AND image_path IS NOT NULL)`;
  return { sql, params };
}

/**
 * The Inventory port over the embedded store's database: the latest inspection per image by a
 * window over the jobs table, packages and other_applications read out of the stored result JSON (json_each); version
 * bounds compared in JS with src/versions, per image ecosystem.
 */
export class SqliteInventory implements Inventory {
  constructor(private readonly db: Database.Database) {}

  async packages(q: PackageQuery): Promise<InventoryPage<PackageHit>> {
    checkSourceBounds(q);
    if (q.names.length === 0) return { items: [], truncated: false, warnings: [] };
    const latest = latestCte(q);
    const sources = sourcesOf(q.source);
    const others = sources.filter((s) => s !== 'package');
    const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');
    const params: unknown[] = [...latest.params];
    const osWhere = (): string => {
      if (q.os === undefined) return '';
      params.push(q.os);
      return `AND json_extract(os.value, '$.distro') = ?`;
    };
    const selects: string[] = [];
    const from = (list: string) => `FROM latest l JOIN results r ON r.job_id = l.job_id,
             json_each(r.doc, '$.data.operating_systems') os,
             json_each(os.value, '${list}') app`;
    if (sources.includes('package')) {
      params.push(...q.names, ...q.names);
      selects.push(`SELECT l.job_id, l.image_path, l.ns, l.finished_at, ${osObject('os.value', '$')} AS os, 'package' AS source, app.value AS app
        ${from('$.applications')}
        WHERE (json_extract(app.value, '$.name') IN (${marks(q.names.length)}) OR json_extract(app.value, '$.source_package') IN (${marks(q.names.length)})) ${osWhere()}`);
    }
    if (others.length) {
      // name, repository, digest or image id among the keys; otherMatches decides tags and forms
      const keys = otherKeys(q.names);
      const field = (f: string) => `json_extract(app.value, '$.${f}') IN (${marks(keys.length)})`;
      params.push(...others, ...keys, ...keys, ...keys, ...keys);
      selects.push(`SELECT l.job_id, l.image_path, l.ns, l.finished_at, ${osObject('os.value', '$')} AS os, json_extract(app.value, '$.source') AS source, app.value AS app
        ${from('$.other_applications')}
        WHERE json_extract(app.value, '$.source') IN (${marks(others.length)})
          AND (${['name', 'repository', 'digest', 'image_id'].map(field).join(' OR ')}) ${osWhere()}`);
    }
    const rows = this.db.prepare(`${latest.sql}\n${selects.join('\nUNION ALL\n')}`).all(...params) as (LatestRow & { os: string; source: AppSource; app: string })[];
    return packagePage(
      rows.map((r) =>
        r.source === 'package'
          ? { latest: r, os: JSON.parse(r.os) as OsDoc, source: 'package' as const, app: JSON.parse(r.app) as AppDoc }
          : { latest: r, os: JSON.parse(r.os) as OsDoc, source: r.source, app: JSON.parse(r.app) as OtherDoc },
      ),
      q,
    );
  }

  async images(q: ImageQuery): Promise<InventoryPage<InventoryImage>> {
    checkSourceBounds(q);
    const latest = latestCte(q);
    const params = [...latest.params];
    let osWhere = '';
    if (q.os !== undefined) {
      osWhere = `WHERE json_extract(r.doc, '$.data.operating_systems[0].distro') = ?`;
      params.push(q.os);
    }
    const rows = this.db
      .prepare(
        `${latest.sql}
        SELECT l.job_id, l.image_path, l.ns, l.finished_at,
               CASE WHEN json_type(r.doc, '$.data.operating_systems[0]') = 'object' THEN ${osObject('r.doc', '$.data.operating_systems[0]')} END AS os,
               coalesce(json_array_length(r.doc, '$.data.operating_systems[0].applications'), 0) AS packages
        FROM latest l JOIN results r ON r.job_id = l.job_id ${osWhere}`,
      )
      .all(...params) as (LatestRow & { os: string | null; packages: number })[];
    const withPackage = q.package !== undefined ? await this.packages({ ...q, names: [q.package], limit: Infinity }) : undefined;
    return imagePage(rows.map((r) => ({ latest: r, os: r.os ? (JSON.parse(r.os) as OsDoc) : null, packages: r.packages })), q, withPackage);
  }
}
