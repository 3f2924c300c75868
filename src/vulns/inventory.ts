/**
 * Fleet questions over stored inspections: which images an advisory (by its id or a CVE id)
 * affects. The API's `GET /api/v1/inventory/vulnerabilities?id=…` answers with this, over the
 * store's latest inspection of each image.
 */
import type { Inspection } from '../inspect/types.js';
import { AdvisoryDb } from './db.js';
import { scanWith, type CoverageState, type VulnFinding } from './scan.js';

export interface StoredInspection {
  image: string;
  /** The job whose result the inspection is. */
  job_id: string;
  inspection: Pick<Inspection, 'operating_systems'>;
}

export interface AffectedImage {
  image: string;
  job_id: string;
  findings: VulnFinding[];
}

export interface VulnerabilityInventory {
  id: string;
  /** Advisories with that id or naming that CVE. */
  advisories: string[];
  affected: AffectedImage[];
  /** Images whose OS could not be matched fully (no data for its ecosystem, stale database …), with why. */
  unchecked: { image: string; job_id: string; state: CoverageState; message?: string }[];
}

/** The images among `inspections` that advisory or CVE `id` affects. */
export function imagesAffectedBy(id: string, inspections: Iterable<StoredInspection>, opts: { dbPath: string; maxAgeDays?: number; now?: Date }): VulnerabilityInventory {
  const db = AdvisoryDb.open(opts.dbPath);
  try {
    const advisories = db.advisoryIdsFor(id);
    const wanted = new Set(advisories);
    const out: VulnerabilityInventory = { id, advisories, affected: [], unchecked: [] };
    for (const s of inspections) {
      const scan = scanWith(db, s.inspection, opts);
      const findings = scan.operating_systems.flatMap((o) => o.vulnerabilities).filter((f) => wanted.has(f.advisory));
      if (findings.length) out.affected.push({ image: s.image, job_id: s.job_id, findings });
      for (const o of scan.operating_systems) {
        if (o.coverage.state !== 'ok') out.unchecked.push({ image: s.image, job_id: s.job_id, state: o.coverage.state, message: o.coverage.message });
      }
    }
    return out;
  } finally {
    db.close();
  }
}
