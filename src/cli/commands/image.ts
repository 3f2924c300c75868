import { Option, type Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { sha256File } from '../../disk/checksum.js';
import { COMPRESSIBLE_FORMATS, CONVERT_FORMATS, SUBFORMATS, convertImage, type ConvertFormat } from '../../disk/convert.js';
import type { ImageFormatName, OpenOptions } from '../../disk/image.js';
import { formatInfoText, imageInfo } from '../../disk/info.js';
import { openImage } from '../../disk/open.js';
import { checkImagePaths } from '../image-path.js';
import { formatOption, INPUT_FORMATS } from '../options.js';
import { action, usage, writeJson } from '../output.js';

/** The parser has checked the value against INPUT_FORMATS (formatOption); this is for direct callers. */
function inputFormat(f: string | undefined): OpenOptions['format'] {
  if (f === undefined) return undefined;
  if (!(INPUT_FORMATS as readonly string[]).includes(f)) throw usage(`unknown image format "${f}" (one of ${INPUT_FORMATS.join(', ')})`);
  return f as ImageFormatName | 'img' | 'auto';
}

/** A progress bar on stderr, only when it is a terminal. */
function progressBar(label: string): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {eta_formatted}`, stream: process.stderr, hideCursor: true },
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(Math.ceil(total / 1048576), 0);
        started = true;
      }
      bar.update(Math.floor(done / 1048576));
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export async function imageInfoCommand(path: string, opts: { json?: boolean; format?: string; output?: string }): Promise<number> {
  if (opts.output === 'human' && opts.json) throw usage('--json and --output=human contradict each other');
  await checkImagePaths([path]);
  const dev = await openImage(path, { format: inputFormat(opts.format) });
  try {
    const info = imageInfo(dev);
    if (opts.json) writeJson(info);
    else process.stdout.write(formatInfoText(info));
  } finally {
    await dev.close();
  }
  return 0;
}

export async function imageConvertCommand(
  src: string,
  dst: string,
  opts: { outputFormat?: string; compress?: boolean; format?: string; json?: boolean; options?: string },
): Promise<number> {
  // raw by default, as qemu-img convert; vpc is qemu-img's name for vhd
  const out = opts.outputFormat === 'vpc' ? 'vhd' : (opts.outputFormat ?? 'raw');
  if (!(CONVERT_FORMATS as readonly string[]).includes(out)) throw usage(`-O must be one of ${CONVERT_FORMATS.join(', ')}, not "${out}"`);
  // vmdk -c writes streamOptimized
  if (opts.compress && !COMPRESSIBLE_FORMATS.includes(out as ConvertFormat)) throw usage('-c (compression) needs -O qcow2');
  // -o as qemu-img: only subformat= is offered
  let subformat: string | undefined;
  for (const kv of (opts.options ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=', 2);
    if (k !== 'subformat' || !v) throw usage(`-o ${kv}: only subformat=NAME is offered`);
    const offered = SUBFORMATS[out as ConvertFormat] ?? [];
    if (!offered.includes(v)) throw usage(`-O ${out} has no subformat "${v}"${offered.length ? ` (one of ${offered.join(', ')})` : ''}`);
    subformat = v;
  }
  await checkImagePaths([src]);
  const dev = await openImage(src, { format: inputFormat(opts.format) });
  const bar = progressBar('converting');
  try {
    const res = await convertImage(dev, dst, {
      format: out as ConvertFormat,
      compress: Boolean(opts.compress),
      subformat,
      onProgress: (d, t) => bar.update(d, t),
    });
    bar.stop();
    if (opts.json) writeJson({ source: src, destination: dst, ...res });
  } finally {
    bar.stop();
    await dev.close();
  }
  return 0;
}

export async function imageChecksumCommand(path: string, opts: { json?: boolean }): Promise<number> {
  await checkImagePaths([path]);
  const bar = progressBar('hashing');
  let sum: string;
  try {
    sum = await sha256File(path, (d, t) => bar.update(d, t));
  } finally {
    bar.stop();
  }
  if (opts.json) writeJson({ path, checksum: sum });
  else process.stdout.write(`${sum}  ${path}\n`);
  return 0;
}

export function registerImageCommands(program: Command): void {
  const image = program.command('image').description('Disk image files: facts, conversion, checksums');
  image
    .command('info')
    .description('Show image facts (like qemu-img info), including the backing chain')
    .argument('<image>', 'image file')
    .option('--json', 'JSON output (keys documented in docs/image-info.md)')
    .addOption(new Option('--output <fmt>', 'output format, as qemu-img: human or json (--output=json is --json)').choices(['human', 'json']))
    .addOption(formatOption())
    // --output=json is --json, errors included (the error object on stdout).
    .hook('preAction', (cmd) => {
      if (cmd.opts().output === 'json') cmd.setOptionValue('json', true);
    })
    .action(action((path: string, opts: { json?: boolean; format?: string; output?: string }) => imageInfoCommand(path, opts)));
  image
    .command('convert')
    .description('Convert an image (any readable format, backing chains flattened) to raw, qcow2, vmdk, vhd, vdi or vhdx (sparse)')
    .argument('<src>', 'source image')
    .argument('<dst>', 'destination file')
    .option('-O, --output-format <fmt>', 'output format: raw, qcow2, vmdk (monolithicSparse), vhd (dynamic; also "vpc"), vdi, vhdx (dynamic) (default: raw, as qemu-img)')
    .option('-c, --compress', 'qcow2: zlib-compress clusters; vmdk: write streamOptimized (deflated grains, for OVA/vSphere)')
    .option('-o, --options <opts>', 'as qemu-img: subformat=streamOptimized|monolithicSparse (vmdk), subformat=fixed|dynamic (vhd)')
    .addOption(formatOption())
    .option('--json', 'print the result as JSON')
    .action(
      action((src: string, dst: string, opts: { outputFormat?: string; compress?: boolean; format?: string; json?: boolean; options?: string }) =>
        imageConvertCommand(src, dst, opts),
      ),
    );
  image
    .command('checksum')
    .description('Print the sha256 of the image file, as job documents state it (sha256:<hex>)')
    .argument('<image>', 'image file')
    .option('--json', 'JSON output')
    .action(action((path: string, opts: { json?: boolean }) => imageChecksumCommand(path, opts)));
}
