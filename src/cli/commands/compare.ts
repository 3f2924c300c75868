import type { Command } from 'commander';
import { compare, type CompareReport, type FieldChange } from '../../compare/index.js';
import { checkImagePaths } from '../image-path.js';
import { formatOption } from '../options.js';
import { action, usage, writeJson } from '../output.js';
import { StageLine } from '../progress.js';

interface CompareCliOptions {
  json?: boolean;
  yaml?: boolean;
  files?: boolean;
  config?: boolean;
  paths?: string[];
  packages?: boolean;
  timestamps?: boolean;
  recommend?: boolean;
  diff?: boolean;
  format?: string;
}

const show = (v: unknown) => (v === null || v === undefined ? '(none)' : Array.isArray(v) ? v.join(',') || '(none)' : String(v));
const changes = (cs: FieldChange[]) => cs.map((c) => `${c.field} ${show(c.baseline)} -> ${show(c.target)}`).join('; ');

/** The report for a person: one line per difference, grouped, baseline → target. */
export function formatCompareText(r: CompareReport, opts: { diff: boolean }): string {
  const out: string[] = [];
  const side = (s: CompareReport['baseline']) => `${s.path} (${s.source === 'inspection' ? 'saved inspection, ' : ''}${s.pretty_name ?? `${s.distro} ${s.version}`}${s.hostname ? `, ${s.hostname}` : ''})`;
  out.push(`baseline: ${side(r.baseline)}`, `target:   ${side(r.target)}`);
  const section = (title: string, lines: string[]) => {
    if (lines.length) out.push('', `${title}:`, ...lines.map((l) => `  ${l}`));
  };
  section('OS', [...r.os.changes.map((c) => `${c.field}: ${show(c.baseline)} -> ${show(c.target)}`), ...r.os.kernels_added.map((k) => `+ kernel ${k}`), ...r.os.kernels_removed.map((k) => `- kernel ${k}`)]);
  if (r.packages) {
    section(`packages (${r.packages.unchanged} unchanged)`, [
      ...r.packages.added.map((p) => `+ ${p.name} ${p.version} (${p.arch})`),
      ...r.packages.removed.map((p) => `- ${p.name} ${p.version} (${p.arch})`),
      ...r.packages.changed.map((p) => `~ ${p.name} ${p.baseline_version} -> ${p.target_version} (${p.direction})`),
    ]);
  }
  if (r.services) {
    section('services', [
      ...r.services.enabled.map((s) => `+ ${s.name} enabled${s.alias_of ? ` (alias of ${s.alias_of})` : ''}`),
      ...r.services.disabled.map((s) => `- ${s.name} disabled${s.alias_of ? ` (alias of ${s.alias_of})` : ''}`),
      ...r.services.changed.map((s) => `~ ${s.name}: ${changes(s.changes)}`),
    ]);
  }
  if (r.users) {
    section('users', [
      ...r.users.added.map((u) => `+ ${u.name} (uid ${u.uid}, ${u.shell}${u.login_allowed ? ', can log in' : ''})`),
      ...r.users.removed.map((u) => `- ${u.name} (uid ${u.uid})`),
      ...r.users.changed.map((u) => `~ ${u.name}: ${changes(u.changes)}`),
    ]);
  }
  if (r.groups) {
    section('groups', [
      ...r.groups.added.map((g) => `+ ${g.name} (gid ${g.gid})`),
      ...r.groups.removed.map((g) => `- ${g.name} (gid ${g.gid})`),
      ...r.groups.changed.map((g) => `~ ${g.name}: ${changes(g.changes)}`),
    ]);
  }
  if (r.files) {
    section(`files under ${r.files.roots.join(', ')}`, [
      ...r.files.added.map((f) => `+ ${f.path}${f.state.type !== 'file' ? ` (${f.state.type})` : ''}`),
      ...r.files.removed.map((f) => `- ${f.path}${f.state.type !== 'file' ? ` (${f.state.type})` : ''}`),
      ...r.files.modified.map((f) => `~ ${f.path} (${f.changes.join(', ')}${f.diff_omitted ? `; no diff: ${f.diff_omitted}` : ''})`),
      ...r.files.unreadable.map((u) => `! ${u.path} (${u.side}): ${u.reason}`),
    ]);
    if (opts.diff) for (const f of r.files.modified) if (f.diff) out.push('', f.diff.trimEnd());
  }
  if (r.recommendations) section('recommendations', r.recommendations.map((x) => `[${x.severity}] ${x.message}`));
  for (const w of r.warnings) out.push(`warning: ${w}`);
  out.push('', r.summary.identical ? 'no differences' : `differences: ${Object.entries(r.summary).filter(([k, v]) => k !== 'identical' && v).map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`).join(', ')}`);
  return out.join('\n') + '\n';
}

async function run(baseline: string, target: string, opts: CompareCliOptions): Promise<number> {
  if (opts.json && opts.yaml) throw usage('--json and --yaml contradict each other');
  const paths = [...(opts.config || (opts.files && !opts.paths?.length) ? ['/etc'] : []), ...(opts.paths ?? [])];
  if (paths.some((p) => !p.startsWith('/'))) throw usage(`--paths takes absolute guest paths (${paths.filter((p) => !p.startsWith('/')).join(', ')})`);
  await checkImagePaths([baseline, target]);
  const line = new StageLine();
  let report: CompareReport;
  try {
    report = await compare({
      baseline: { path: baseline, format: opts.format as never },
      target: { path: target, format: opts.format as never },
      packages: opts.packages !== false,
      paths,
      timestamps: Boolean(opts.timestamps),
      recommendations: Boolean(opts.recommend),
      onStage: (phase, message) => line.stage(message || phase),
    });
  } finally {
    line.done();
  }
  if (opts.json) writeJson(report);
  else if (opts.yaml) process.stdout.write((await import('yaml')).stringify(report));
  else process.stdout.write(formatCompareText(report, { diff: opts.diff !== false }));
  return 0;
}

export function registerCompareCommands(program: Command): void {
  program
    .command('compare')
    .description('Compare two guests (disk images or saved `guestkit inspect --json` documents): OS, packages, services, users, files')
    .argument('<baseline>', 'the reference: an image, or a saved inspection (JSON)')
    .argument('<target>', 'the guest compared with it: an image, or a saved inspection (JSON)')
    .option('--json', 'the comparison as JSON')
    .option('--yaml', 'the comparison as YAML')
    .option('--config', 'compare the files under /etc (content hash, type, mode, owner; unified diff of small text files)')
    .option('--files', 'compare files: those under --paths, or /etc when none are given')
    .option('--paths <path...>', 'guest folders or files to compare (implies --files)')
    .option('--no-packages', 'leave installed packages out')
    .option('--timestamps', 'count modification times as differences')
    .option('--recommend', 'add recommendations for the differences found')
    .option('--no-diff', 'text output: list changed files without their diffs')
    .addOption(formatOption('stated image format of both sides; must match the magic bytes (auto also accepts saved inspections)'))
    .action(action((baseline: string, target: string, opts: CompareCliOptions) => run(baseline, target, opts)));
}
