import type { Hive } from '../../registry/index.js';
import type { GuestView } from '../guest-view.js';
import type { NetInterface, OperatingSystem } from '../types.js';

type Network = NonNullable<OperatingSystem['network']>;
const MAX_INTERFACES = 4096;

/**
 * TCP/IP settings from SYSTEM\<ControlSet>\Services\Tcpip\Parameters: one entry per
 * adapter under Interfaces (named by its GUID), static (IPAddress/SubnetMask/DefaultGateway/
 * NameServer) or DHCP (the last lease: DhcpIPAddress/…); search domains from SearchList and
 * the primary DNS suffix; hosts from the file the DataBasePath names (drivers\etc\hosts).
 */
export async function readNetwork(g: GuestView, system: Hive, cs: string, systemRoot: string): Promise<Network> {
  const params = `${cs}\\Services\\Tcpip\\Parameters`;
  const p = await system.key(params);
  const interfaces: NetInterface[] = [];
  const dns = new Set<string>();
  const search: string[] = [];
  const addSearch = (s: string | undefined) => {
    for (const d of (s ?? '').split(/[,\s]+/)) if (d && !search.includes(d)) search.push(d);
  };
  if (p) {
    addSearch((await p.value('SearchList'))?.string());
    addSearch((await p.value('Domain'))?.string() ?? (await p.value('NV Domain'))?.string());
    for (const k of ((await (await p.subkey('Interfaces'))?.subkeys()) ?? []).slice(0, MAX_INTERFACES)) {
      const vals = new Map((await k.values()).map((v) => [v.name.toLowerCase(), v]));
      const list = (n: string) => (vals.get(n)?.strings() ?? []).map((s) => s.trim()).filter((s) => s !== '' && s !== '0.0.0.0');
      const dhcp = vals.get('enabledhcp')?.dword() === 1;
      const ips = dhcp ? list('dhcpipaddress') : list('ipaddress');
      const masks = dhcp ? list('dhcpsubnetmask') : list('subnetmask');
      const addresses = ips.map((ip, i) => (masks[i] ? `${ip}/${maskBits(masks[i]!)}` : ip));
      const gateway = (dhcp ? list('dhcpdefaultgateway') : list('defaultgateway'))[0];
      // NameServer (static) wins over the DHCP-given DhcpNameServer, as Windows uses them
      const servers = splitServers(list('nameserver')).length ? splitServers(list('nameserver')) : splitServers(list('dhcpnameserver'));
      servers.forEach((s) => dns.add(s));
      const suffix = (vals.get('domain')?.string()?.trim() || vals.get('dhcpdomain')?.string()?.trim()) ?? '';
      addSearch(suffix);
      interfaces.push({
        name: k.name,
        source: `HKLM\\SYSTEM\\${params}\\Interfaces\\${k.name}`,
        method: dhcp ? 'dhcp' : addresses.length ? 'static' : 'none',
        addresses,
        ...(gateway ? { gateway } : {}),
        ...(servers.length ? { dns: servers } : {}),
        ...(suffix ? { domain: suffix } : {}),
      });
    }
  }
  const dbPath = (await p?.value('DataBasePath'))?.string();
  const hostsDir = dbPath ? guestPathOf(dbPath, systemRoot) : `${systemRoot}/System32/drivers/etc`;
  const hosts = parseHosts((await g.text(`${hostsDir}/hosts`, 1024 * 1024)) ?? '');
  return { interfaces, dns_servers: [...dns], search_domains: search, hosts, managers: [] };
}

/** NameServer values hold one string of servers separated by commas or spaces. */
function splitServers(vals: string[]): string[] {
  return vals.flatMap((v) => v.split(/[,\s]+/)).filter((s) => s !== '');
}

function maskBits(mask: string): number {
  let bits = 0;
  for (const o of mask.split('.')) bits += (Number(o) >>> 0).toString(2).replace(/0/g, '').length;
  return bits;
}

/** A Windows path under the system root (%SystemRoot%\System32\drivers\etc) as a guest path. */
export function guestPathOf(winPath: string, systemRoot: string): string {
  const p = winPath.replace(/^%systemroot%/i, systemRoot).replace(/^[A-Za-z]:/, '').replace(/\\/g, '/');
  return p.startsWith('/') ? p : `/${p}`;
}

function parseHosts(text: string): { address: string; names: string[] }[] {
  const out: { address: string; names: string[] }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [address, ...names] = line.split(/\s+/);
    if (address && names.length) out.push({ address, names });
  }
  return out;
}
