import type { Command } from 'commander';
import { GuestSession } from '../../inspect/session.js';
import type { Vfs } from '../../fs/vfs.js';
import { FsError } from '../../fs/errors.js';
import { GuestkitError } from '../../protocol/errors.js';
import { humanSize, table } from '../format.js';
import { checkImagePaths } from '../image-path.js';
import { formatOption } from '../options.js';
import { action, usage, writeJson } from '../output.js';

interface CommonOpts {
  format?: string;
  disk?: string[];
  device?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function disksOf(image: string, opts: CommonOpts): string[] {
  return [image, ...(opts.disk ?? [])];
}

async function withSession<T>(image: string, opts: CommonOpts, fn: (s: GuestSession) => Promise<T>): Promise<T> {
  await checkImagePaths(disksOf(image, opts));
  const s = await GuestSession.open(disksOf(image, opts), { format: opts.format as never });
  try {
    return await fn(s);
  } catch (err) {
    throw guestPathError(err);
  } finally {
    await s.close();
  }
}

/**
 * A guest file error (ENOENT, ELOOP …) as the protocol's NOT_FOUND / EXECUTION_ERROR, with the guest path.
 * The protocol has no code for "is a directory": a file was asked for and there is none at that path,
 * so it is NOT_FOUND, with a message that says what is there instead.
 */
function guestPathError(err: unknown): unknown {
  if (!(err instanceof FsError)) return err;
  if (err.code === 'EISDIR') {
    return new GuestkitError('NOT_FOUND', `guest path ${err.path}: is a directory, not a file (list it with ls)`, {
      details: { path: err.path, errno: err.code },
      recoverable: false,
      retryRecommended: false,
      cause: err,
    });
  }
  return err.toGuestkitError();
}

function view(s: GuestSession, opts: CommonOpts): Promise<Vfs> {
  return opts.device ? s.deviceView(opts.device) : s.osView();
}

async function filesystems(image: string, opts: CommonOpts & { all?: boolean }): Promise<number> {
  return withSession(image, opts, async (s) => {
    // Nothing readable at all (a text file, zeros, an unknown layout): say so rather than print an empty table.
    if (s.layout.tables.length === 0 && s.devices.every((d) => d.kind === 'disk' && d.fsType === undefined)) {
      const disks = disksOf(image, opts);
      throw new GuestkitError('UNSUPPORTED_FORMAT', `no partition table or filesystem found on ${disks.join(', ')}`, {
        details: { disks, warnings: s.warnings },
      });
    }
    const rows = s.devices
      .filter((d) => opts.all || d.fsType !== undefined)
      .map((d) => ({
        device: d.device,
        kind: d.kind,
        type: d.fsType ?? null,
        uuid: d.uuid ?? null,
        label: d.label ?? null,
        size: d.size,
        ...(d.partuuid ? { partuuid: d.partuuid } : {}),
        ...(d.partlabel ? { partlabel: d.partlabel } : {}),
        ...(d.aliases.length ? { aliases: d.aliases } : {}),
      }));
    if (opts.json) {
      writeJson({ filesystems: rows, partition_tables: s.layout.tables, warnings: s.warnings });
      return 0;
    }
    process.stdout.write(
      table([
        ['Name', 'Type', 'VFS', 'Label', 'UUID', 'Size'],
        ...rows.map((r) => [r.device, r.kind, r.type ?? '-', r.label ?? '-', r.uuid ?? '-', humanSize(r.size)]),
      ]) + '\n',
    );
    for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
    return 0;
  });
}

const TYPE_CHAR: Record<string, string> = { file: '-', directory: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's', unknown: '?' };

function modeString(type: string, mode: number): string {
  const bits = 'rwxrwxrwx'.split('').map((ch, i) => ((mode >> (8 - i)) & 1 ? ch : '-'));
  if (mode & 0o4000) bits[2] = bits[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) bits[5] = bits[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) bits[8] = bits[8] === 'x' ? 't' : 'T';
  return (TYPE_CHAR[type] ?? '?') + bits.join('');
}

async function ls(image: string, path: string, opts: CommonOpts & { long?: boolean }): Promise<number> {
  return withSession(image, opts, async (s) => {
    const vfs = await view(s, opts);
    const st = await vfs.stat(path);
    const names = st.isDirectory() ? (await vfs.readdirNames(path)).sort() : [path.split('/').pop()!];
    const dir = st.isDirectory() ? path : path.replace(/\/[^/]*$/, '') || '/';
    if (opts.json || opts.long) {
      const rows = [];
      for (const n of names) {
        const p = `${dir === '/' ? '' : dir.replace(/\/$/, '')}/${n}`;
        const l = await vfs.lstat(p);
        rows.push({
          name: n,
          type: l.type,
          mode: (l.mode & 0o7777).toString(8).padStart(4, '0'),
          uid: l.uid,
          gid: l.gid,
          size: l.size,
          mtime: new Date(l.mtimeMs).toISOString(),
          ...(l.isSymbolicLink() ? { target: await vfs.readlink(p) } : {}),
        });
      }
      if (opts.json) writeJson(rows);
      else
        process.stdout.write(
          table(rows.map((r) => [modeString(r.type, parseInt(r.mode, 8)), String(r.uid), String(r.gid), String(r.size), r.mtime.slice(0, 16).replace('T', ' '), r.target ? `${r.name} -> ${r.target}` : r.name])) + '\n',
        );
      return 0;
    }
    if (names.length) process.stdout.write(names.join('\n') + '\n');
    return 0;
  });
}

async function cat(image: string, paths: string[], opts: CommonOpts & { maxBytes?: string }): Promise<number> {
  return withSession(image, opts, async (s) => {
    const vfs = await view(s, opts);
    const max = opts.maxBytes === undefined ? 256 * 1024 * 1024 : Number(opts.maxBytes);
    if (!/^\d+$/.test(opts.maxBytes ?? '0') || !Number.isSafeInteger(max)) throw usage(`--max-bytes must be a whole number of bytes, got "${opts.maxBytes}"`);
    for (const p of paths) process.stdout.write(await vfs.readFile(p, { maxBytes: max }));
    return 0;
  });
}

export function registerFileCommands(program: Command): void {
  const common = (c: Command) =>
    c
      .addOption(formatOption())
      .option('--disk <image>', 'a further disk of the same guest (/dev/sdb, …)', collect);
  common(
    program
      .command('filesystems')
      .description('List partitions, LVs and filesystems with type, UUID, label and size (like virt-filesystems)')
      .argument('<image>', 'disk image (the first disk; more with --disk)')
      .option('--all', 'also list devices without a recognised filesystem')
      .option('--json', 'machine-readable output'),
  ).action(action(filesystems));
  common(
    program
      .command('ls')
      .description("List a guest directory, in the OS's own view (fstab mounts attached) or of one --device")
      .argument('<image>', 'disk image (the first disk; more with --disk)')
      .argument('<path>', 'guest path: a directory to list, or a file')
      .option('-l, --long', 'long listing: mode, owner, size, mtime, link target')
      .option('--device <dev>', 'read this filesystem directly (/dev/sda1, /dev/VG/LV)')
      .option('--json', 'machine-readable output'),
  ).action(action(ls));
  common(
    program
      .command('cat')
      .description("Print guest files, in the OS's own view or of one --device")
      .argument('<image>', 'disk image (the first disk; more with --disk)')
      .argument('<path...>', 'guest files to print, in order')
      .option('--device <dev>', 'read this filesystem directly (/dev/sda1, /dev/VG/LV)')
      .option('--max-bytes <n>', 'refuse files larger than this (default 256 MiB)')
      .option('--json', 'errors as JSON'),
  ).action(action(cat));
}
