/**
 * One severity per advisory hit. The distribution's own rating wins when it gave one (Debian's
 * urgency, Ubuntu's priority, the vendors' database_specific severity): it judges the package
 * as shipped. A CVSS v3 vector is scored otherwise (the base score, CVSS 3.1 §7.1).
 */
import type { OsvAffected, OsvRecord, OsvSeverity } from './osv.js';

export const SEVERITY_LEVELS = ['unknown', 'negligible', 'low', 'medium', 'high', 'critical'] as const;
export type SeverityLevel = (typeof SEVERITY_LEVELS)[number];

export interface SeverityVerdict {
  level: SeverityLevel;
  /** Where the level came from: 'debian-urgency', 'ubuntu', 'vendor', 'cvss_v3'. */
  source?: string;
  cvss_score?: number;
  cvss_vector?: string;
}

export function severityRank(level: SeverityLevel): number {
  return SEVERITY_LEVELS.indexOf(level);
}

/** A vendor's word for a severity ("Important", "moderate", "unimportant", "low**") as a level. */
export function levelOfWord(word: string): SeverityLevel | undefined {
  switch (word.toLowerCase().replace(/\*+$/, '').trim()) {
    case 'critical':
      return 'critical';
    case 'important':
    case 'high':
      return 'high';
    case 'moderate':
    case 'medium':
      return 'medium';
    case 'low':
      return 'low';
    case 'negligible':
    case 'unimportant':
      return 'negligible';
    default:
      return undefined; // 'not yet assigned', 'end-of-life', 'untriaged'
  }
}

const METRICS: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};

/** CVSS 3.1's Roundup: the smallest one-decimal number >= x, free of float noise. */
function roundUp(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** The base score of a CVSS v3.0/3.1 vector, or undefined when the vector is incomplete or invalid. */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return undefined;
  const m = new Map(parts.slice(1).map((p) => p.split(':') as [string, string]));
  const scope = m.get('S');
  const pr = m.get('PR');
  if (scope !== 'U' && scope !== 'C') return undefined;
  const prValue = pr === 'N' ? 0.85 : pr === 'L' ? (scope === 'C' ? 0.68 : 0.62) : pr === 'H' ? (scope === 'C' ? 0.5 : 0.27) : undefined;
  const v = (k: string) => METRICS[k]![m.get(k) ?? ''];
  const [av, ac, ui, c, i, a] = ['AV', 'AC', 'UI', 'C', 'I', 'A'].map(v);
  if (prValue === undefined || [av, ac, ui, c, i, a].some((x) => x === undefined)) return undefined;
  const iss = 1 - (1 - c!) * (1 - i!) * (1 - a!);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15);
  if (impact <= 0) return 0;
  const exploitability = 8.22 * av! * ac! * prValue * ui!;
  return scope === 'U' ? roundUp(Math.min(impact + exploitability, 10)) : roundUp(Math.min(1.08 * (impact + exploitability), 10));
}

export function levelOfScore(score: number): SeverityLevel {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'negligible';
}

function cvss(list: readonly OsvSeverity[] | undefined): { score: number; vector: string } | undefined {
  for (const s of list ?? []) {
    if (s.type !== 'CVSS_V3') continue;
    const score = cvss3BaseScore(s.score);
    if (score !== undefined) return { score, vector: s.score };
  }
  return undefined;
}

/** The severity of `rec` for the package `affected` names. */
export function severityOf(rec: OsvRecord, affected: OsvAffected): SeverityVerdict {
  const scored = cvss(affected.severity) ?? cvss(rec.severity);
  const withScore = (v: SeverityVerdict): SeverityVerdict => (scored ? { ...v, cvss_score: scored.score, cvss_vector: scored.vector } : v);
  const urgency = affected.ecosystem_specific?.urgency;
  if (typeof urgency === 'string' && levelOfWord(urgency)) return withScore({ level: levelOfWord(urgency)!, source: 'debian-urgency' });
  const ubuntu = [...(affected.severity ?? []), ...(rec.severity ?? [])].find((s) => s.type === 'Ubuntu');
  if (ubuntu && levelOfWord(ubuntu.score)) return withScore({ level: levelOfWord(ubuntu.score)!, source: 'ubuntu' });
  const vendor = affected.database_specific?.severity ?? rec.database_specific?.severity;
  if (typeof vendor === 'string' && levelOfWord(vendor)) return withScore({ level: levelOfWord(vendor)!, source: 'vendor' });
  if (scored) return withScore({ level: levelOfScore(scored.score), source: 'cvss_v3' });
  return { level: 'unknown' };
}
