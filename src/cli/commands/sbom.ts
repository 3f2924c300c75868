import { Option, type Command } from 'commander';
import { inspect, requireOs } from '../../inspect/index.js';
import { GuestkitError } from '../../protocol/errors.js';
import { SBOM_FORMATS, toSbom, type SbomFormat } from '../../sbom/index.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { checkImagePaths } from '../image-path.js';
import { INPUT_FORMATS } from '../options.js';
import { action } from '../output.js';
import { StageLine } from '../progress.js';

interface SbomCliOptions {
  format: SbomFormat;
  output?: string;
  imageFormat?: string;
}

async function run(image: string, opts: SbomCliOptions): Promise<number> {
  await checkImagePaths([image]);
  const line = new StageLine();
  let r;
  try {
    // Only the package facts go into an SBOM: the other collectors are not run.
    r = await inspect({
      disks: [image],
      format: opts.imageFormat as never,
      options: { include_packages: true, include_services: false, include_users: false, include_network: false, include_security: false, include_storage: false },
      onStage: (s) => line.stage(s),
    });
  } finally {
    line.done();
  }
  const text = JSON.stringify(toSbom(requireOs(r), opts.format), null, 2) + '\n';
  if (!opts.output || opts.output === '-') {
    process.stdout.write(text);
    return 0;
  }
  try {
    writeFileAtomic(opts.output, text);
  } catch (err) {
    throw new GuestkitError('EXECUTION_ERROR', `cannot write ${opts.output}: ${(err as Error).message}`, { phase: 'result_generation', recoverable: false, retryRecommended: false });
  }
  return 0;
}

export function registerSbomCommands(program: Command): void {
  program
    .command('sbom')
    .description('Software bill of materials of a disk image: its OS and installed packages with purls (CycloneDX 1.6 or SPDX 2.3 JSON)')
    .argument('<image>', 'disk image')
    .addOption(new Option('--format <format>', 'SBOM format').choices(SBOM_FORMATS).default('cyclonedx-json'))
    .option('-o, --output <file>', 'write the SBOM to FILE instead of stdout')
    .addOption(new Option('--image-format <format>', 'stated image format; must match the magic bytes').choices(INPUT_FORMATS))
    .action(action(run));
}
