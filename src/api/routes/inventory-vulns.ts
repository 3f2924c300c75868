import type { FastifyInstance } from 'fastify';
import type { Inspection } from '../../inspect/types.js';
import { MAX_INVENTORY_LIMIT } from '../../ports/inventory.js';
import { GuestkitError, isGuestkitError } from '../../protocol/errors.js';
import { AdvisoryDb } from '../../vulns/db.js';
import { imagesAffectedBy, type StoredInspection } from '../../vulns/inventory.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import { inventoryOf, inventoryParams, inventoryScope } from './inventory.js';

type Query = { Querystring: Record<string, string | string[] | undefined> };

/** An advisory id (DSA-5532-1, DEBIAN-CVE-…, GHSA-…) or a CVE id: letters, digits, dashes, dots, colons. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * GET /inventory/vulnerabilities?id=CVE-…: the images whose latest inspection an advisory (by its
 * own id or a CVE it names) affects, matched in each image's ecosystem order as `guestkit vulns`
 * does. Only images that have one of the advisory's packages (binary or source name) are read
 * whole; images that could not be checked (no advisories for their OS, stale data) are listed
 * apart, never counted as unaffected.
 */
export function registerInventoryVulnRoutes(app: FastifyInstance, api: ApiContext): void {
  app.get<Query>('/inventory/vulnerabilities', async (req) => {
    const p = await api.caller(req, 'viewer', 'inventory.get');
    const q = inventoryParams(req.query, ['id', 'namespace', 'os', 'limit']);
    if (!q.id) throw badRequest('id is required: an advisory id (DSA-5532-1, DEBIAN-CVE-2023-5363, …) or a CVE id');
    if (!ID.test(q.id)) throw badRequest(`id ${JSON.stringify(q.id)} is no advisory or CVE id`, { parameter: 'id' });
    const scope = inventoryScope(q, p);
    const dbPath = api.deps.advisoryDb;
    if (!dbPath) throw new GuestkitError('UNAVAILABLE', 'this server has no advisory database configured', { phase: 'execution', recoverable: false });
    let names: string[];
    let advisories: string[];
    try {
      const db = AdvisoryDb.open(dbPath);
      try {
        advisories = db.advisoryIdsFor(q.id);
        names = db.packageNamesOf(advisories);
      } finally {
        db.close();
      }
    } catch (err) {
      if (isGuestkitError(err, 'NOT_FOUND')) {
        throw new GuestkitError('UNAVAILABLE', `no advisory database at ${dbPath}: run guestkit advisories import (OSV data) on the server`, { phase: 'execution', recoverable: true });
      }
      throw err;
    }
    if (advisories.length === 0) throw new GuestkitError('NOT_FOUND', `the advisory database holds no advisory ${q.id} and none naming it`, { phase: 'validation', details: { id: q.id } });
    const hits = names.length ? await inventoryOf(api).packages({ ...scope, limit: MAX_INVENTORY_LIMIT, names }) : { items: [], truncated: false, warnings: [] };
    const images = new Map<string, { image: string; namespace: string; finished_at: number }>();
    for (const h of hits.items) images.set(h.image.job_id, { image: h.image.image_path, namespace: h.image.namespace, finished_at: h.image.finished_at });
    const stored: StoredInspection[] = [];
    for (const [jobId, i] of images) {
      const result = await api.deps.store.result(jobId);
      const data = result?.data as Pick<Inspection, 'operating_systems'> | undefined;
      if (data && Array.isArray(data.operating_systems)) stored.push({ image: i.image, job_id: jobId, inspection: data });
    }
    const found = imagesAffectedBy(q.id, stored, { dbPath });
    const when = (jobId: string) => images.get(jobId)!;
    const affected = found.affected.slice(0, scope.limit).map((a) => ({ image_path: a.image, namespace: when(a.job_id).namespace, job_id: a.job_id, finished_at: new Date(when(a.job_id).finished_at).toISOString(), findings: a.findings }));
    const unchecked = found.unchecked.map((u) => ({ image_path: u.image, namespace: when(u.job_id).namespace, job_id: u.job_id, state: u.state, ...(u.message ? { message: u.message } : {}) }));
    return { id: q.id, advisories: found.advisories, packages: names, affected, unchecked, truncated: hits.truncated || found.affected.length > scope.limit, warnings: hits.warnings };
  });
}
