import type { Application, ServiceInfo } from '../types.js';

/**
 * Hypervisor guest tools, named as the Linux collector names them where one exists:
 * by their services and drivers, or by their Uninstall entries.
 */
const AGENTS: { name: string; services: RegExp; apps: RegExp; enabledOnly?: boolean }[] = [
  { name: 'vmware-tools', services: /^(VMTools|VGAuthService)$/i, apps: /^VMware Tools$/i },
  { name: 'qemu-guest-agent', services: /^QEMU-GA$/i, apps: /^QEMU guest agent/i },
  { name: 'virtio-drivers', services: /^(viostor|vioscsi|netkvm|balloon|vioser|VirtioSerial|viorng|vioinput|viofs|pvpanic)$/i, apps: /^Virtio-win/i },
  // every Windows ships the Hyper-V integration services demand-started: only enabled ones count
  { name: 'hyperv-integration-services', services: /^vmic(heartbeat|kvpexchange|shutdown|timesync|vss|guestinterface)$/i, apps: /^Hyper-V Integration Services/i, enabledOnly: true },
  { name: 'xen-pv-drivers', services: /^(xenbus|xenvbd|xennet|xenvif|xeniface|xenfilt|XenSvc|LiteAgent|AWSPVDriver)/i, apps: /(XenServer|Citrix.*(Xen|VM Tools)|AWS PV Drivers)/i },
  { name: 'spice-vdagent', services: /^(vdservice|spice-agent)$/i, apps: /^(SPICE Guest Tools|spice-vdagent)/i },
  { name: 'google-guest-agent', services: /^GCEAgent$/i, apps: /^Google Compute Engine/i },
  { name: 'waagent', services: /^(WindowsAzureGuestAgent|RdAgent)$/i, apps: /^Windows Azure VM Agent/i },
  { name: 'amazon-ssm-agent', services: /^AmazonSSMAgent$/i, apps: /^Amazon SSM Agent/i },
];

export function detectWindowsAgents(services: ServiceInfo[], apps: Application[]): string[] {
  const out: string[] = [];
  for (const a of AGENTS) {
    const svc = services.some((s) => a.services.test(s.name) && (!a.enabledOnly || s.enabled_in.length > 0));
    const app = apps.some((p) => a.apps.test(p.display_name ?? ''));
    if (svc || app) out.push(a.name);
  }
  return out;
}
