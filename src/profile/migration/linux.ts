import type { GuestView } from '../../inspect/guest-view.js';
import type { Kernel, OperatingSystem } from '../../inspect/types.js';
import { isBudgetError } from '../../inspect/budget.js';
import { GuestkitError } from '../../protocol/errors.js';
import type { Evidence } from '../types.js';
import { listInitramfs } from './initramfs.js';
import type { MigrationItem, MigrationTarget } from './types.js';

/** Largest initramfs read (distribution ones are 10–80 MiB). */
const MAX_INITRAMFS = 512 << 20;
/** Disk names that change on the target: virtio-blk disks are vd*, so sd, hd and xvd names move. */
const MOVING_DEVICE = /^\/dev\/(sd|hd|xvd)[a-z]+\d*$/;
const ROOT_ARG = /(?:^|\s)root=(\S+)/;
/** Interface names of VMware's virtual slots (vmxnet3/e1000 at PCI slots 33, 160, 192, 224, 256 …). */
const VMWARE_NAME = /^ens(3[2-9]|16[0-9]|19[2-9]|22[4-9]|25[6-9])$/;
const STORAGE = ['virtio_blk', 'virtio_scsi'];
const HYPERVISOR_TOOLS = ['open-vm-tools', 'open-vm-tools-desktop', 'open-vm-tools-sdmp', 'vmware-tools', 'hyperv-daemons', 'hypervkvpd', 'hypervvssd', 'hypervfcopyd', 'walinuxagent', 'WALinuxAgent', 'xe-guest-utilities'];
/** cloud-init datasources that find their configuration on each target. */
const DATASOURCES: Record<MigrationTarget, string[]> = { kvm: ['NoCloud', 'ConfigDrive'], kubevirt: ['NoCloud', 'ConfigDrive'], openstack: ['OpenStack', 'ConfigDrive'] };

/** Readiness of a Linux guest, from its inspection and its files (the initramfs read itself). */
export async function linuxMigration(os: OperatingSystem, view: GuestView, target: MigrationTarget): Promise<MigrationItem[]> {
  const pkgs = new Set((os.applications ?? []).map((a) => a.name));
  return [
    ...(await virtioDrivers(os, view)),
    fstabNames(os),
    await bootloaderRoot(os),
    await macBound(os, view),
    vmwareNames(os),
    cloudInit(os, pkgs, target),
    hypervisorTools(os, pkgs),
    guestAgent(os, pkgs),
  ];
}

/** Kernels newest first, by their version's numeric parts. */
function newestFirst(kernels: Kernel[]): Kernel[] {
  const key = (v: string) => v.split(/[^0-9]+/).filter(Boolean).map(Number);
  return [...kernels].sort((a, b) => {
    const x = key(a.version);
    const y = key(b.version);
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? -1) !== (y[i] ?? -1)) return (y[i] ?? -1) - (x[i] ?? -1);
    return 0;
  });
}

const moduleIn = (names: Iterable<string>, mod: string) => {
  const re = new RegExp(`(^|/)${mod}\\.ko(\\.(xz|zst|gz))?$`);
  for (const n of names) if (re.test(n)) return n;
  return undefined;
};

async function virtioDrivers(os: OperatingSystem, view: GuestView): Promise<MigrationItem[]> {
  const kernels = newestFirst(os.kernels ?? []);
  const k = kernels[0];
  if (!k) {
    return [unknown('migration.virtio_storage', 'virtio storage driver in the initramfs', 'no kernel found under /boot: the boot partition may be on a disk not given')];
  }
  const modDir = k.modules_dir ?? `/lib/modules/${k.version}`;
  const builtinText = (await view.text(`${modDir}/modules.builtin`, 4 << 20)) ?? '';
  const builtin = builtinText.split('\n');
  const evidence: Evidence[] = [];
  const builtinStorage = STORAGE.map((m) => moduleIn(builtin, m)).find(Boolean);
  if (builtinStorage) evidence.push({ file: `${modDir}/modules.builtin`, value: builtinStorage, note: 'built into the kernel' });
  let inInitramfs: string | undefined;
  let initrdNote: string | undefined;
  if (!builtinStorage) {
    if (!k.initrd) initrdNote = `kernel ${k.version} has no initramfs under /boot`;
    else {
      try {
        const buf = await view.bytes(k.initrd, MAX_INITRAMFS);
        if (!buf) initrdNote = `${k.initrd} cannot be read`;
        else {
          const listing = await listInitramfs(buf);
          inInitramfs = STORAGE.map((m) => moduleIn(listing.names, m)).find(Boolean);
          evidence.push({ file: k.initrd, value: inInitramfs ?? 'no virtio_blk or virtio_scsi module', expected: 'virtio_blk.ko or virtio_scsi.ko', note: listing.segments.map((s) => `${s.compression} archive of ${s.entries} entries`).join(', ') });
        }
      } catch (err) {
        // a bug, or a spent inspection budget, is not a fact about the guest
        if (!(err instanceof GuestkitError) || isBudgetError(err)) throw err;
        initrdNote = `${k.initrd}: ${err.message}`;
      }
    }
  }
  const items: MigrationItem[] = [];
  const title = 'virtio storage driver available at boot';
  if (builtinStorage || inInitramfs) {
    items.push({ id: 'migration.virtio_storage', title, level: 'ok', severity: 'critical', message: `kernel ${k.version} can reach a virtio disk at boot (${builtinStorage ? 'built in' : 'in its initramfs'})`, evidence });
  } else if (initrdNote && k.initrd) {
    items.push(unknown('migration.virtio_storage', title, initrdNote));
  } else {
    const rebuild = os.package_format === 'rpm' ? `dracut -f --add-drivers "virtio_blk virtio_scsi virtio_pci" /boot/initramfs-${k.version}.img ${k.version}` : `echo virtio_blk >> /etc/initramfs-tools/modules; echo virtio_scsi >> /etc/initramfs-tools/modules; echo virtio_pci >> /etc/initramfs-tools/modules; update-initramfs -u -k ${k.version}`;
    items.push({
      id: 'migration.virtio_storage',
      title,
      level: 'blocker',
      severity: 'critical',
      message: initrdNote ?? `the initramfs of kernel ${k.version} (the newest) has no virtio_blk or virtio_scsi module and the kernel has none built in: it will not find its root disk on the target`,
      evidence: evidence.length ? evidence : [{ note: initrdNote }],
      change: { when: 'before', step: `add the virtio drivers to the initramfs: ${rebuild}` },
    });
  }
  // the network driver loads from the root filesystem later: the module only has to exist
  const netBuiltin = moduleIn(builtin, 'virtio_net');
  const netModule = netBuiltin ?? (await firstExisting(view, ['', '.xz', '.zst', '.gz'].map((x) => `${modDir}/kernel/drivers/net/virtio_net.ko${x}`)));
  items.push(
    netModule
      ? { id: 'migration.virtio_network', title: 'virtio network driver', level: 'ok', severity: 'high', message: `kernel ${k.version} has the virtio_net driver`, evidence: [{ file: netBuiltin ? `${modDir}/modules.builtin` : `${modDir}/kernel/drivers/net/`, value: 'virtio_net' }] }
      : {
          id: 'migration.virtio_network',
          title: 'virtio network driver',
          level: 'warning',
          severity: 'high',
          message: `kernel ${k.version} has no virtio_net driver: the guest will have no network on the target`,
          evidence: [{ file: `${modDir}/kernel/drivers/net/`, expected: 'virtio_net.ko' }],
          change: { when: 'before', step: 'install a kernel with virtio_net (every distribution kernel has it)' },
        },
  );
  return items;
}

function fstabNames(os: OperatingSystem): MigrationItem {
  const title = 'filesystems mounted by stable names';
  const moving = (os.fstab ?? []).filter((e) => MOVING_DEVICE.test(e.spec));
  if (moving.length === 0) return { id: 'migration.fstab_device_names', title, level: 'ok', severity: 'high', message: 'fstab names no device by a name that changes on virtio disks', evidence: [{ file: '/etc/fstab' }] };
  const root = moving.some((e) => e.file === '/');
  return {
    id: 'migration.fstab_device_names',
    title,
    level: root ? 'blocker' : 'warning',
    severity: root ? 'critical' : 'high',
    message: `fstab mounts ${moving.map((e) => `${e.file} from ${e.spec}`).join(', ')}: on the target the disks are /dev/vd*, so ${root ? 'the root filesystem is not found' : 'these mounts fail'}`,
    evidence: moving.map((e) => ({ file: '/etc/fstab', value: `${e.spec} ${e.file}`, expected: 'UUID=…, LABEL=… or PARTUUID=…' })),
    change: { when: 'before', step: 'replace the device names in /etc/fstab by UUID= (blkid shows them)' },
  };
}

async function bootloaderRoot(os: OperatingSystem): Promise<MigrationItem> {
  const title = 'boot loader names the root by a stable name';
  const bl = os.bootloader;
  if (!bl || bl.entries.length === 0) return unknown('migration.bootloader_root', title, 'no boot loader configuration was read');
  const bad = bl.entries.filter((e) => {
    const root = ROOT_ARG.exec(e.options ?? '')?.[1];
    return root !== undefined && MOVING_DEVICE.test(root);
  });
  if (bad.length === 0) return { id: 'migration.bootloader_root', title, level: 'ok', severity: 'critical', message: `the ${bl.type} entries name the root filesystem by UUID, label or a volume path`, evidence: [{ file: bl.config }] };
  return {
    id: 'migration.bootloader_root',
    title,
    level: 'blocker',
    severity: 'critical',
    message: `${bad.length} ${bl.type} entr${bad.length === 1 ? 'y names' : 'ies name'} the root by a device name that changes on virtio disks`,
    evidence: bad.map((e) => ({ file: bl.config, value: `${e.title}: root=${ROOT_ARG.exec(e.options ?? '')?.[1]}`, expected: 'root=UUID=…' })),
    change: { when: 'before', step: os.package_format === 'rpm' ? 'grubby --update-kernel=ALL --args="root=UUID=<root fs uuid>"' : 'set GRUB_DISABLE_LINUX_UUID=false (or remove it) in /etc/default/grub and run update-grub' },
  };
}

async function macBound(os: OperatingSystem, view: GuestView): Promise<MigrationItem> {
  const title = 'network configuration not tied to MAC addresses';
  const evidence: Evidence[] = (os.network?.interfaces ?? []).filter((i) => i.mac).map((i) => ({ file: i.source, value: `${i.name}: ${i.mac}` }));
  const udev = '/etc/udev/rules.d/70-persistent-net.rules';
  const rules = await view.text(udev);
  (rules ?? '').split('\n').forEach((l, i) => {
    const mac = /ATTR\{address\}=="([0-9a-fA-F:]{17})"/.exec(l);
    if (mac && !l.trimStart().startsWith('#')) evidence.push({ file: udev, line: i + 1, value: mac[1] });
  });
  if (evidence.length === 0) return { id: 'migration.network_mac', title, level: 'ok', severity: 'high', message: 'no interface is configured for a MAC address', evidence: [] };
  return {
    id: 'migration.network_mac',
    title,
    level: 'warning',
    severity: 'high',
    message: `${evidence.length} interface setting(s) are tied to a MAC address: the target's NICs get new ones, so these settings will not apply`,
    evidence,
    change: { when: 'before', step: 'remove the MAC address matches (HWADDR=, macaddress:, mac-address=, 70-persistent-net.rules) or set the same MACs on the target' },
  };
}

function vmwareNames(os: OperatingSystem): MigrationItem {
  const title = 'network configuration not tied to VMware interface names';
  const bad = (os.network?.interfaces ?? []).filter((i) => VMWARE_NAME.test(i.name));
  if (bad.length === 0) return { id: 'migration.network_vmware_names', title, level: 'ok', severity: 'high', message: 'no configured interface has a VMware slot name', evidence: [] };
  return {
    id: 'migration.network_vmware_names',
    title,
    level: 'warning',
    severity: 'high',
    message: `${bad.map((i) => i.name).join(', ')} are VMware slot names: a virtio NIC is named differently (enp1s0, ens3), so this configuration will not apply`,
    evidence: bad.map((i) => ({ file: i.source, value: i.name })),
    change: { when: 'before', step: 'match the interface by driver or make the configuration apply to any interface (e.g. netplan match: {driver: virtio_net}), or rename it on the target' },
  };
}

function cloudInit(os: OperatingSystem, pkgs: Set<string>, target: MigrationTarget): MigrationItem {
  const title = `cloud-init ready for ${target}`;
  const ci = os.cloud_init;
  const wanted = DATASOURCES[target];
  if (!ci?.installed && !pkgs.has('cloud-init')) {
    if (target === 'kvm') return { id: 'migration.cloud_init', title, level: 'ok', severity: 'low', message: 'cloud-init is not installed; plain KVM does not need it', evidence: [] };
    return {
      id: 'migration.cloud_init',
      title,
      level: 'warning',
      severity: 'medium',
      message: `cloud-init is not installed: ${target} cannot set the hostname, keys or network of the guest`,
      evidence: [],
      change: { when: 'before', step: `install cloud-init (with the ${wanted.join(' or ')} datasource) or configure accounts and network by hand` },
    };
  }
  if (ci?.disabled) {
    return { id: 'migration.cloud_init', title, level: 'warning', severity: 'medium', message: 'cloud-init is installed but disabled (/etc/cloud/cloud-init.disabled)', evidence: [{ file: '/etc/cloud/cloud-init.disabled' }], change: { when: 'before', step: 'remove /etc/cloud/cloud-init.disabled' } };
  }
  const ds = ci?.datasources;
  if (ds && ds.length > 0 && !ds.some((d) => wanted.includes(d))) {
    return {
      id: 'migration.cloud_init',
      title,
      level: 'warning',
      severity: 'medium',
      message: `cloud-init's datasource_list (${ds.join(', ')}) has none of ${wanted.join(', ')}: it will not find ${target}'s configuration`,
      evidence: [{ file: '/etc/cloud/cloud.cfg', value: ds.join(', '), expected: wanted.join(' or ') }],
      change: { when: 'before', step: `set datasource_list: [ ${[...wanted, 'None'].join(', ')} ] in /etc/cloud/cloud.cfg.d/90-datasource.cfg` },
    };
  }
  return { id: 'migration.cloud_init', title, level: 'ok', severity: 'medium', message: `cloud-init is installed${ds?.length ? ` with ${ds.join(', ')}` : ' and probes every datasource'}`, evidence: [] };
}

function hypervisorTools(os: OperatingSystem, pkgs: Set<string>): MigrationItem {
  const title = 'no tools of the old hypervisor';
  const found = HYPERVISOR_TOOLS.filter((p) => pkgs.has(p));
  if (found.length === 0) return { id: 'migration.hypervisor_tools', title, level: 'ok', severity: 'low', message: 'no VMware, Hyper-V, Azure or Xen guest tools are installed', evidence: [] };
  return {
    id: 'migration.hypervisor_tools',
    title,
    level: 'warning',
    severity: 'low',
    message: `${found.join(', ')} ${found.length === 1 ? 'belongs' : 'belong'} to the old hypervisor and only log errors on the target`,
    evidence: found.map((p) => ({ note: `package ${p}` })),
    change: { when: 'after', step: `remove ${found.join(' ')} (${os.package_format === 'rpm' ? 'dnf remove' : 'apt-get purge'})` },
  };
}

function guestAgent(os: OperatingSystem, pkgs: Set<string>): MigrationItem {
  const title = 'QEMU guest agent';
  if (pkgs.has('qemu-guest-agent') || (os.guest_agents ?? []).some((a) => /qemu/i.test(a))) return { id: 'migration.guest_agent', title, level: 'ok', severity: 'low', message: 'qemu-guest-agent is installed', evidence: [] };
  return {
    id: 'migration.guest_agent',
    title,
    level: 'warning',
    severity: 'low',
    message: 'qemu-guest-agent is not installed: clean shutdown, freeze for snapshots and IP reporting need it',
    evidence: [],
    change: { when: 'after', step: `install qemu-guest-agent (${os.package_format === 'rpm' ? 'dnf install' : 'apt-get install'} qemu-guest-agent)` },
  };
}

async function firstExisting(view: GuestView, paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await view.exists(p)) return p;
  return undefined;
}

function unknown(id: string, title: string, why: string): MigrationItem {
  return { id, title, level: 'unknown', severity: 'high', message: why, evidence: [{ note: why }] };
}
