import type { GuestView } from '../guest-view.js';
import { parseGuestYaml, yamlBudget } from './yaml.js';
import type { NetInterface, OperatingSystem } from '../types.js';
import { contentLines, parseIni, parseKeyValue } from '../parse.js';

type Network = NonNullable<OperatingSystem['network']>;

/** ifupdown files read at most (interfaces and what it sources). */
const MAX_IFUPDOWN_FILES = 100;

/** ifupdown: /etc/network/interfaces and what it sources. */
async function ifupdown(g: GuestView, out: NetInterface[]): Promise<boolean> {
  const queue = ['/etc/network/interfaces'];
  // Each file is read and each directory listed once, however often it is sourced.
  const queued = new Set(queue);
  const listed = new Set<string>();
  let found = false;
  const auto = new Set<string>();
  for (let i = 0; i < queue.length; i++) {
    const f = queue[i]!;
    const text = await g.text(f);
    if (text === undefined) continue;
    found = true;
    let cur: NetInterface | undefined;
    for (const line of contentLines(text)) {
      const w = line.split(/\s+/);
      if (w[0] === 'source' || w[0] === 'source-directory') {
        const pat = w[1] ?? '';
        const dir = w[0] === 'source-directory' ? pat : pat.replace(/\/[^/]*$/, '');
        const key = `${w[0]}\0${dir}`;
        if (!listed.has(key)) {
          listed.add(key);
          for (const n of await g.list(dir)) {
            if (!(/^[a-zA-Z0-9_-]+$/.test(n) || w[0] === 'source') || queued.has(`${dir}/${n}`)) continue;
            if (queued.size >= MAX_IFUPDOWN_FILES) break;
            queued.add(`${dir}/${n}`);
            queue.push(`${dir}/${n}`);
          }
        }
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

const NETPLAN_DIRS = ['/lib/netplan', '/etc/netplan', '/run/netplan'];
const NETPLAN_KINDS = ['ethernets', 'bonds', 'bridges', 'vlans', 'wifis'];
type YamlMap = Record<string, unknown>;

function isMap(v: unknown): v is YamlMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * netplan's merge: mappings merge key by key, anything else (lists too) is replaced by the
 * later file. Depth is bounded (netplan's schema is a few levels deep; hostile YAML is not).
 */
function mergeNetdef(a: YamlMap, b: YamlMap, depth = 0): YamlMap {
  const out: YamlMap = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = depth < 16 && isMap(out[k]) && isMap(v) ? mergeNetdef(out[k] as YamlMap, v, depth + 1) : v;
  return out;
}

function truthy(v: unknown): boolean {
  return v === true || v === 'yes' || v === 'true' || v === 'on';
}

/**
 * netplan YAML (Ubuntu). Files of one name shadow each other (/run over /etc over /lib); all
 * are read in name order and definitions of one interface merged across them, as netplan does.
 * A definition matched by MAC and renamed (`set-name`) is reported by its new name.
 */
async function netplan(g: GuestView, out: NetInterface[], search: string[]): Promise<boolean> {
  const byName = new Map<string, string>();
  for (const dir of NETPLAN_DIRS) for (const n of await g.list(dir)) if (/\.ya?ml$/.test(n)) byName.set(n, `${dir}/${n}`);
  const defs = new Map<string, { kind: string; id: string; source: string; cfg: YamlMap }>();
  const budget = yamlBudget();
  let found = false;
  for (const name of [...byName.keys()].sort()) {
    const path = byName.get(name)!;
    const text = await g.text(path);
    if (text === undefined) continue;
    found = true;
    const doc = await parseGuestYaml(g, path, text, budget);
    const net = isMap(doc) && isMap(doc.network) ? doc.network : {};
    for (const kind of NETPLAN_KINDS) {
      const group = net[kind];
      if (!isMap(group)) continue;
      for (const [id, cfg] of Object.entries(group)) {
        const key = `${kind}\0${id}`;
        const prev = defs.get(key);
        const c = isMap(cfg) ? cfg : {};
        defs.set(key, prev ? { ...prev, cfg: mergeNetdef(prev.cfg, c) } : { kind, id, source: path, cfg: c });
      }
    }
  }
  for (const { id, source, cfg: c } of defs.values()) {
    const ns = isMap(c.nameservers) ? c.nameservers : {};
    const match = isMap(c.match) ? c.match : {};
    const routes = Array.isArray(c.routes) ? (c.routes.filter(isMap) as { to?: unknown; via?: unknown }[]) : [];
    const gw = (typeof c.gateway4 === 'string' ? c.gateway4 : undefined) ?? routes.find((r) => r.to === 'default' || r.to === '0.0.0.0/0')?.via;
    const addresses = Array.isArray(c.addresses) ? c.addresses.map((a) => (isMap(a) ? Object.keys(a)[0]! : String(a))) : [];
    const dns = Array.isArray(ns.addresses) ? ns.addresses.map(String) : undefined;
    if (Array.isArray(ns.search)) search.push(...ns.search.map(String));
    const mac = typeof match.macaddress === 'string' ? match.macaddress : typeof c.macaddress === 'string' ? c.macaddress : undefined;
    out.push({
      name: typeof c['set-name'] === 'string' ? c['set-name'] : id,
      source,
      method: truthy(c.dhcp4) ? 'dhcp' : addresses.length ? 'static' : truthy(c.dhcp6) ? 'dhcp6' : 'manual',
      addresses,
      ...(typeof gw === 'string' ? { gateway: gw } : {}),
      ...(mac ? { mac: mac.toLowerCase() } : {}),
      ...(dns ? { dns } : {}),
    });
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

function ipv4ToInt(a: string): number | undefined {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** Whether an IPv4 address lies in an "a.b.c.d/len" network. */
function inSubnet(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(net ?? '');
  const bits = Number(len);
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/** Red Hat / SUSE ifcfg files. */
async function ifcfg(g: GuestView, out: NetInterface[]): Promise<boolean> {
  let found = false;
  const first = out.length;
  for (const dir of ['/etc/sysconfig/network-scripts', '/etc/sysconfig/network']) {
    for (const n of await g.list(dir)) {
      const m = /^ifcfg-(.+)$/.exec(n);
      // initscripts skips editor and package-manager leftovers (network-functions' ignore list).
      if (!m || m[1] === 'lo' || /(?:~|\.(?:bak|old|orig|rpmnew|rpmorig|rpmsave))$/.test(n)) continue;
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
  // Before NetworkManager, the default gateway lived in /etc/sysconfig/network: on GATEWAYDEV,
  // else on the interface whose subnet holds it.
  const sys = found ? await g.text('/etc/sysconfig/network', 64 * 1024) : undefined;
  const kv = sys ? parseKeyValue(sys) : undefined;
  const gw = kv?.get('GATEWAY');
  if (gw) {
    const dev = kv!.get('GATEWAYDEV');
    const mine = out.slice(first).filter((i) => !i.gateway);
    const target = dev ? mine.find((i) => i.name === dev) : mine.find((i) => i.addresses.some((a) => inSubnet(gw, a)));
    if (target) target.gateway = gw;
  }
  return found;
}

/** systemd-networkd .network files. */
async function networkd(g: GuestView, out: NetInterface[], search: string[]): Promise<boolean> {
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
        if (section === 'Network' && k === 'Domains') search.push(...v.split(/\s+/).filter((d) => d !== '' && !d.startsWith('~')));
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

/** resolved.conf and its drop-ins (later files win per key), as resolved reads them. */
async function resolvedConfig(g: GuestView): Promise<{ dns: string[]; domains: string[] }> {
  const files = ['/etc/systemd/resolved.conf'];
  const dropins = new Map<string, string>();
  for (const dir of ['/usr/lib/systemd/resolved.conf.d', '/run/systemd/resolved.conf.d', '/etc/systemd/resolved.conf.d']) {
    for (const n of await g.list(dir)) if (n.endsWith('.conf')) dropins.set(n, `${dir}/${n}`);
  }
  files.push(...[...dropins.keys()].sort().map((n) => dropins.get(n)!));
  let dns: string[] = [];
  let domains: string[] = [];
  for (const f of files) {
    const text = await g.text(f, 256 * 1024);
    const sec = text ? parseIni(text).get('Resolve') : undefined;
    const d = sec?.get('DNS');
    // "9.9.9.9#dns.quad9.net", "[2001:db8::1]:53%eth0": the server address only.
    if (d !== undefined) dns = d.split(/\s+/).filter(Boolean).map((x) => x.replace(/#.*$/, '').replace(/%.*$/, '').replace(/^\[([^\]]+)\](?::\d+)?$/, '$1').replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, '$1'));
    const dom = sec?.get('Domains');
    if (dom !== undefined) domains = dom.split(/\s+/).filter((x) => x !== '' && !x.startsWith('~'));
  }
  return { dns, domains };
}

/** Interfaces from every configuration system present, DNS and /etc/hosts. */
export async function detectNetwork(g: GuestView): Promise<Network> {
  const interfaces: NetInterface[] = [];
  const managers: string[] = [];
  if (await ifupdown(g, interfaces)) managers.push('ifupdown');
  const linkSearch: string[] = [];
  if (await netplan(g, interfaces, linkSearch)) managers.push('netplan');
  if (await networkManager(g, interfaces)) managers.push('NetworkManager');
  if (await ifcfg(g, interfaces)) managers.push('ifcfg');
  if (await networkd(g, interfaces, linkSearch)) managers.push('systemd-networkd');
  const dns_servers: string[] = [];
  const search_domains: string[] = [];
  const resolv = await g.text('/etc/resolv.conf', 256 * 1024);
  for (const line of contentLines(resolv ?? '')) {
    const w = line.split(/\s+/);
    if (w[0] === 'nameserver' && w[1]) dns_servers.push(w[1]);
    if ((w[0] === 'search' || w[0] === 'domain') && w.length > 1) search_domains.push(...w.slice(1));
  }
  if (dns_servers.length === 0) {
    // No usable resolv.conf (systemd-resolved's stub lives in /run, never in an image): the
    // servers resolved would use, its global ones first, then those configured per link.
    const r = await resolvedConfig(g);
    dns_servers.push(...r.dns);
    // a Set, not includes(): a keyfile listing 80,000 distinct servers took 30 s
    const known = new Set(dns_servers);
    for (const i of interfaces) {
      for (const d of i.dns ?? []) {
        if (known.has(d)) continue;
        known.add(d);
        dns_servers.push(d);
      }
    }
    if (search_domains.length === 0) search_domains.push(...r.domains, ...linkSearch);
  }
  const hosts: Network['hosts'] = [];
  for (const line of contentLines((await g.text('/etc/hosts', 4 * 1024 * 1024)) ?? '')) {
    const w = line.replace(/#.*$/, '').trim().split(/\s+/);
    if (w.length >= 2) hosts.push({ address: w[0]!, names: w.slice(1) });
  }
  return { interfaces, dns_servers, search_domains: [...new Set(search_domains)], hosts, managers };
}
