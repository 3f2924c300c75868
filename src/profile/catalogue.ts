import { CIS_BENCHMARKS, CIS_MAP, CIS_SOURCE } from './checks/cis-map.js';
import { LINUX_CHECKS } from './checks/linux.js';
import { WINDOWS_CHECKS } from './checks/windows.js';
import { EVALUATOR_DEFAULTS, type Check, type CheckInput, type CisReference } from './types.js';

export interface CatalogueEntry extends Check {
  cis: CisReference[];
}

/**
 * The catalogue as the evaluators see it: each entry with its evaluator's defaults filled in and
 * its CIS references derived. The entries are not validated here: the shipped catalogue is
 * validated against its schema at build time (schema.ts, test/profile/catalogue.test.ts), which
 * also checks that this gives what the schema's parse gives. Throws on a duplicate id.
 */
export function buildCatalogue(inputs: readonly CheckInput[]): CatalogueEntry[] {
  // index loops, no destructuring or spreads: this runs once per process, in V8's interpreter
  const out: CatalogueEntry[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < inputs.length; i++) {
    const c = inputs[i]!;
    if (ids.has(c.id)) throw new Error(`check ${c.id} defined twice`);
    ids.add(c.id);
    const cis: CisReference[] = [];
    const rules = c.cac ?? [];
    for (let r = 0; r < rules.length; r++) {
      const refs = CIS_MAP[rules[r]!] ?? [];
      for (let k = 0; k < refs.length; k++) {
        const ref = refs[k]!;
        const prev = cis.find((x) => x.benchmark === ref[0] && x.id === ref[1]);
        if (prev) prev.level = Math.min(prev.level, ref[2]) as 1 | 2;
        else cis.push({ benchmark: ref[0], id: ref[1], level: ref[2] });
      }
    }
    if (cis.length > 1) cis.sort((a, b) => (a.benchmark < b.benchmark ? -1 : a.benchmark > b.benchmark ? 1 : compareSection(a.id, b.id)));
    const entry = Object.assign({}, c, { cis }) as CatalogueEntry;
    const defaults = (EVALUATOR_DEFAULTS as Record<string, object>)[c.evaluator.type];
    if (defaults) entry.evaluator = Object.assign({}, defaults, c.evaluator) as Check['evaluator'];
    out.push(entry);
  }
  return out;
}

/**
 * CIS section ids (5.1.20 after 5.1.3) part by part, numbers as numbers. Not localeCompare with
 * `numeric`: it sets up a collator per call (~10 ms of every cold start over the catalogue).
 */
export function compareSection(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d) return d;
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

let cached: CatalogueEntry[] | undefined;

/** The shipped catalogue (built once per process). */
export function catalogue(): CatalogueEntry[] {
  return (cached ??= buildCatalogue(LINUX_CHECKS.concat(WINDOWS_CHECKS)));
}

export const CATALOGUE_SOURCE = `catalogue: src/profile/checks; CIS references from ${CIS_SOURCE}`;
export { CIS_BENCHMARKS };
