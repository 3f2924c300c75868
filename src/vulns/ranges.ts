/**
 * Whether a version lies in an OSV affected entry, by the schema's evaluation rules
 * (osv-schema "Evaluation"): events sorted by version, `introduced` opens a range, `fixed`
 * and `limit` close it before the version, `last_affected` closes it after; `versions[]`
 * lists affected versions outright. Comparisons use the ecosystem's own version order.
 */
import semver from 'semver';
import { compareVersions, type Ecosystem } from '../versions/index.js';
import type { StoredRange } from './db.js';

export interface RangeMatch {
  /** The range as it matched: `>= 0, < 1:9.2p1-2+deb12u3`, or `listed in versions`. */
  range: string;
  /** The fixed version of that range, when it has one. */
  fixed?: string;
}

type Event = StoredRange['events'][number];

/** An event's version ("0" in `introduced` means "before every version"). */
function eventVersion(e: Event): string {
  return (e.introduced ?? e.fixed ?? e.last_affected ?? e.limit)!;
}

function describe(intro: string, close: Event | undefined): string {
  const from = intro === '0' ? '>= 0' : `>= ${intro}`;
  if (!close) return from;
  if (close.fixed !== undefined) return `${from}, < ${close.fixed}`;
  if (close.last_affected !== undefined) return `${from}, <= ${close.last_affected}`;
  return `${from}, < ${close.limit}`;
}

/** The match of `version` against one range, or undefined. */
export function matchRange(eco: Ecosystem, version: string, range: StoredRange): RangeMatch | undefined {
  // SEMVER ranges order by SemVer 2.0, whatever the ecosystem; a version that is not SemVer is outside them
  const isSemver = range.type === 'SEMVER';
  if (isSemver && !semver.valid(version)) return undefined;
  const usable = isSemver ? range.events.filter((e) => e.introduced === '0' || semver.valid(eventVersion(e))) : range.events;
  const cmp = isSemver ? (a: string, b: string) => semver.compare(a, b) : (a: string, b: string) => compareVersions(eco, a, b);
  // `limit`s bound the whole range: at or past one, nothing in it applies
  for (const e of usable) if (e.limit !== undefined && cmp(version, e.limit) >= 0) return undefined;
  const events = usable
    .filter((e) => e.limit === undefined)
    .map((e, i) => ({ e, i }))
    .sort((x, y) => {
      const ax = x.e.introduced === '0';
      const ay = y.e.introduced === '0';
      if (ax || ay) return ax && ay ? x.i - y.i : ax ? -1 : 1;
      return cmp(eventVersion(x.e), eventVersion(y.e)) || x.i - y.i;
    })
    .map((x) => x.e);
  let open: string | undefined;
  let index = -1;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.introduced !== undefined) {
      if (e.introduced === '0' || cmp(version, e.introduced) >= 0) {
        open = e.introduced;
        index = i;
      }
    } else if (e.fixed !== undefined) {
      if (cmp(version, e.fixed) >= 0) open = undefined;
    } else if (e.last_affected !== undefined) {
      if (cmp(version, e.last_affected) > 0) open = undefined;
    }
  }
  if (open === undefined) return undefined;
  // the event closing the open range (the next fixed/last_affected after its introduced), for the evidence
  const close = events.slice(index + 1).find((e) => e.fixed !== undefined || e.last_affected !== undefined) ?? usable.find((e) => e.limit !== undefined);
  return close?.fixed !== undefined ? { range: describe(open, close), fixed: close.fixed } : { range: describe(open, close) };
}

/** The first match of `version` in an affected entry's ranges or versions list. */
export function matchAffected(eco: Ecosystem, version: string, ranges: readonly StoredRange[], versions: readonly string[]): RangeMatch | undefined {
  for (const r of ranges) {
    const m = matchRange(eco, version, r);
    if (m) return m;
  }
  // listed versions are exact strings of the ecosystem; equal in its order counts (1:2.0 = 1:2.0-0 in rpm)
  if (versions.some((v) => v === version || compareVersions(eco, v, version) === 0)) {
    const fixed = ranges.flatMap((r) => r.events).find((e) => e.fixed !== undefined)?.fixed;
    return fixed !== undefined ? { range: 'listed in versions', fixed } : { range: 'listed in versions' };
  }
  return undefined;
}
