import type { GuestDevice } from '../../inspect/devices.js';
import type { OperatingSystem } from '../../inspect/types.js';
import type { MigrationItem, MigrationTarget } from './types.js';

/** virtio-win storage drivers: one of them must be installed and boot-start before the move. */
const STORAGE_SERVICES = ['viostor', 'vioscsi'];

/**
 * Readiness of a Windows guest from its inspection: virtio drivers in the DriverStore and as
 * boot-start services, the old hypervisor's tools, BitLocker, and a pending reboot.
 */
export function windowsMigration(os: OperatingSystem, devices: GuestDevice[], target: MigrationTarget): MigrationItem[] {
  const services = os.services ?? [];
  const svc = (n: string) => services.find((s) => s.name.toLowerCase() === n);
  const drivers = os.drivers ?? [];
  const inStore = (inf: string) => drivers.find((d) => d.inf?.toLowerCase().startsWith(inf));
  const items: MigrationItem[] = [];

  const boot = STORAGE_SERVICES.map(svc).find((s) => s && s.start === 'boot');
  const staged = ['viostor', 'vioscsi'].map(inStore).find(Boolean);
  const storageTitle = 'virtio storage driver installed as a boot driver';
  if (boot) {
    items.push({ id: 'migration.virtio_storage', title: storageTitle, level: 'ok', severity: 'critical', message: `the ${boot.name} service starts at boot`, evidence: [{ note: `service ${boot.name}, start ${boot.start}` }] });
  } else {
    items.push({
      id: 'migration.virtio_storage',
      title: storageTitle,
      level: 'blocker',
      severity: 'critical',
      message: staged
        ? `${staged.inf} is in the DriverStore but no virtio storage service starts at boot: Windows stops with INACCESSIBLE_BOOT_DEVICE on a virtio disk`
        : 'no virtio storage driver (viostor, vioscsi) is installed: Windows stops with INACCESSIBLE_BOOT_DEVICE on a virtio disk',
      evidence: [{ note: staged ? `DriverStore: ${staged.inf}` : 'DriverStore has no viostor.inf or vioscsi.inf', expected: 'service viostor or vioscsi with start = boot' }],
      change: { when: 'before', step: 'install the virtio-win drivers (virtio-win-gt-x64.msi) in the running VM, or convert with virt-v2v, which injects them' },
    });
  }
  const net = inStore('netkvm') ?? svc('netkvm');
  items.push(
    net
      ? { id: 'migration.virtio_network', title: 'virtio network driver', level: 'ok', severity: 'high', message: 'the NetKVM driver is installed', evidence: [{ note: 'netkvm' }] }
      : {
          id: 'migration.virtio_network',
          title: 'virtio network driver',
          level: 'warning',
          severity: 'high',
          message: 'the NetKVM (virtio network) driver is not installed: the guest has no network on the target until it is',
          evidence: [{ expected: 'netkvm.inf in the DriverStore' }],
          change: { when: 'before', step: 'install the virtio-win drivers (NetKVM)' },
        },
  );

  const encrypted = devices.filter((d) => d.error?.code === 'ENCRYPTED');
  items.push(
    encrypted.length
      ? {
          id: 'migration.bitlocker',
          title: 'no BitLocker-encrypted volume',
          level: 'blocker',
          severity: 'critical',
          message: `${encrypted.map((d) => d.device).join(', ')} ${encrypted.length === 1 ? 'is' : 'are'} BitLocker-encrypted: the TPM protector fails on new hardware and the guest asks for the recovery key`,
          evidence: encrypted.map((d) => ({ note: `${d.device}: ${d.error!.message}` })),
          change: { when: 'before', step: 'suspend BitLocker (manage-bde -protectors -disable C: -RebootCount 2) or have the recovery keys at hand' },
        }
      : { id: 'migration.bitlocker', title: 'no BitLocker-encrypted volume', level: 'ok', severity: 'critical', message: 'no volume of the guest is BitLocker-encrypted', evidence: [] },
  );

  const pr = os.pending_reboot;
  items.push(
    pr?.pending
      ? {
          id: 'migration.pending_reboot',
          title: 'no pending reboot',
          level: 'warning',
          severity: 'medium',
          message: `Windows waits for a reboot (${pr.markers.join(', ')}): servicing may run on the first boot on the target`,
          evidence: pr.markers.map((m) => ({ note: m })),
          change: { when: 'before', step: 'reboot the VM before the move so pending updates finish on the old hypervisor' },
        }
      : { id: 'migration.pending_reboot', title: 'no pending reboot', level: pr ? 'ok' : 'unknown', severity: 'medium', message: pr ? 'no reboot is pending' : 'the pending-reboot markers could not be read', evidence: [] },
  );

  const tools = (os.applications ?? []).filter((a) => /^VMware Tools$|Hyper-V Integration|Citrix XenServer|XenServer VM Tools|VirtualBox Guest Additions/i.test(a.name));
  items.push(
    tools.length
      ? {
          id: 'migration.hypervisor_tools',
          title: 'no tools of the old hypervisor',
          level: 'warning',
          severity: 'low',
          message: `${tools.map((t) => t.name).join(', ')} belong${tools.length === 1 ? 's' : ''} to the old hypervisor`,
          evidence: tools.map((t) => ({ note: `${t.name} ${t.version}` })),
          change: { when: 'after', step: `uninstall ${tools.map((t) => t.name).join(', ')} (their uninstaller refuses to run off VMware: remove them before the move if possible)` },
        }
      : { id: 'migration.hypervisor_tools', title: 'no tools of the old hypervisor', level: 'ok', severity: 'low', message: 'no VMware, Hyper-V, Xen or VirtualBox guest tools are installed', evidence: [] },
  );

  const agent = svc('qemu-ga') ?? (os.applications ?? []).find((a) => /QEMU guest agent/i.test(a.name));
  items.push(
    agent
      ? { id: 'migration.guest_agent', title: 'QEMU guest agent', level: 'ok', severity: 'low', message: 'the QEMU guest agent is installed', evidence: [] }
      : {
          id: 'migration.guest_agent',
          title: 'QEMU guest agent',
          level: 'warning',
          severity: 'low',
          message: `the QEMU guest agent is not installed: ${target} cannot shut the guest down cleanly or read its addresses`,
          evidence: [],
          change: { when: 'after', step: 'install the QEMU guest agent from the virtio-win ISO (guest-agent/qemu-ga-x86_64.msi)' },
        },
  );
  return items;
}
