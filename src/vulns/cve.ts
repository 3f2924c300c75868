import type { OsvRecord } from './osv.js';

/** CVE ids the record names: its own id when it is one, aliases, and `upstream`/`related` (Debian and Ubuntu put the CVE there). */
export function cveIds(rec: OsvRecord): string[] {
  const all = [rec.id, ...(rec.aliases ?? []), ...(rec.upstream ?? []), ...(rec.related ?? [])];
  // DEBIAN-CVE-2024-6387 and ALPINE-CVE-… name their CVE in the id itself
  const cves = all.map((s) => /CVE-\d{4}-\d{4,}/.exec(s)?.[0]).filter((s): s is string => s !== undefined);
  return [...new Set(cves)].sort();
}
