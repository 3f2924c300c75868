import type { GuestView } from '../guest-view.js';
import type { ServiceInfo } from '../types.js';
import { compareText } from '../../util/compare.js';

export interface ServiceFacts {
  init_system: string;
  default_target?: string;
  services: ServiceInfo[];
}

const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];
const MAX_ENTRIES = 20_000;

/** The init system, judged from what /sbin/init is and what exists. */
export async function detectInitSystem(g: GuestView): Promise<string> {
  // A link into a /usr that is not attached (or not shipped) still names its target.
  const init = (await g.realpath('/sbin/init')) ?? (await g.realpath('/usr/sbin/init')) ?? (await initLink(g));
  if (init && /systemd$/.test(init)) return 'systemd';
  if (init && /openrc-init$/.test(init)) return 'openrc';
  if (init && /busybox$/.test(init)) return (await g.isDir('/etc/runlevels')) ? 'openrc' : 'busybox';
  if ((await g.isDir('/etc/runlevels')) && (await g.exists('/sbin/openrc'))) return 'openrc';
  // Upstart systems (RHEL 6, Ubuntu 6.10–14.10) keep an inittab too: initctl tells them apart.
  if ((await g.isDir('/etc/init')) && (await g.exists('/sbin/initctl'))) return 'upstart';
  if (await g.isFile('/etc/inittab')) return 'sysvinit';
  if ((await g.isDir('/lib/systemd/system')) || (await g.isDir('/usr/lib/systemd/system'))) return 'systemd';
  return 'unknown';
}

async function initLink(g: GuestView): Promise<string | undefined> {
  for (const p of ['/sbin/init', '/usr/sbin/init']) {
    if ((await g.lstatType(p)) === 'symlink') return g.readlink(p);
  }
  return undefined;
}

/** The default runlevel from inittab's `id:N:initdefault:` line, as 'runlevelN'. */
async function inittabDefault(g: GuestView): Promise<string | undefined> {
  const text = await g.text('/etc/inittab', 256 * 1024);
  const m = text ? /^[^#:\n]*:([0-6Ss]):initdefault:/m.exec(text) : null;
  return m ? `runlevel${m[1]!.toUpperCase()}` : undefined;
}

function unitKind(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : 'unknown';
}

/** Enabled systemd units: links in *.wants / *.requires (admin and vendor), aliases, the default target. */
async function systemdServices(g: GuestView): Promise<{ services: ServiceInfo[]; default_target?: string }> {
  const byName = new Map<string, ServiceInfo>();
  const masked = new Set<string>();
  const add = (name: string, where: string) => {
    const base = name.replace(/@[^.]+\./, '@.');
    void base;
    let s = byName.get(name);
    if (!s) {
      s = { name, kind: unitKind(name), enabled_in: [] };
      byName.set(name, s);
    }
    if (!s.enabled_in.includes(where)) s.enabled_in.push(where);
  };
  // Enabled = linked by the admin or by presets under /etc; the vendor's own *.wants links
  // (under /lib) make units static, which `systemctl list-unit-files` does not call enabled.
  for (const dir of ['/etc/systemd/system']) {
    for (const e of (await g.entries(dir)).slice(0, MAX_ENTRIES)) {
      if (e.type === 'symlink') {
        const target = await g.readlink(`${dir}/${e.name}`);
        if (target === '/dev/null') masked.add(e.name);
      }
      if (e.type !== 'directory') continue;
      const m = /^(.+)\.(wants|requires)$/.exec(e.name);
      if (!m) continue;
      for (const u of (await g.list(`${dir}/${e.name}`)).slice(0, MAX_ENTRIES)) add(u, m[1]!);
    }
  }
  // Aliases: /etc/systemd/system/NAME → another unit (sshd.service → ssh.service, dbus-org.*).
  for (const e of await g.entries('/etc/systemd/system')) {
    if (e.type !== 'symlink' || !/\.(service|socket|timer|target|path)$/.test(e.name) || e.name === 'default.target') continue;
    const target = await g.readlink(`/etc/systemd/system/${e.name}`);
    if (!target || target === '/dev/null') continue;
    const real = target.split('/').pop()!;
    if (real === e.name) continue;
    const s = byName.get(real);
    byName.set(e.name, { name: e.name, kind: unitKind(e.name), enabled_in: s ? [...s.enabled_in] : [], alias_of: real });
  }
  for (const m of masked) byName.delete(m);
  let default_target: string | undefined;
  for (const dir of UNIT_DIRS) {
    const t = await g.readlink(`${dir}/default.target`);
    if (t) {
      default_target = t.split('/').pop();
      break;
    }
  }
  const services = [...byName.values()].sort((a, b) => compareText(a.name, b.name));
  return { services, ...(default_target ? { default_target } : {}) };
}

/** SysV rc links: S-links in /etc/rcN.d (or /etc/rc.d/rcN.d) mean started in runlevel N. */
async function sysvServices(g: GuestView): Promise<ServiceInfo[]> {
  const byName = new Map<string, ServiceInfo>();
  for (const base of ['/etc', '/etc/rc.d']) {
    for (const level of ['0', '1', '2', '3', '4', '5', '6', 'S']) {
      for (const n of await g.list(`${base}/rc${level}.d`)) {
        const m = /^S\d\d(.+)$/.exec(n);
        if (!m) continue;
        const s = byName.get(m[1]!) ?? { name: m[1]!, kind: 'sysv', enabled_in: [] };
        if (!s.enabled_in.includes(`runlevel${level}`)) s.enabled_in.push(`runlevel${level}`);
        byName.set(m[1]!, s);
      }
    }
  }
  return [...byName.values()].sort((a, b) => compareText(a.name, b.name));
}

/** OpenRC: /etc/runlevels/<level>/<service>. */
async function openrcServices(g: GuestView): Promise<ServiceInfo[]> {
  const byName = new Map<string, ServiceInfo>();
  for (const level of await g.list('/etc/runlevels')) {
    for (const n of await g.list(`/etc/runlevels/${level}`)) {
      const s = byName.get(n) ?? { name: n, kind: 'openrc', enabled_in: [] };
      s.enabled_in.push(level);
      byName.set(n, s);
    }
  }
  return [...byName.values()].sort((a, b) => compareText(a.name, b.name));
}

export async function detectServices(g: GuestView): Promise<ServiceFacts> {
  const init_system = await detectInitSystem(g);
  if (init_system === 'systemd') {
    const sd = await systemdServices(g);
    return { init_system, ...sd };
  }
  if (init_system === 'openrc') return { init_system, services: await openrcServices(g) };
  const default_target = await inittabDefault(g);
  return { init_system, ...(default_target ? { default_target } : {}), services: await sysvServices(g) };
}
