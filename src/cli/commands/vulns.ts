import { Option, type Command } from 'commander';
import { inspect, requireOs } from '../../inspect/index.js';
// the matching modules only: the importer's zip reader and OSV schema are not needed to match
import { defaultAdvisoryDbPath } from '../../vulns/db.js';
import { DEFAULT_MAX_AGE_DAYS, scanInspection } from '../../vulns/scan.js';
import { SEVERITY_LEVELS, type SeverityLevel } from '../../vulns/severity.js';
import { vulnsText } from '../../vulns/text.js';
import { checkImagePaths } from '../image-path.js';
import { formatOption } from '../options.js';
import { action, usage, writeJson } from '../output.js';
import { StageLine } from '../progress.js';

/** Exit status when the match could not be complete: no database, none for the guest's ecosystem, or a stale one. */
export const EXIT_INCOMPLETE = 3;

interface VulnsCliOptions {
  json?: boolean;
  db?: string;
  severity?: string;
  maxAgeDays?: string;
  format?: string;
  disk?: string[];
}

async function run(image: string, opts: VulnsCliOptions): Promise<number> {
  const maxAgeDays = opts.maxAgeDays === undefined ? DEFAULT_MAX_AGE_DAYS : Number(opts.maxAgeDays);
  if (!Number.isInteger(maxAgeDays) || maxAgeDays < 0) throw usage(`--max-age-days must be a whole number of days, got ${opts.maxAgeDays}`);
  const disks = [image, ...(opts.disk ?? [])];
  await checkImagePaths(disks);
  const line = new StageLine();
  // only packages are needed: the other collectors would read files for nothing
  const options = { include_packages: true, include_services: false, include_users: false, include_network: false, include_security: false, include_storage: false };
  const inspection = requireOs(await inspect({ disks, format: opts.format as never, options, onStage: (s) => line.stage(s) }).finally(() => line.done()));
  const scan = scanInspection(inspection, { dbPath: opts.db ?? defaultAdvisoryDbPath(), maxAgeDays, minSeverity: opts.severity as SeverityLevel | undefined });
  if (opts.json) writeJson(scan);
  else process.stdout.write(vulnsText(scan));
  if (scan.status !== 'complete' && !opts.json) process.stderr.write(`guestkit: warning: vulnerability match incomplete (exit ${EXIT_INCOMPLETE}): ${scan.warnings.join('; ')}\n`);
  return scan.status === 'complete' ? 0 : EXIT_INCOMPLETE;
}

export function registerVulnsCommands(program: Command): void {
  program
    .command('vulns')
    .description(`List installed packages that OSV advisories in the local database affect (exit ${EXIT_INCOMPLETE} when the database is missing, stale or has nothing for the guest's OS)`)
    .argument('<image>', 'disk image (add more disks of the same guest with --disk)')
    .option('--disk <image>', 'another disk of the same guest', (v: string, prev: string[] = []) => [...prev, v])
    .option('--db <file>', 'advisory database file (default $GUESTKIT_ADVISORY_DB, else $GUESTKIT_DATA_DIR or ./.guestkit, /advisories.db)')
    .addOption(new Option('--severity <level>', 'leave out findings below this severity').choices(SEVERITY_LEVELS.filter((l) => l !== 'unknown')))
    .option('--max-age-days <n>', `warn (and exit ${EXIT_INCOMPLETE}) when the advisories were imported longer ago than this`, String(DEFAULT_MAX_AGE_DAYS))
    .option('--json', 'the report as JSON')
    .addOption(formatOption())
    .action(action(run));
}
