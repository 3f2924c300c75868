import { parseIni } from '../../inspect/parse.js';
import type { LinuxGuest } from './guest.js';

/** Unit search path of the system manager, as `systemctl --root` walks it (runtime directories hold nothing offline). */
export const UNIT_PATH = ['/etc/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

export type UnitState = 'enabled' | 'disabled' | 'static' | 'indirect' | 'masked' | 'generated' | 'not-found' | 'alias';

export interface UnitVerdict {
  state: UnitState;
  /** The file or link that decided it. */
  file?: string;
  via?: string;
}

/** The links under /etc/systemd/system that enable units: *.wants, *.requires, *.upholds → unit names. */
async function enablementLinks(g: LinuxGuest): Promise<Map<string, string>> {
  return g.once('systemd-links', async () => {
    const out = new Map<string, string>();
    for (const e of await g.entries('/etc/systemd/system')) {
      if (e.type !== 'directory' || !/\.(wants|requires|upholds)$/.test(e.name)) continue;
      const dir = `/etc/systemd/system/${e.name}`;
      for (const n of await g.list(dir)) if (!out.has(n)) out.set(n, `${dir}/${n}`);
    }
    return out;
  });
}

/** Names in a directory, listed once per guest: most names asked about are in none of them. */
function unitNames(g: LinuxGuest, dir: string): Promise<Set<string>> {
  return g.once(`unit-names:${dir}`, async () => new Set(await g.list(dir)));
}

/** The unit file that defines a unit (first in the search path), following an alias link to its target. */
async function unitFile(g: LinuxGuest, name: string): Promise<{ path: string; masked: boolean; realName: string } | undefined> {
  for (const dir of UNIT_PATH) {
    // one listing per directory (most units asked about exist in none): no path lookup per name
    if (!(await unitNames(g, dir)).has(name)) continue;
    const p = `${dir}/${name}`;
    const t = await g.lstatType(p);
    if (t === undefined) continue;
    if (t === 'symlink') {
      const target = await g.readlink(p);
      if (target === '/dev/null') return { path: p, masked: true, realName: name };
      const real = target?.split('/').pop() ?? name;
      if (!(await g.stat(p))) continue; // dangling
      return { path: p, masked: false, realName: real };
    }
    return { path: p, masked: false, realName: name };
  }
  return undefined;
}

/**
 * `systemctl is-enabled NAME` judged from the files: masked (linked to /dev/null in /etc),
 * enabled (linked from a .wants/.requires/.upholds directory in /etc, itself or an alias of it),
 * else disabled / static / indirect from the unit's [Install] section. A SysV script started
 * from an rc directory is `generated` (systemd-sysv-generator turns it into an enabled unit).
 */
export async function unitState(g: LinuxGuest, name: string): Promise<UnitVerdict> {
  return g.once(`unit:${name}`, async () => {
    const links = await enablementLinks(g);
    const f = await unitFile(g, name);
    if (f?.masked) return { state: 'masked' as const, file: f.path };
    if (!f) {
      const base = name.replace(/\.service$/, '');
      if (name.endsWith('.service') && (await unitNames(g, '/etc/init.d')).has(base) && (await g.stat(`/etc/init.d/${base}`))) {
        for (const lvl of ['2', '3', '4', '5']) {
          const s = (await g.list(`/etc/rc${lvl}.d`)).find((n) => new RegExp(`^S\\d\\d${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`).test(n));
          if (s) return { state: 'generated' as const, file: `/etc/init.d/${base}`, via: `/etc/rc${lvl}.d/${s}` };
        }
        return { state: 'disabled' as const, file: `/etc/init.d/${base}` };
      }
      return { state: 'not-found' as const };
    }
    const via = links.get(name) ?? (f.realName !== name ? links.get(f.realName) : undefined);
    if (via) return { state: 'enabled' as const, file: f.path, via };
    const text = await g.text(f.path);
    const install = text ? parseIni(text).get('Install') : undefined;
    // an alias link in /etc (sshd.service → ssh.service) made by `systemctl enable`
    if (f.realName !== name && f.path.startsWith('/etc/')) {
      const real = await unitState(g, f.realName);
      return { ...real, state: real.state === 'enabled' ? ('enabled' as const) : ('alias' as const) };
    }
    if (!install) return { state: 'static' as const, file: f.path };
    const keys = [...install.keys()];
    if (keys.some((k) => ['WantedBy', 'RequiredBy', 'UpheldBy', 'Alias'].includes(k))) return { state: 'disabled' as const, file: f.path };
    if (keys.includes('Also')) return { state: 'indirect' as const, file: f.path };
    return { state: 'static' as const, file: f.path };
  });
}

/** Configuration of a systemd daemon with its drop-ins (journald.conf + journald.conf.d/*.conf), last assignment winning. */
export async function systemdConf(g: LinuxGuest, file: string, section: string, key: string): Promise<{ value: string; file: string; line: number } | undefined> {
  const dirs = ['/etc', '/run', '/usr/local/lib', '/usr/lib'];
  // the main file: the first directory that has it; drop-ins: by name across directories, /etc hiding the rest
  let main: string | undefined;
  for (const d of dirs) {
    if (await g.stat(`${d}/${file}`)) {
      main = `${d}/${file}`;
      break;
    }
  }
  const byName = new Map<string, string>();
  for (const d of dirs) {
    for (const n of await g.list(`${d}/${file}.d`)) if (n.endsWith('.conf') && !byName.has(n)) byName.set(n, `${d}/${file}.d/${n}`);
  }
  const files = [...(main ? [main] : []), ...[...byName.keys()].sort().map((n) => byName.get(n)!)];
  let found: { value: string; file: string; line: number } | undefined;
  for (const f of files) {
    const lines = await g.lines(f);
    if (!lines) continue;
    let cur = '';
    lines.forEach((raw, i) => {
      const l = raw.trim();
      if (l === '' || l.startsWith('#') || l.startsWith(';')) return;
      const sec = /^\[(.+)\]$/.exec(l);
      if (sec) {
        cur = sec[1]!;
        return;
      }
      const eq = l.indexOf('=');
      if (eq < 0 || cur !== section) return;
      if (l.slice(0, eq).trim() === key) found = { value: l.slice(eq + 1).trim(), file: f, line: i + 1 };
    });
  }
  return found;
}
