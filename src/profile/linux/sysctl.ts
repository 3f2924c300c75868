import { globMatch } from '../../inspect/parse.js';
import type { LinuxGuest } from './guest.js';

export interface SysctlSetting {
  value: string;
  file: string;
  line: number;
}

/** sysctl.d(5): a file in an earlier directory hides a file of the same name in a later one. */
export const SYSCTL_DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

/**
 * `net/ipv4/conf/eth0.10/rp_filter` and `net.ipv4.conf.eth0/10.rp_filter` name the same key:
 * when the first separator is a slash, slashes and dots swap (sysctl.d(5)).
 */
export function normalizeSysctlKey(key: string): string {
  const k = key.trim();
  const first = k.search(/[./]/);
  if (first >= 0 && k[first] === '/') return k.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
  return k;
}

/** The files systemd-sysctl applies, in order (the last assignment of a key wins). */
export async function sysctlFiles(g: LinuxGuest): Promise<string[]> {
  const byName = new Map<string, string>();
  for (const dir of SYSCTL_DIRS) {
    for (const n of await g.list(dir)) {
      if (!n.endsWith('.conf') || byName.has(n)) continue;
      byName.set(n, `${dir}/${n}`);
    }
  }
  const names = [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: string[] = [];
  for (const n of names) {
    const f = byName.get(n)!;
    // masked: an /etc file linked to /dev/null hides the vendor file and sets nothing
    if ((await g.lstatType(f)) === 'symlink' && (await g.readlink(f)) === '/dev/null') continue;
    files.push(f);
  }
  return files;
}

/**
 * Kernel parameters as the boot applies them: systemd-sysctl's sysctl.d files in filename order,
 * then /etc/sysctl.conf, which `sysctl --system` reads last (on Debian it is also linked as
 * /etc/sysctl.d/99-sysctl.conf). Glob keys (`net.ipv4.conf.*.rp_filter`) are kept as patterns.
 */
export async function sysctlSettings(g: LinuxGuest): Promise<{ exact: Map<string, SysctlSetting>; patterns: { pattern: string; setting: SysctlSetting; order: number }[]; order: Map<string, number> }> {
  return g.once('sysctl', async () => {
    const exact = new Map<string, SysctlSetting>();
    const order = new Map<string, number>();
    const patterns: { pattern: string; setting: SysctlSetting; order: number }[] = [];
    let seq = 0;
    const files = await sysctlFiles(g);
    const linked = new Set<string>();
    for (const f of files) {
      const real = (await g.lstatType(f)) === 'symlink' ? await g.view.realpath(f) : undefined;
      if (real) linked.add(real);
    }
    if (!linked.has('/etc/sysctl.conf')) files.push('/etc/sysctl.conf');
    for (const f of files) {
      const real = (await g.lstatType(f)) === 'symlink' ? ((await g.view.realpath(f)) ?? f) : f;
      const lines = await g.lines(f);
      if (!lines) continue;
      lines.forEach((raw, i) => {
        const l = raw.trim();
        if (l === '' || l.startsWith('#') || l.startsWith(';')) return;
        const eq = l.indexOf('=');
        if (eq < 0) return;
        let key = l.slice(0, eq).trim();
        if (key.startsWith('-')) key = key.slice(1);
        key = normalizeSysctlKey(key);
        const setting = { value: l.slice(eq + 1).trim(), file: real, line: i + 1 };
        seq++;
        if (/[*?]/.test(key)) patterns.push({ pattern: key, setting, order: seq });
        else {
          exact.set(key, setting);
          order.set(key, seq);
        }
      });
    }
    return { exact, patterns, order };
  });
}

/** The value a key ends with at boot, or undefined when nothing sets it. */
export async function sysctlValue(g: LinuxGuest, key: string): Promise<SysctlSetting | undefined> {
  const s = await sysctlSettings(g);
  const k = normalizeSysctlKey(key);
  let best = s.exact.get(k);
  let bestOrder = s.order.get(k) ?? -1;
  for (const p of s.patterns) {
    if (p.order > bestOrder && globKeyMatch(p.pattern, k)) {
      best = p.setting;
      bestOrder = p.order;
    }
  }
  return best;
}

/** A glob key matches component by component (a `*` never spans a dot). */
function globKeyMatch(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  return p.length === k.length && p.every((c, i) => globMatch(c, k[i]!));
}
