import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { PROFILES, SEVERITIES, criticalFailures, runProfile, toHtml, toText, type ProfileName, type Severity } from '../../profile/index.js';
import { MIGRATION_TARGETS, type MigrationTarget } from '../../profile/migration/index.js';
import { checkImagePaths } from '../image-path.js';
import { formatOption } from '../options.js';
import { action, usage, writeJson } from '../output.js';
import { StageLine } from '../progress.js';

interface ProfileCliOptions {
  profile?: string[];
  json?: boolean;
  yaml?: boolean;
  html?: boolean;
  output?: string;
  format?: string;
  disk?: string[];
  severity?: string;
  remediation?: boolean;
  failOnCritical?: boolean;
  all?: boolean;
  target?: string;
}

async function run(image: string, opts: ProfileCliOptions): Promise<number> {
  const disks = [image, ...(opts.disk ?? [])];
  const wanted = (opts.profile ?? [opts.target ? 'migration' : 'security']).flatMap((p) => p.split(',')).map((p) => p.trim());
  // `all` is every profile; migration joins it when a target is named
  const profiles = wanted.includes('all') ? PROFILES.filter((p) => p !== 'migration' || opts.target) : wanted;
  for (const p of profiles) if (!(PROFILES as readonly string[]).includes(p)) throw usage(`unknown profile ${p} (one of ${PROFILES.join(', ')}, all)`);
  if (opts.target && !profiles.includes('migration')) profiles.push('migration');
  await checkImagePaths(disks);
  const line = new StageLine();
  const report = await runProfile({
    disks,
    format: opts.format as never,
    profiles: [...new Set(profiles)] as ProfileName[],
    severity_threshold: (opts.severity ?? 'info') as Severity,
    include_remediation: opts.remediation !== false,
    target: (opts.target ?? 'kvm') as MigrationTarget,
    onStage: (s) => line.stage(s),
  }).finally(() => line.done());
  // JSON to stdout goes through writeJson alone: rendering it here as well serialised the report twice
  if (opts.json && !opts.output) writeJson(report);
  else {
    const text = opts.html ? toHtml(report) : opts.yaml ? (await import('yaml')).stringify(report) : opts.json ? JSON.stringify(report, null, 2) + '\n' : toText(report, { all: opts.all });
    if (opts.output) writeFileSync(opts.output, text);
    else process.stdout.write(text);
  }
  return opts.failOnCritical && criticalFailures(report).length > 0 ? 1 : 0;
}

export function registerProfileCommands(program: Command): void {
  program
    .command('profile')
    .description('Judge a guest against the check catalogue (security, CIS compliance, hardening, performance) or its readiness to move (migration --target kvm|kubevirt|openstack), from its files')
    .argument('<image>', 'disk image (add more disks of the same guest with --disk)')
    .option('-p, --profile <name>', `${PROFILES.join(' | ')} | all (repeat or comma-separate)`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--disk <image>', 'another disk of the same guest', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'the report as JSON')
    .addOption(new Option('--yaml', 'the report as YAML').conflicts(['json', 'html']))
    .addOption(new Option('--html', 'one self-contained HTML file').conflicts(['json']))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .addOption(new Option('--severity <level>', 'leave out results below this severity').choices([...SEVERITIES]))
    .option('--no-remediation', 'leave remediation text out')
    .option('--fail-on-critical', 'exit 1 when a critical check fails')
    .option('--all', 'text output: list passed and not applicable checks too')
    .addOption(new Option('--target <platform>', 'migration readiness for this platform (adds the migration profile)').choices([...MIGRATION_TARGETS]))
    .addOption(formatOption())
    .action(action(run));
}
