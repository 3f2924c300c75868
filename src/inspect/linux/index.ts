import type { AssembledRoot } from '../guest.js';
import { runCollector } from '../faults.js';
import { GuestView } from '../guest-view.js';
import type { InspectFlags, OperatingSystem } from '../types.js';
import { detectArch } from './arch.js';
import { detectOtherApplications } from './beside-pm.js';
import { detectBootloader, detectKernels } from './boot.js';
import { detectFlatcar, FLATCAR_PACKAGE_NOTE, type FlatcarFacts } from './flatcar.js';
import { detectHostname } from './hostname.js';
import { detectNetwork } from './network.js';
import { nixApplications, nixosGenerations, nixosOsinfo } from './nixos.js';
import { ostreeOsinfo } from './ostree.js';
import { detectApplications, missingApplicationsReason } from './packages/index.js';
import { detectRelease, osinfoOf, packageFormatOf, packageManagementOf } from './release.js';
import { detectServices } from './services.js';
import { detectCloudInit, detectGuestAgents, detectLocale, detectSecurity, detectTimezone } from './system.js';
import { detectUsers } from './users.js';

/** Fedora CoreOS's libosinfo id (fedora-coreos-<stream>) from os-release VARIANT_ID and the default deployment. */
async function ostreeOsinfoOf(g: GuestView, a: AssembledRoot): Promise<string | undefined> {
  const variant = /^VARIANT_ID=["']?([^"'\n]*)/m.exec((await g.text('/usr/lib/os-release')) ?? '')?.[1];
  return ostreeOsinfo(variant, a.ostree?.deployments.find((d) => d.default));
}

export type StageTimer = <T>(stage: string, fn: () => Promise<T>) => Promise<T>;

/** All facts of one Linux root. Each collector reads through its own view so its evidence is its own. */
export async function inspectLinux(a: AssembledRoot, opts: Required<InspectFlags>, time: StageTimer): Promise<OperatingSystem> {
  const warnings: string[] = [...a.warnings];
  const budget = a.budget;
  const base = new GuestView(a.vfs, warnings, budget);
  const evidence: Record<string, string[]> = {};
  /** One collector: a damaged guest file is a warning, a spent budget skips the rest, a bug fails the inspection (faults.ts). */
  const run = async <T>(fact: string, fn: (g: GuestView) => Promise<T>): Promise<T | undefined> => {
    if (budget.exhausted) return undefined;
    const g = base.scope();
    try {
      return await runCollector(fact, () => fn(g), (m) => warnings.push(m), budget.failFast);
    } finally {
      if (g.evidence.length) evidence[fact] = g.evidence;
    }
  };

  const os: OperatingSystem = await time('os_detection', async () => {
    // Flatcar: os-release from /usr, the A/B /usr partitions, no package manager at all.
    const fc: FlatcarFacts | undefined = a.flatcar ? await run('release', (g) => detectFlatcar(g, a.flatcar!)) : undefined;
    const { osinfo: fcOsinfo, usr_partitions, build_id, ...fcRel } = fc ?? { osinfo: undefined, usr_partitions: undefined, build_id: undefined };
    const rel = fc ? (fcRel as typeof fcRel & { distro: string; major_version: number; minor_version: number }) : ((await run('release', detectRelease)) ?? { distro: 'unknown', major_version: 0, minor_version: 0 });
    const arch = await run('arch', detectArch);
    const hostname = await run('hostname', detectHostname);
    const nixos = rel.distro === 'nixos';
    const nixos_generations = nixos ? await run('nixos_generations', nixosGenerations) : undefined;
    const package_format = a.flatcar ? 'none' : nixos ? 'nix' : packageFormatOf(rel.distro);
    const package_management = a.flatcar ? 'none' : nixos ? 'nix' : await run('package_management', (g) => packageManagementOf(g, rel.distro, rel.major_version));
    return {
      root: a.root.device.device + (a.root.subvol ? `:${a.root.subvol}` : ''),
      type: 'linux' as const,
      name: 'linux',
      ...rel,
      ...(arch ? { arch } : {}),
      ...(hostname ? { hostname } : {}),
      osinfo: fcOsinfo ?? (a.ostree ? await runCollector('osinfo', () => ostreeOsinfoOf(base.scope(), a), (m) => warnings.push(m), budget.failFast) : undefined) ?? (nixos ? nixosOsinfo(rel.major_version, rel.minor_version) : undefined) ?? osinfoOf('linux', rel.distro, rel.major_version, rel.minor_version),
      ...(build_id ? { build_id } : {}),
      ...(package_format ? { package_format } : {}),
      ...(package_management ? { package_management } : {}),
      ...(a.flatcar ? { package_note: FLATCAR_PACKAGE_NOTE } : {}),
      ...(usr_partitions ? { usr_partitions } : {}),
      ...(a.ostree ? { ostree_deployments: a.ostree.deployments } : {}),
      ...(nixos_generations ? { nixos_generations } : {}),
      mountpoints: a.mountpoints,
      filesystems: a.filesystems,
      evidence,
      warnings,
    };
  });
  if (a.flatcar) {
    const { layout } = a.flatcar;
    evidence.usr =
      layout.chosenBy === 'attributes'
        ? [`GPT attributes (priority/tries/successful) of ${layout.usrPartitions.map((u) => u.device).join(', ')}`]
        : [`GPT partition name ${layout.usrPartitions.find((u) => u.active)?.label ?? layout.usr.device} (no priority attributes set)`];
  }
  if (opts.include_storage) {
    os.fstab = a.fstab;
    os.crypttab = a.crypttab;
    evidence.fstab = ['/etc/fstab'];
  }
  if (opts.include_packages) {
    await time('package_scan', async () => {
      const apps = a.flatcar ? undefined : await run('applications', (g) => (os.package_format === 'nix' ? nixApplications(g) : detectApplications(g, os.package_format)));
      if (apps) os.applications = apps;
      else if (!a.flatcar && !budget.exhausted) warnings.push(await missingApplicationsReason(base.scope()));
      const other = await run('other_applications', detectOtherApplications);
      if (other) os.other_applications = other;
      const kernels = await run('kernels', detectKernels);
      if (kernels) os.kernels = kernels;
      const bl = await run('bootloader', detectBootloader);
      if (bl) os.bootloader = bl;
    });
  }
  if (opts.include_services) {
    await time('service_scan', async () => {
      const s = await run('services', detectServices);
      if (s) {
        os.init_system = s.init_system;
        if (s.default_target) os.default_target = s.default_target;
        os.services = s.services;
      }
      const agents = await run('guest_agents', detectGuestAgents);
      if (agents) os.guest_agents = agents;
      const ci = await run('cloud_init', detectCloudInit);
      if (ci) os.cloud_init = ci;
    });
  }
  if (opts.include_users) {
    await time('user_scan', async () => {
      const u = await run('users', detectUsers);
      if (u) Object.assign(os, u);
    });
  }
  if (opts.include_network) {
    await time('network_scan', async () => {
      const n = await run('network', detectNetwork);
      if (n) os.network = n;
    });
  }
  await time('system_scan', async () => {
    const tz = await run('timezone', detectTimezone);
    if (tz) os.timezone = tz;
    const loc = await run('locale', detectLocale);
    if (loc) os.locale = loc;
    if (opts.include_security) {
      const sec = await run('security', detectSecurity);
      if (sec) os.security = sec;
    }
  });
  return os;
}
