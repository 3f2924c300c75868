import type { MigrationReadiness } from './migration/types.js';
import type { CheckResult, Evidence, GuestReport, ProfileReport, Score } from './types.js';
import { compareText } from '../util/compare.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function ev(e: Evidence): string {
  const at = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : '';
  return [at, e.value !== undefined ? `read ${e.value}` : '', e.expected ? `expected ${e.expected}` : '', e.note ?? ''].filter(Boolean).join('  ');
}

function scoreText(s: Score | undefined): string {
  return s ? `${s.score ?? '–'}% (${s.pass} pass, ${s.fail} fail, ${s.not_applicable} n/a${s.error ? `, ${s.error} error` : ''})` : '–';
}

/** The terminal summary: scores, then each failed check with its evidence. */
export function toText(r: ProfileReport, opts: { all?: boolean } = {}): string {
  const out: string[] = [];
  for (const g of r.guests) {
    out.push(`${g.os.pretty_name ?? `${g.os.distro} ${g.os.version}`} on ${g.root} — profiles: ${r.profiles.join(', ')}`);
    for (const [k, s] of Object.entries(g.scores)) out.push(`  ${k.padEnd(12)} ${scoreText(s)}`);
    if (g.benchmark) out.push(`  benchmark    ${g.benchmark.title}${g.benchmark.exact ? '' : ' (nearest; not this release)'}`);
    if (g.migration) out.push(...migrationText(g.migration));
    out.push(`  checks       ${g.summary.checks} shown: ${g.summary.pass} pass, ${g.summary.fail} fail, ${g.summary.not_applicable} n/a, ${g.summary.error} error`);
    for (const x of g.results) {
      if (!opts.all && x.status === 'pass') continue;
      if (!opts.all && x.status === 'not_applicable') continue;
      out.push('', `  [${x.status.toUpperCase()}] ${x.severity.padEnd(8)} ${x.id}  ${x.title}`, `      ${x.message}`);
      for (const e of x.evidence.slice(0, 5)) out.push(`      · ${ev(e)}`);
      if (x.remediation && x.status === 'fail') out.push(`      fix: ${x.remediation}`);
    }
    for (const w of g.warnings) out.push(`  warning: ${w}`);
    out.push('');
  }
  return out.join('\n');
}

function migrationText(m: MigrationReadiness): string[] {
  const out = [`  migration    to ${m.target}: ${m.bootable ? 'bootable' : 'NOT bootable'}, readiness ${m.score}/100 (${m.blockers.length} blocker(s), ${m.warnings.length} warning(s))`];
  if (m.changes.length) out.push('  changes, in order:');
  for (const c of m.changes) out.push(`    ${String(c.order).padStart(2)}. [${c.when} the move] ${c.step}  (${c.fixes})`);
  return out;
}

function migrationHtml(m: MigrationReadiness): string {
  const steps = m.changes.map((c) => `<li><b>${esc(c.when)} the move:</b> ${esc(c.step)} <code>${esc(c.fixes)}</code></li>`).join('');
  return `<div class="migration ${m.bootable ? 'ok' : 'blocked'}"><h3>Migration to ${esc(m.target)}: ${m.bootable ? 'bootable' : 'not bootable as it is'} · readiness ${m.score}/100</h3>
<p>${m.blockers.length} blocker(s), ${m.warnings.length} warning(s).</p>${steps ? `<ol>${steps}</ol>` : '<p>Nothing to change.</p>'}</div>`;
}

function resultRow(x: CheckResult): string {
  const cis = x.references.cis.map((c) => `${c.benchmark} ${c.id} (L${c.level})`).join('<br>');
  const evidence = x.evidence.map((e) => `<li>${esc(ev(e))}</li>`).join('');
  return `<tr class="${x.status}" data-severity="${x.severity}"><td class="st">${esc(x.status.replace('_', ' '))}</td><td class="sev ${x.severity}">${esc(x.severity)}</td><td><b>${esc(x.title)}</b><br><code>${esc(x.id)}</code><div class="msg">${esc(x.message)}</div>${evidence ? `<ul>${evidence}</ul>` : ''}${x.remediation && x.status === 'fail' ? `<div class="fix"><b>Fix:</b> ${esc(x.remediation)}</div>` : ''}${x.rationale ? `<details><summary>Why</summary>${esc(x.rationale)}</details>` : ''}</td><td class="cis">${cis}</td></tr>`;
}

function guestHtml(r: ProfileReport, g: GuestReport): string {
  const cards = Object.entries(g.scores)
    .map(([k, s]) => `<div class="card"><div class="k">${esc(k.replace('_', ' '))}</div><div class="v">${s?.score ?? '–'}${s?.score !== null ? '%' : ''}</div><div class="d">${s?.pass} pass · ${s?.fail} fail · ${s?.not_applicable} n/a</div></div>`)
    .join('');
  const order = { fail: 0, error: 1, pass: 2, not_applicable: 3 } as const;
  const sev = { critical: 0, high: 1, medium: 2, low: 3, info: 4 } as const;
  const rows = [...g.results].sort((a, b) => order[a.status] - order[b.status] || sev[a.severity] - sev[b.severity] || compareText(a.id, b.id)).map(resultRow).join('\n');
  return `<section><h2>${esc(g.os.pretty_name ?? `${g.os.distro} ${g.os.version}`)} <small>${esc(g.root)}</small></h2>
<div class="cards">${cards}</div>
${g.migration ? migrationHtml(g.migration) : ''}
${g.benchmark ? `<p>Compliance scored against <b>${esc(g.benchmark.title)}</b>${g.benchmark.exact ? '' : ' (the nearest benchmark: none is mapped for this release)'}; level 2 includes level 1.</p>` : ''}
<p>Failed by severity: ${Object.entries(g.summary.failed_by_severity).map(([k, v]) => `<span class="sev ${k}">${k} ${v}</span>`).join(' ')}</p>
<div class="filters">Show: <label><input type="checkbox" data-f="pass"> passed</label> <label><input type="checkbox" data-f="not_applicable"> not applicable</label></div>
<table><thead><tr><th>Status</th><th>Severity</th><th>Check, evidence and fix</th><th>CIS</th></tr></thead><tbody>
${rows}
</tbody></table>
${g.warnings.length ? `<details><summary>${g.warnings.length} warning(s)</summary><ul>${g.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></details>` : ''}
</section>`;
}

/** One self-contained HTML file (inline CSS and a few lines of script, nothing fetched). */
export function toHtml(r: ProfileReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>guestkit profile — ${esc(r.image.join(', '))}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d2430}
h1{font-size:1.5rem;margin:0}h2 small{font-weight:normal;color:#667}code{font-size:12px;color:#556}
.meta{color:#556;margin:.3rem 0 1.5rem}.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.card{border:1px solid #d8dde6;border-radius:8px;padding:.6rem .9rem;min-width:140px}.card .k{text-transform:capitalize;color:#556}.card .v{font-size:1.6rem;font-weight:600}.card .d{font-size:12px;color:#667}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e7ee;padding:.45rem;text-align:left;vertical-align:top}th{background:#f4f6f9}
td.st{font-weight:600;text-transform:uppercase;font-size:12px;white-space:nowrap}tr.fail td.st{color:#b3261e}tr.pass td.st{color:#1e7b34}tr.error td.st{color:#8a5300}tr.not_applicable td.st{color:#778}
.sev{font-size:12px;padding:1px 6px;border-radius:4px;background:#eef}.sev.critical{background:#b3261e;color:#fff}.sev.high{background:#f4c7c3}.sev.medium{background:#fde7c2}.sev.low{background:#e4ecf7}.sev.info{background:#eee}
td ul{margin:.3rem 0 0 1rem;padding:0;font-family:ui-monospace,monospace;font-size:12px}.msg{margin-top:.2rem}.fix{margin-top:.3rem;font-size:13px}td.cis{font-size:12px;white-space:nowrap;color:#445}
tr.pass,tr.not_applicable{display:none}body.show-pass tr.pass,body.show-not_applicable tr.not_applicable{display:table-row}
.migration{border:1px solid #d8dde6;border-left:6px solid #1e7b34;border-radius:8px;padding:.4rem 1rem;margin:1rem 0}.migration.blocked{border-left-color:#b3261e}.migration h3{margin:.4rem 0}
@media print{tr.pass,tr.not_applicable{display:table-row}.filters{display:none}}
</style></head><body>
<h1>guestkit profile report</h1>
<div class="meta">${esc(r.image.join(', '))} · profiles ${esc(r.profiles.join(', '))} · generated ${esc(r.generated_at)} · ${r.catalogue.linux} Linux / ${r.catalogue.windows} Windows checks in the catalogue · severity ≥ ${esc(r.options.severity_threshold)}</div>
${r.guests.map((g) => guestHtml(r, g)).join('\n')}
<p class="meta">${esc(r.catalogue.source)}. Judged from the image's files only: nothing was booted or mounted.</p>
<script>
for (const cb of document.querySelectorAll('input[data-f]')) cb.addEventListener('change', () => document.body.classList.toggle('show-' + cb.dataset.f, cb.checked));
</script>
</body></html>
`;
}
