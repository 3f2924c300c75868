import type { Hive } from '../../registry/index.js';
import type { GuestView } from '../guest-view.js';
import type { OperatingSystem, WindowsDriver } from '../types.js';

export const DRIVER_PACKAGES = 'DriverDatabase\\DriverPackages';
const MAX_DRIVERS = 50000;

/** <inf>_<arch>_<16 hex digits>: a DriverStore package (its FileRepository folder name). */
const PACKAGE = /^(.+?\.inf)_([a-z0-9]+)_([0-9a-f]{16})$/i;

/** INF names of the paravirtual drivers, by hypervisor (virtio-win, VMware Tools, inbox Hyper-V, Xen PV, VirtualBox additions). */
const FAMILIES: Record<string, string[]> = {
  virtio: ['viostor', 'vioscsi', 'netkvm', 'balloon', 'vioser', 'viorng', 'vioinput', 'viofs', 'viogpudo', 'viomem', 'pvpanic', 'qemufwcfg', 'qemupciserial', 'fwcfg'],
  vmware: ['pvscsi', 'vmxnet3', 'vmxnet', 'vmci', 'vm3d', 'vmhgfs', 'vmmouse', 'vmusbmouse', 'vmaudio', 'vsock', 'vmrawdsk', 'vmmemctl'],
  hyperv: ['wnetvsc', 'netvsc', 'wstorvsc', 'storvsc', 'wvmbus', 'wvmbusr', 'vmbus', 'wvmic', 'wvmic_ext', 'hyperkbd', 'wvms_mp', 'wvms_pp', 'synth3dvsc', 'hypervideo', 'wvpci', 'wgencounter', 'vmgencounter'],
  xen: ['xenvbd', 'xennet', 'xenbus', 'xenvif', 'xeniface'],
  virtualbox: ['vboxguest', 'vboxsf', 'vboxmouse', 'vboxvideo', 'vboxwddm'],
};
const FAMILY_OF = new Map<string, string>(Object.entries(FAMILIES).flatMap(([f, infs]) => infs.map((i): [string, string] => [`${i}.inf`, f])));

export function driverFamily(inf: string): string | undefined {
  return FAMILY_OF.get(inf.toLowerCase());
}

/**
 * The driver packages of the DriverStore: SYSTEM\DriverDatabase\DriverPackages\<inf>_<arch>_<hash>
 * (default value = the published name, oemN.inf for third-party packages; Provider), or, when
 * the hive has no DriverDatabase (before Windows 8), the folder names of
 * System32\DriverStore\FileRepository. Each paravirtual driver is tagged with its hypervisor.
 * `keys` receives the hive key read (the folder read is the view's evidence).
 */
export async function readDrivers(g: GuestView, system: Hive, systemRoot: string, keys: string[]): Promise<WindowsDriver[]> {
  const out: WindowsDriver[] = [];
  const db = await system.key(DRIVER_PACKAGES);
  if (db) {
    keys.push(db.path);
    for (const k of (await db.subkeys()).slice(0, MAX_DRIVERS)) {
      const m = PACKAGE.exec(k.name);
      if (!m) continue;
      const published = (await k.value(''))?.string()?.trim();
      const provider = (await k.value('Provider'))?.string()?.trim();
      out.push(driver(k.name, m[1]!, published, provider));
    }
  } else {
    const repo = `${systemRoot}/System32/DriverStore/FileRepository`;
    const names = await g.list(repo);
    for (const name of names.slice(0, MAX_DRIVERS)) {
      const m = PACKAGE.exec(name);
      if (m) out.push(driver(name, m[1]!));
    }
  }
  return out.sort((a, b) => (a.package < b.package ? -1 : a.package > b.package ? 1 : 0));
}

function driver(pkg: string, inf: string, published?: string, provider?: string): WindowsDriver {
  const family = driverFamily(inf);
  return { package: pkg, inf: inf.toLowerCase(), ...(published ? { published_name: published } : {}), ...(provider ? { provider } : {}), ...(family ? { family } : {}) };
}

/** Which hypervisors' paravirtual drivers the DriverStore holds (migration: are virtio drivers there?). */
export function virtDrivers(drivers: WindowsDriver[]): NonNullable<OperatingSystem['virt_drivers']> {
  const has = (f: string) => drivers.some((d) => d.family === f);
  return { virtio: has('virtio'), vmware: has('vmware'), hyperv: has('hyperv'), xen: has('xen'), virtualbox: has('virtualbox') };
}
