import { CIS_BENCHMARKS, CIS_MAP, CIS_SOURCE } from './checks/cis-map.js';
import { LINUX_CHECKS } from './checks/linux.js';
import { WINDOWS_CHECKS } from './checks/windows.js';
import { CheckSchema, type Check, type CisReference } from './types.js';

export interface CatalogueEntry extends Check {
  cis: CisReference[];
}

/** Validates every entry (zod) and derives its CIS references; throws on a bad or duplicate entry. */
export function buildCatalogue(inputs: unknown[]): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  const ids = new Set<string>();
  for (const raw of inputs) {
    const parsed = CheckSchema.safeParse(raw);
    if (!parsed.success) {
      const id = (raw as { id?: string })?.id ?? '?';
      throw new Error(`check ${id}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const c = parsed.data;
    if (ids.has(c.id)) throw new Error(`check ${c.id} defined twice`);
    ids.add(c.id);
    const cis: CisReference[] = [];
    for (const rule of c.cac ?? []) {
      for (const [benchmark, id, level] of CIS_MAP[rule] ?? []) {
        const prev = cis.find((x) => x.benchmark === benchmark && x.id === id);
        if (prev) prev.level = Math.min(prev.level, level) as 1 | 2;
        else cis.push({ benchmark, id, level });
      }
    }
    cis.sort((a, b) => a.benchmark.localeCompare(b.benchmark) || a.id.localeCompare(b.id, undefined, { numeric: true }));
    out.push({ ...c, cis });
  }
  return out;
}

let cached: CatalogueEntry[] | undefined;

/** The shipped catalogue (validated once per process). */
export function catalogue(): CatalogueEntry[] {
  return (cached ??= buildCatalogue([...LINUX_CHECKS, ...WINDOWS_CHECKS]));
}

export const CATALOGUE_SOURCE = `catalogue: src/profile/checks; CIS references from ${CIS_SOURCE}`;
export { CIS_BENCHMARKS };
