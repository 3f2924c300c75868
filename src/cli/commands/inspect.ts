import { Option, type Command } from 'commander';
import { budgetFromEnv, inspect, requireOs, type Inspection, type OperatingSystem } from '../../inspect/index.js';
import { toProtocolError, type ProtocolError } from '../../protocol/errors.js';
import { humanSize } from '../format.js';
import { checkImagePaths } from '../image-path.js';
import { formatOption } from '../options.js';
import { action, usage, writeJson } from '../output.js';
import { StageLine } from '../progress.js';

interface InspectCliOptions {
  json?: boolean;
  yaml?: boolean;
  format?: string;
  disk?: string[];
  explain?: boolean;
  packages?: boolean;
  services?: boolean;
  users?: boolean;
  network?: boolean;
  security?: boolean;
  storage?: boolean;
}

function summary(r: Inspection, explain: boolean): string {
  const out: string[] = [];
  for (const img of r.image) {
    out.push(`${img.path}: ${img.format}, ${humanSize(img.virtual_size)} virtual${img.backing_chain.length ? `, backed by ${img.backing_chain.join(' <- ')}` : ''}`);
  }
  for (const t of r.partition_table) out.push(`  ${t.device}: ${t.scheme} partition table`);
  for (const f of r.filesystems) {
    const locked = f.error ? ` ${f.error.code}${Array.isArray(f.error.details?.key_protectors) ? ` (${(f.error.details.key_protectors as string[]).join(', ')})` : ''}` : '';
    out.push(`  ${f.device.padEnd(16)} ${f.type.padEnd(6)} ${humanSize(f.size).padStart(6)}  ${f.label ? `label=${f.label} ` : ''}${f.role ? `[${f.role}]` : ''}${locked}`);
  }
  for (const os of r.operating_systems) out.push('', ...osSummary(os, explain));
  if (r.warnings.length) out.push('', ...r.warnings.map((w) => `warning: ${w}`));
  out.push('', `read ${humanSize(r.stats.bytes_read)} in ${r.stats.reads} reads, ${r.stats.total_ms.toFixed(0)} ms`);
  return out.join('\n');
}

/** "Debian GNU/Linux 12 (bookworm) — debian 12.15, x86_64": the name a person knows, then the exact version. */
export function osTitle(os: OperatingSystem): string {
  // libguestfs's product name for Debian is the bare debian_version ("12.15"): no name to show.
  const name = os.pretty_name ?? (os.product_name && /[a-z]/i.test(os.product_name) ? os.product_name : undefined);
  let exact = `${os.distro} ${os.major_version}.${os.minor_version}`;
  if (os.product_name && /^\d+(\.\d+)+$/.test(os.product_name) && os.product_name.startsWith(`${os.major_version}.`)) exact = `${os.distro} ${os.product_name}`;
  if (os.build_id) exact += ` build ${os.build_id}`;
  const facts = `${exact}, ${os.arch ?? 'unknown arch'}`;
  return name ? `${name} — ${facts}` : facts;
}

function osSummary(os: OperatingSystem, explain: boolean): string[] {
  const lines = [
    `${osTitle(os)} on ${os.root}`,
    `  hostname:     ${os.hostname ?? '(unknown)'}`,
    `  osinfo:       ${os.osinfo}`,
    `  mounts:       ${Object.entries(os.mountpoints).map(([m, d]) => `${m}=${d}`).join(' ')}`,
  ];
  if (os.applications) lines.push(`  packages:     ${os.applications.length}${os.package_format ? ` (${os.package_format}/${os.package_management ?? '?'})` : ''}`);
  else if (os.package_note) lines.push(`  packages:     none: ${os.package_note}`);
  if (os.other_applications?.length) {
    const by = new Map<string, number>();
    for (const a of os.other_applications) by.set(a.source, (by.get(a.source) ?? 0) + 1);
    lines.push(`  also:         ${[...by].map(([src, n]) => `${n} ${src}${n === 1 ? '' : src === 'container' ? ' images' : 's'}`).join(', ')} (beside the package manager)`);
  }
  if (os.kernels?.length) lines.push(`  kernels:      ${os.kernels.map((k) => k.version).join(', ')}`);
  if (os.bootloader) lines.push(`  bootloader:   ${os.bootloader.type}${os.bootloader.default_entry ? `, default "${os.bootloader.default_entry}"` : ''}`);
  if (os.init_system) lines.push(`  init:         ${os.init_system}${os.default_target ? ` (${os.default_target})` : ''}, ${os.services?.length ?? 0} enabled units`);
  if (os.users) {
    const login = os.users.filter((u) => u.login_allowed).map((u) => u.name);
    lines.push(`  users:        ${os.users.length} (${login.length} can log in: ${login.join(', ')})`);
  }
  if (os.network) {
    for (const i of os.network.interfaces) lines.push(`  interface:    ${i.name} ${i.method ?? ''} ${i.addresses.join(' ')}`.trimEnd());
    if (os.network.dns_servers.length) lines.push(`  dns:          ${os.network.dns_servers.join(' ')}`);
  }
  if (os.timezone) lines.push(`  timezone:     ${os.timezone}`);
  if (os.security?.ssh) lines.push(`  sshd:         port ${os.security.ssh.port}, root login ${os.security.ssh.permitrootlogin}, passwords ${os.security.ssh.passwordauthentication}`);
  if (os.guest_agents?.length) lines.push(`  guest agents: ${os.guest_agents.join(', ')}`);
  lines.push(...windowsSummary(os));
  for (const w of os.warnings) lines.push(`  warning:      ${w}`);
  if (explain) {
    lines.push('  evidence:');
    for (const [fact, paths] of Object.entries(os.evidence)) lines.push(`    ${fact}: ${paths.join(', ')}`);
  }
  return lines;
}

/** Windows facts beyond virt-inspector's (issue 19), one line each, only those that were read. */
function windowsSummary(os: OperatingSystem): string[] {
  const lines: string[] = [];
  const d = os.domain;
  if (d) lines.push(`  domain:       ${d.joined ? `joined to ${d.dns_domain ?? d.name} (${d.name})` : `workgroup ${d.name}`}`);
  const locked = os.users?.filter((u) => u.locked).map((u) => u.name) ?? [];
  if (locked.length) lines.push(`  locked out:   ${locked.join(', ')}`);
  // the local groups that grant control: Administrators (544) and Remote Desktop Users (555)
  for (const [sid, label] of [['S-1-5-32-544', 'admins:      '], ['S-1-5-32-555', 'rdp users:   ']] as const) {
    const g = os.groups?.find((x) => x.sid === sid);
    if (g) lines.push(`  ${label} ${g.members.join(', ') || '(none)'}`);
  }
  if (os.user_applications?.length) lines.push(`  user apps:    ${os.user_applications.length} (${[...new Set(os.user_applications.map((a) => a.user))].join(', ')})`);
  if (os.updates) {
    const latest = os.updates.filter((u) => u.installed).sort((a, b) => (a.installed! < b.installed! ? 1 : -1))[0];
    lines.push(`  updates:      ${os.updates.length} KBs${latest ? `, latest ${latest.kb} (${latest.installed!.slice(0, 10)})` : ''}`);
  }
  if (os.server_features) lines.push(`  features:     ${os.server_features.length} (${os.server_features.join(', ')})`);
  if (os.pending_reboot) lines.push(`  reboot:       ${os.pending_reboot.pending ? `pending (${os.pending_reboot.markers.join(', ')})` : 'not pending'}`);
  const wu = os.windows_update;
  if (wu) lines.push(`  wu policy:    ${wu.no_auto_update ? 'automatic updates off' : (wu.au_options_text ?? 'set')}${wu.wu_server ? `, WSUS ${wu.wu_server}` : ''}`);
  if (os.virt_drivers) {
    const fam = Object.entries(os.virt_drivers).filter(([, v]) => v).map(([k]) => k);
    lines.push(`  drivers:      ${os.drivers?.length ?? 0} packages; paravirtual: ${fam.join(', ') || 'none'}${os.virt_drivers.virtio ? '' : ' (no virtio drivers)'}`);
  }
  return lines;
}

async function run(images: string[], opts: InspectCliOptions): Promise<number> {
  const disks = opts.disk ?? [];
  if (images.length === 0 && disks.length === 0) throw usage('give at least one IMAGE (or --disk IMAGE)');
  if (images.length && disks.length) throw usage('give either positional IMAGEs (one guest each) or --disk (one multi-disk guest), not both');
  const guests = disks.length ? [disks] : images.map((i) => [i]);
  await checkImagePaths(guests.flat());
  const options = {
    include_packages: opts.packages !== false,
    include_services: opts.services !== false,
    include_users: opts.users !== false,
    include_network: opts.network !== false,
    include_security: opts.security !== false,
    include_storage: opts.storage !== false,
    // the same GUESTKIT_INSPECT_* budgets a worker applies (docs/inspection.md, "Budgets")
    budget: budgetFromEnv(),
  };
  // With several guests a failed one is reported in its place, so none is silently missing.
  const results: (Inspection | { disks: string[]; error: ProtocolError })[] = [];
  let failed = 0;
  for (const g of guests) {
    const line = new StageLine();
    const done = results.length;
    try {
      const r = await inspect({ disks: g, format: opts.format as never, options, onStage: (s) => line.stage(s) });
      line.done();
      results.push(r);
      if (!opts.json && !opts.yaml) process.stdout.write(summary(r, Boolean(opts.explain)) + '\n');
      requireOs(r);
    } catch (err) {
      line.done();
      failed++;
      if (guests.length === 1) throw err;
      const perr = toProtocolError(err);
      if (results.length === done) results.push({ disks: g, error: perr });
      process.stderr.write(`guestkit: ${perr.code}: ${perr.message}\n`);
    }
  }
  const doc = results.length === 1 && guests.length === 1 ? results[0] : results;
  if (opts.json) writeJson(doc);
  else if (opts.yaml) process.stdout.write((await import('yaml')).stringify(doc));
  return failed ? 1 : 0;
}

export function registerInspectCommands(program: Command): void {
  program
    .command('inspect')
    .description('Find the operating systems on disk images and report their facts (like virt-inspector)')
    .argument('[image...]', 'disk images; each one is a separate guest')
    .option('--disk <image>', 'a disk of ONE multi-disk guest (repeat: first is /dev/sda)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'the full inspection document as JSON')
    .addOption(new Option('--yaml', 'the full inspection document as YAML').conflicts('json'))
    .addOption(formatOption())
    .option('--explain', 'show which guest files each fact came from')
    .option('--no-packages', 'skip installed applications, kernels and boot loader')
    .option('--no-services', 'skip init system and services')
    .option('--no-users', 'skip users and groups')
    .option('--no-network', 'skip network configuration')
    .option('--no-security', 'skip SELinux/AppArmor/sshd settings')
    .option('--no-storage', 'skip fstab/crypttab details')
    .action(action(run));
}
