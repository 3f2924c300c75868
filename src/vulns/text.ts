/** The vulns report for a terminal: one table per OS, and the coverage said first when it is not complete. */
import { SEVERITY_LEVELS } from './severity.js';
import type { OsVulnReport, VulnScan } from './scan.js';

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

function counts(r: OsVulnReport): string {
  const by = [...SEVERITY_LEVELS].reverse().map((l) => [l, r.vulnerabilities.filter((v) => v.severity === l).length] as const);
  return by.filter(([, n]) => n > 0).map(([l, n]) => `${n} ${l}`).join(', ');
}

function osText(r: OsVulnReport, scan: VulnScan): string[] {
  const c = r.coverage;
  const head = `${r.distro} ${r.version} on ${r.root}${r.ecosystem ? ` (${r.ecosystem})` : ''}: ${r.packages} packages`;
  if (c.state !== 'ok' && c.state !== 'stale') return [head, `  NOT CHECKED: ${c.message}`];
  const lines = [`${head}, ${c.advisories} advisories imported ${c.imported_at} (${c.age_days} days ago)`];
  if (c.state === 'stale') lines.push(`  WARNING: ${c.message}`);
  const below = r.below_threshold ? ` (${r.below_threshold} below ${scan.min_severity} not shown)` : '';
  if (r.vulnerabilities.length === 0) {
    lines.push(`  no affected packages found${below}`);
    return lines;
  }
  const rows = [['SEVERITY', 'PACKAGE', 'INSTALLED', 'FIXED', 'ADVISORY', 'CVE', 'RANGE']];
  for (const v of r.vulnerabilities) {
    const pkg = v.matched_by === 'source' && v.source_package ? `${v.package} (src:${v.source_package})` : v.package;
    rows.push([v.severity, pkg, v.installed_version, v.fixed_version ?? '(no fix)', v.advisory, v.cves.join(',') || '-', v.range]);
  }
  lines.push(...table(rows).map((l) => `  ${l}`), `  ${r.vulnerabilities.length} affected (${counts(r)})${below}`);
  return lines;
}

export function vulnsText(scan: VulnScan): string {
  const out: string[] = [];
  for (const r of scan.operating_systems) out.push(...osText(r, scan), '');
  if (scan.status !== 'complete') out.push(...scan.warnings.map((w) => `WARNING: ${w}`), 'WARNING: the result is incomplete; an empty list here does not mean "no vulnerabilities"');
  return out.join('\n').trimEnd() + '\n';
}
