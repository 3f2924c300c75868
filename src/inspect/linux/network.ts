import type { GuestView } from '../guest-view.js';
import type { NetInterface, OperatingSystem } from '../types.js';
import { contentLines, parseIni, parseKeyValue } from '../parse.js';

type Network = NonNullable<OperatingSystem['network']>;

/** ifupdown: /etc/network/interfaces and what it sources. */
async function ifupdown(g: GuestView, out: NetInterface[]): Promise<boolean> {
  const queue = ['/etc/network/interfaces'];
  const seen = new Set<string>();
  let found = false;
  const auto = new Set<string>();
  while (queue.length && seen.size < 100) {
    const f = queue.shift()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const text = await g.text(f);
    if (text === undefined) continue;
    found = true;
    let cur: NetInterface | undefined;
    for (const line of contentLines(text)) {
      const w = line.split(/\s+/);
      if (w[0] === 'source' || w[0] === 'source-directory') {
        const pat = w[1] ?? '';
        const dir = w[0] === 'source-directory' ? pat : pat.replace(/\/[^/]*$/, '');
        for (const n of await g.list(dir)) if (/^[a-zA-Z0-9_-]+$/.test(n) || w[0] === 'source') queue.push(`${dir}/${n}`);
        cur = undefined;
      } else if (w[0] === 'auto' || w[0] === 'allow-hotplug' || w[0]?.startsWith('allow-')) {
        for (const n of w.slice(1)) auto.add(n);
        cur = undefined;
      } else if (w[0] === 'iface' && w.length >= 4) {
        if (w[1] === 'lo') {
          cur = undefined;
          continue;
        }
        cur = { name: w[1]!, source: f, method: `${w[2]}:${w[3]}`, addresses: [] };
        out.push(cur);
      } else if (cur) {
        const v = w.slice(1).join(' ');
        if (w[0] === 'address') cur.addresses.push(v);
        else if (w[0] === 'netmask' && cur.addresses.length && !cur.addresses[cur.addresses.length - 1]!.includes('/')) {
          cur.addresses[cur.addresses.length - 1] += `/${maskBits(v)}`;
        } else if (w[0] === 'gateway') cur.gateway = v;
        else if (w[0] === 'hwaddress') cur.mac = w[w.length - 1]!.toLowerCase();
        else if (w[0] === 'dns-nameservers') cur.dns = w.slice(1);
      }
    }
  }
  for (const i of out) if (i.source.startsWith('/etc/network/')) i.onboot = auto.has(i.name);
  return found;
}

function maskBits(mask: string): number | string {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return mask;
  return parts.reduce((n, p) => n + (p.toString(2).match(/1/g)?.length ?? 0), 0);
}

/** netplan YAML (Ubuntu). */
async function netplan(g: GuestView, out: NetInterface[]): Promise<boolean> {
  let found = false;
  for (const dir of ['/etc/netplan', '/lib/netplan', '/run/netplan']) {
    for (const n of await g.list(dir)) {
      if (!/\.ya?ml$/.test(n)) continue;
      const text = await g.text(`${dir}/${n}`);
      if (text === undefined) continue;
      found = true;
      let doc: unknown;
      try {
        const { parse: parseYaml } = await import('yaml');
        doc = parseYaml(text);
      } catch (err) {
        g.warn(`${dir}/${n}: invalid YAML: ${(err as Error).message}`);
        continue;
      }
      const net = (doc as { network?: Record<string, unknown> })?.network ?? {};
      for (const kind of ['ethernets', 'bonds', 'bridges', 'vlans', 'wifis']) {
        const group = net[kind] as Record<string, Record<string, unknown>> | undefined;
        if (!group || typeof group !== 'object') continue;
        for (const [name, cfg] of Object.entries(group)) {
          const c = (cfg ?? {}) as Record<string, unknown>;
          const ns = c.nameservers as { addresses?: string[] } | undefined;
          const match = c.match as { macaddress?: string } | undefined;
          const routes = (c.routes as { to?: string; via?: string }[] | undefined) ?? [];
          const gw = (c.gateway4 as string | undefined) ?? routes.find((r) => r.to === 'default' || r.to === '0.0.0.0/0')?.via;
          out.push({
            name,
            source: `${dir}/${n}`,
            method: c.dhcp4 === true || c.dhcp4 === 'yes' ? 'dhcp' : Array.isArray(c.addresses) ? 'static' : 'manual',
            addresses: Array.isArray(c.addresses) ? (c.addresses as unknown[]).map(String) : [],
            ...(gw ? { gateway: gw } : {}),
            ...(match?.macaddress ? { mac: match.macaddress.toLowerCase() } : {}),
            ...(ns?.addresses ? { dns: ns.addresses.map(String) } : {}),
          });
        }
      }
    }
  }
  return found;
}

/** NetworkManager keyfiles. */
async function networkManager(g: GuestView, out: NetInterface[]): Promise<boolean> {
  let found = false;
  const dir = '/etc/NetworkManager/system-connections';
  for (const n of await g.list(dir)) {
    const text = await g.text(`${dir}/${n}`);
    if (text === undefined) continue;
    found = true;
    const ini = parseIni(text);
    const con = ini.get('connection');
    const v4 = ini.get('ipv4');
    const addrs: string[] = [];
    let gateway: string | undefined;
    for (const [k, v] of v4 ?? []) {
      if (/^address\d*$/.test(k)) {
        const [a, gw] = v.split(',');
        addrs.push(a!);
        if (gw) gateway = gw;
      }
      if (k === 'gateway') gateway = v;
    }
    const mac = ini.get('ethernet')?.get('mac-address');
    out.push({
      name: con?.get('interface-name') ?? con?.get('id') ?? n,
      source: `${dir}/${n}`,
      method: v4?.get('method') ?? 'auto',
      addresses: addrs,
      ...(gateway ? { gateway } : {}),
      ...(mac ? { mac: mac.toLowerCase() } : {}),
      ...(v4?.get('dns') ? { dns: v4.get('dns')!.split(/[;,]/).filter(Boolean) } : {}),
      onboot: con?.get('autoconnect') !== 'false',
    });
  }
  return found;
}

/** Red Hat / SUSE ifcfg files. */
async function ifcfg(g: GuestView, out: NetInterface[]): Promise<boolean> {
  let found = false;
  for (const dir of ['/etc/sysconfig/network-scripts', '/etc/sysconfig/network']) {
    for (const n of await g.list(dir)) {
      const m = /^ifcfg-(.+)$/.exec(n);
      if (!m || m[1] === 'lo') continue;
      const text = await g.text(`${dir}/${n}`);
      if (text === undefined) continue;
      found = true;
      const kv = parseKeyValue(text);
      const addrs: string[] = [];
      for (const [k, v] of kv) {
        if (/^IPADDR\d*$/.test(k) && v) {
          const idx = k.slice(6);
          const prefix = kv.get(`PREFIX${idx}`) ?? (kv.get(`NETMASK${idx}`) ? String(maskBits(kv.get(`NETMASK${idx}`)!)) : undefined);
          addrs.push(prefix ? `${v.replace(/\/.*/, '')}/${prefix}` : v);
        }
      }
      const dns = [...kv].filter(([k]) => /^DNS\d+$/.test(k)).map(([, v]) => v);
      const mac = kv.get('HWADDR') ?? kv.get('MACADDR');
      out.push({
        name: kv.get('DEVICE') ?? kv.get('NAME') ?? m[1]!,
        source: `${dir}/${n}`,
        method: (kv.get('BOOTPROTO') ?? 'none').toLowerCase(),
        addresses: addrs,
        ...(kv.get('GATEWAY') ? { gateway: kv.get('GATEWAY')! } : {}),
        ...(mac ? { mac: mac.toLowerCase() } : {}),
        ...(dns.length ? { dns } : {}),
        onboot: (kv.get('ONBOOT') ?? kv.get('STARTMODE') ?? 'yes').toLowerCase() !== 'no',
      });
    }
  }
  return found;
}

/** systemd-networkd .network files. */
async function networkd(g: GuestView, out: NetInterface[]): Promise<boolean> {
  let found = false;
  for (const dir of ['/etc/systemd/network']) {
    for (const n of await g.list(dir)) {
      if (!n.endsWith('.network')) continue;
      const text = await g.text(`${dir}/${n}`);
      if (text === undefined) continue;
      found = true;
      const addrs: string[] = [];
      let gateway: string | undefined;
      const dns: string[] = [];
      let name = n;
      let mac: string | undefined;
      let dhcp = 'no';
      let section = '';
      for (const line of contentLines(text)) {
        const s = /^\[(.+)\]$/.exec(line);
        if (s) {
          section = s[1]!;
          continue;
        }
        const eq = line.indexOf('=');
        if (eq < 0) continue;
        const k = line.slice(0, eq).trim();
        const v = line.slice(eq + 1).trim();
        if (section === 'Match' && k === 'Name') name = v;
        if (section === 'Match' && k === 'MACAddress') mac = v.toLowerCase();
        if ((section === 'Network' || section === 'Address') && k === 'Address') addrs.push(v);
        if ((section === 'Network' || section === 'Route') && k === 'Gateway') gateway = v;
        if (section === 'Network' && k === 'DNS') dns.push(...v.split(/\s+/));
        if (section === 'Network' && k === 'DHCP') dhcp = v;
      }
      out.push({
        name,
        source: `${dir}/${n}`,
        method: dhcp !== 'no' ? 'dhcp' : addrs.length ? 'static' : 'manual',
        addresses: addrs,
        ...(gateway ? { gateway } : {}),
        ...(mac ? { mac } : {}),
        ...(dns.length ? { dns } : {}),
      });
    }
  }
  return found;
}

/** Interfaces from every configuration system present, DNS and /etc/hosts. */
export async function detectNetwork(g: GuestView): Promise<Network> {
  const interfaces: NetInterface[] = [];
  const managers: string[] = [];
  if (await ifupdown(g, interfaces)) managers.push('ifupdown');
  if (await netplan(g, interfaces)) managers.push('netplan');
  if (await networkManager(g, interfaces)) managers.push('NetworkManager');
  if (await ifcfg(g, interfaces)) managers.push('ifcfg');
  if (await networkd(g, interfaces)) managers.push('systemd-networkd');
  const dns_servers: string[] = [];
  const search_domains: string[] = [];
  const resolv = await g.text('/etc/resolv.conf', 256 * 1024);
  for (const line of contentLines(resolv ?? '')) {
    const w = line.split(/\s+/);
    if (w[0] === 'nameserver' && w[1]) dns_servers.push(w[1]);
    if ((w[0] === 'search' || w[0] === 'domain') && w.length > 1) search_domains.push(...w.slice(1));
  }
  if (dns_servers.length === 0) {
    const resolved = await g.text('/etc/systemd/resolved.conf', 256 * 1024);
    const dns = resolved ? parseIni(resolved).get('Resolve')?.get('DNS') : undefined;
    if (dns) dns_servers.push(...dns.split(/\s+/).filter(Boolean));
  }
  const hosts: Network['hosts'] = [];
  for (const line of contentLines((await g.text('/etc/hosts', 4 * 1024 * 1024)) ?? '')) {
    const w = line.replace(/#.*$/, '').trim().split(/\s+/);
    if (w.length >= 2) hosts.push({ address: w[0]!, names: w.slice(1) });
  }
  return { interfaces, dns_servers, search_domains: [...new Set(search_domains)], hosts, managers };
}
