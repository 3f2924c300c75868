import type { Hive } from '../../registry/index.js';
import type { GuestDevice } from '../devices.js';
import type { AssembledRoot } from '../guest.js';
import { CollectorBugError, faultOf, isCollectorBug, runCollector } from '../faults.js';
import { GuestView } from '../guest-view.js';
import type { StageTimer } from '../linux/index.js';
import type { InspectFlags, OperatingSystem } from '../types.js';
import { detectWindowsAgents } from './agents.js';
import { readApplications } from './applications.js';
import { readDriveMappings } from './drives.js';
import { readServerFeatures, SERVER_COMPONENTS } from './features.js';
import { readDrivers, virtDrivers } from './driverstore.js';
import { findSystemRoot, openGuestHive } from './hives.js';
import { readNetwork } from './network.js';
import { PROFILE_LIST, readProfiles, readUserApplications } from './profiles.js';
import { readAccountDomainSid, readDomainMembership } from './domain.js';
import { detectWindowsArch } from './pe.js';
import { readServices } from './services.js';
import { currentControlSet, readHostname, readTimezone } from './system.js';
import { readPendingReboot, readUpdateSettings, WU_POLICY, WU_REBOOT_REQUIRED } from './servicing.js';
import { CBS, readUpdates } from './updates.js';
import { readAliases, readUsers } from './users.js';
import { readWindowsVersion, windowsDisplayName, windowsOsinfo } from './version.js';

/**
 * All facts of one Windows root, from its registry hives (SOFTWARE, SYSTEM, SAM) and a
 * few files. `devices` (the guest's block devices) lets drive letters be mapped to
 * partitions; without it only the root's own partition can be recognised.
 * Transaction logs (.LOG1/.LOG2) are not replayed: a dirty hive is read as it is, with a warning.
 */
export async function inspectWindows(a: AssembledRoot, opts: Required<InspectFlags>, time: StageTimer, devices?: GuestDevice[]): Promise<OperatingSystem> {
  const warnings: string[] = [...a.warnings];
  const budget = a.budget;
  const base = new GuestView(a.vfs, warnings, budget);
  const evidence: Record<string, string[]> = {};
  const hives = new Map<string, Promise<Hive | undefined>>();
  let systemRoot = '/Windows';

  const hivePath = (name: string) => `${systemRoot}/System32/config/${name}`;
  /** A hive, opened once; a damaged or missing one is a warning and leaves its facts out. */
  const hive = (name: string): Promise<Hive | undefined> => {
    let p = hives.get(name);
    if (!p) {
      p = openGuestHive(base.scope(), systemRoot, name).catch((err: unknown) => {
        const f = faultOf(err);
        // a spent budget leaves the hive out (partial) unless asked to fail; a bug is never a warning
        if (f === 'budget' && !budget.failFast) return undefined;
        if (f !== 'guest') throw f === 'bug' && !isCollectorBug(err) ? new CollectorBugError(`hive ${name}`, err) : err;
        const msg = (err as Error).message;
        const path = hivePath(name);
        warnings.push(msg.startsWith(path) ? msg : `${path}: ${msg}`);
        return undefined;
      });
      hives.set(name, p);
    }
    return p;
  };
  /** Runs one collector; its evidence is the hive keys it names plus the files its view read. */
  const run = async <T>(fact: string, from: string[], fn: (g: GuestView) => Promise<T>): Promise<T | undefined> => {
    if (budget.exhausted) return undefined;
    const g = base.scope();
    let ok = false;
    try {
      // a damaged hive or file is a warning, a spent budget skips the rest, a bug fails the inspection (faults.ts)
      return await runCollector(
        fact,
        async () => {
          const v = await fn(g);
          ok = true;
          return v;
        },
        (m) => warnings.push(m),
        budget.failFast,
      );
    } finally {
      // a fact that failed names only the files it did read, not the keys it could not
      const ev = [...(ok ? from : []), ...g.evidence];
      if (ev.length) evidence[fact] = [...new Set(ev)];
    }
  };

  const os: OperatingSystem = await time('os_detection', async () => {
    systemRoot = (await run('systemroot', [], findSystemRoot)) ?? systemRoot;
    const software = await hive('SOFTWARE');
    const system = await hive('SYSTEM');
    const ver = (software && (await run('release', [`${hivePath('SOFTWARE')}:Microsoft\\Windows NT\\CurrentVersion`], () => readWindowsVersion(software)))) ?? {
      major_version: 0,
      minor_version: 0,
    };
    const arch = await run('arch', [], (g) => detectWindowsArch(g, systemRoot));
    const found = system ? await run('control_set', [`${hivePath('SYSTEM')}:Select`], () => currentControlSet(system)) : undefined;
    const cs = found ?? 'ControlSet001';
    const hostname = system
      ? await run('hostname', [`${hivePath('SYSTEM')}:${cs}\\Control\\ComputerName\\ComputerName`], () => readHostname(system, cs))
      : undefined;
    const drives = system
      ? await run('drive_mappings', [`${hivePath('SYSTEM')}:MountedDevices`], () => readDriveMappings(system, devices ?? [a.root.device]))
      : undefined;
    const display = windowsDisplayName(ver);
    return {
      root: a.root.device.device,
      type: 'windows' as const,
      name: 'windows',
      distro: 'windows',
      ...(ver.product_name ? { product_name: ver.product_name } : {}),
      ...(ver.product_variant ? { product_variant: ver.product_variant } : {}),
      // the readable name: ProductName corrected by the build (Windows 11 says "Windows 10" there)
      ...(display ? { pretty_name: display } : {}),
      major_version: ver.major_version,
      minor_version: ver.minor_version,
      ...(arch ? { arch } : {}),
      ...(hostname ? { hostname } : {}),
      osinfo: windowsOsinfo(ver),
      mountpoints: a.mountpoints,
      filesystems: a.filesystems,
      evidence,
      warnings,
      ...(ver.build_id ? { build_id: ver.build_id } : {}),
      ...(ver.edition ? { edition: ver.edition } : {}),
      windows_systemroot: systemRoot,
      ...(drives ? { drive_mappings: drives } : {}),
      ...(found ? { windows_current_control_set: found } : {}),
    };
  });
  const cs = os.windows_current_control_set ?? 'ControlSet001';

  const software = await hive('SOFTWARE');
  const system = await hive('SYSTEM');
  let apps: OperatingSystem['applications'];
  /** The Uninstall keys read (native and WOW6432Node views, as the hive spells them). */
  const uninstallKeys: string[] = [];
  const readApps = async () => {
    if (apps === undefined && software) {
      apps = await run('applications', uninstallKeys, async () => {
        const read: string[] = [];
        const list = await readApplications(software, os.arch, read);
        uninstallKeys.push(...read.map((k) => `${hivePath('SOFTWARE')}:${k}`));
        return list;
      });
    }
    return apps;
  };
  if (opts.include_packages) {
    await time('package_scan', async () => {
      const a = await readApps();
      if (a) os.applications = a;
      if (software) {
        // per-user programs: each profile's NTUSER.DAT, read only with the package facts
        const ua = await run('user_applications', [`${hivePath('SOFTWARE')}:${PROFILE_LIST}`], async (g) => readUserApplications(g, await readProfiles(software)));
        if (ua) os.user_applications = ua;
        const updateKeys: string[] = [];
        const up = await run('updates', updateKeys, async () => {
          const read: string[] = [];
          const list = await readUpdates(software, read);
          updateKeys.push(...read.map((k) => `${hivePath('SOFTWARE')}:${k}`));
          return list;
        });
        if (up) os.updates = up;
        // roles and features: servers only (the key is absent on clients, and so is the evidence)
        const featureKeys: string[] = [];
        const features = await run('server_features', featureKeys, async () => {
          const f = await readServerFeatures(software);
          if (f) featureKeys.push(`${hivePath('SOFTWARE')}:${SERVER_COMPONENTS}`);
          return f;
        });
        if (features) os.server_features = features;
      }
    });
  }
  if (opts.include_services && system) {
    await time('service_scan', async () => {
      const s = await run('services', [`${hivePath('SYSTEM')}:${cs}\\Services`], () => readServices(system, cs));
      if (s) os.services = s;
      const a = await readApps();
      const from = [...(s ? [`${hivePath('SYSTEM')}:${cs}\\Services`] : []), ...(a ? uninstallKeys : [])];
      const agents = await run('guest_agents', from, async () => detectWindowsAgents(s ?? [], a ?? []));
      if (agents) os.guest_agents = agents;
      // the DriverStore's packages (paravirtual drivers: what a migration needs)
      const driverKeys: string[] = [];
      const drivers = await run('drivers', driverKeys, async (g) => {
        const keys: string[] = [];
        const d = await readDrivers(g, system, systemRoot, keys);
        driverKeys.push(...keys.map((k) => `${hivePath('SYSTEM')}:${k}`));
        return d;
      });
      if (drivers) {
        os.drivers = drivers;
        os.virt_drivers = virtDrivers(drivers);
      }
    });
  }
  if (opts.include_users) {
    await time('user_scan', async () => {
      const sam = await hive('SAM');
      if (!sam) return;
      // local accounts' SIDs are the machine's account domain SID (SECURITY hive) plus their RID
      const security = await hive('SECURITY');
      const accountSid = security ? await run('account_domain', [`${hivePath('SECURITY')}:Policy\\PolAcDmS`], () => readAccountDomainSid(security)) : undefined;
      const groups = await run('groups', [`${hivePath('SAM')}:SAM\\Domains\\Builtin\\Aliases`], (g) => readAliases(sam, accountSid, (m) => g.warn(`${hivePath('SAM')}: ${m}`)));
      if (groups) os.groups = groups;
      const u = await run('users', [`${hivePath('SAM')}:SAM\\Domains\\Account\\Users`], () => readUsers(sam, software, accountSid, groups));
      if (u) os.users = u;
    });
  }
  if (opts.include_network && system) {
    await time('network_scan', async () => {
      const n = await run('network', [`${hivePath('SYSTEM')}:${cs}\\Services\\Tcpip\\Parameters`], (g) => readNetwork(g, system, cs, systemRoot));
      if (n) os.network = n;
      // membership needs the SECURITY hive, opened only when network facts are asked for
      const security = await hive('SECURITY');
      if (security) {
        const d = await run('domain', [`${hivePath('SECURITY')}:Policy\\PolPrDmN`, `${hivePath('SECURITY')}:Policy\\PolPrDmS`, `${hivePath('SYSTEM')}:${cs}\\Services\\Tcpip\\Parameters`], () => readDomainMembership(security, system, cs));
        if (d) os.domain = d;
      }
    });
  }
  if (system || (opts.include_security && software)) {
    await time('system_scan', async () => {
      if (system) {
        const tz = await run('timezone', [`${hivePath('SYSTEM')}:${cs}\\Control\\TimeZoneInformation`], () => readTimezone(system, cs));
        if (tz) os.timezone = tz;
      }
      if (!opts.include_security) return;
      // pending-reboot markers and Windows Update policy: read with the security facts
      const from = [
        ...(software ? [`${hivePath('SOFTWARE')}:${CBS}\\RebootPending`, `${hivePath('SOFTWARE')}:${WU_REBOOT_REQUIRED}`] : []),
        ...(system ? [`${hivePath('SYSTEM')}:${cs}\\Control\\Session Manager`] : []),
      ];
      const pr = await run('pending_reboot', from, () => readPendingReboot(software, system, cs));
      if (pr) os.pending_reboot = pr;
      if (software) {
        const wu = await run('windows_update', [`${hivePath('SOFTWARE')}:${WU_POLICY}`], () => readUpdateSettings(software));
        if (wu) os.windows_update = wu;
      }
    });
  }
  return os;
}
