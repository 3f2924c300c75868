import type { GuestView } from '../guest-view.js';
import { parseGuestYaml, yamlBudget } from './yaml.js';
import type { OperatingSystem } from '../types.js';
import { globMatch, parseDirectives, parseKeyValue } from '../parse.js';
import { MAX_CONFIG_BYTES } from '../guest-view.js';

/** Timezone: the /etc/localtime link target, else /etc/timezone, else sysconfig clock. */
export async function detectTimezone(g: GuestView): Promise<string | undefined> {
  // Red Hat before 7 copies the zone file: only a link names the zone.
  const link = (await g.lstatType('/etc/localtime')) === 'symlink' ? await g.readlink('/etc/localtime') : undefined;
  const m = link ? /zoneinfo\/(.+)$/.exec(link) : null;
  if (m) return m[1];
  const tz = (await g.text('/etc/timezone', 4096))?.trim();
  if (tz) return tz;
  const clock = await g.text('/etc/sysconfig/clock', 4096);
  const z = clock ? parseKeyValue(clock) : undefined;
  return z?.get('ZONE') ?? z?.get('TIMEZONE') ?? undefined;
}

/** System locale (LANG) from locale.conf, Debian's default/locale or sysconfig. */
export async function detectLocale(g: GuestView): Promise<string | undefined> {
  for (const f of ['/etc/locale.conf', '/etc/default/locale', '/etc/sysconfig/i18n', '/etc/sysconfig/language', '/etc/env.d/02locale']) {
    const text = await g.text(f, 64 * 1024);
    if (!text) continue;
    const kv = parseKeyValue(text);
    const v = kv.get('LANG') ?? kv.get('RC_LANG') ?? kv.get('LC_ALL');
    if (v) return v;
  }
  return undefined;
}

type Security = NonNullable<OperatingSystem['security']>;

/** SELinux mode from /etc/selinux/config; AppArmor from its profiles; sshd's effective settings. */
export async function detectSecurity(g: GuestView): Promise<Security> {
  const sec: Security = {};
  const se = await g.text('/etc/selinux/config', 64 * 1024);
  if (se) {
    const kv = parseKeyValue(se);
    sec.selinux = { mode: (kv.get('SELINUX') ?? 'unknown').toLowerCase(), ...(kv.get('SELINUXTYPE') ? { type: kv.get('SELINUXTYPE')! } : {}) };
  }
  if (await g.isDir('/etc/apparmor.d')) {
    // Profiles loaded at boot: the files at the top level, less those linked from disable/.
    const disabled = new Set(await g.list('/etc/apparmor.d/disable'));
    const profiles = (await g.entries('/etc/apparmor.d')).filter((e) => e.type === 'file' && !disabled.has(e.name)).length;
    sec.apparmor = { enabled: !(await isAppArmorDisabled(g)), profiles };
  }
  const ssh = await sshdConfig(g);
  if (ssh) sec.ssh = ssh;
  return sec;
}

/** AppArmor is off when the kernel command line in the default grub config says so. */
async function isAppArmorDisabled(g: GuestView): Promise<boolean> {
  const grub = (await g.text('/etc/default/grub', 64 * 1024)) ?? '';
  return /apparmor=0/.test(grub);
}

/** sshd_config with its Include files; first value wins as in sshd. Defaults filled for key settings. */
async function sshdConfig(g: GuestView): Promise<Record<string, string> | undefined> {
  const main = await g.text('/etc/ssh/sshd_config', 1024 * 1024);
  if (main === undefined) return undefined;
  const parts: string[] = [];
  // An included file counts once however often it is named, and all of them together stay
  // within one config file's bound: repeated Include lines must not multiply the text.
  const included = new Set<string>();
  const listings = new Map<string, string[]>();
  let budget = MAX_CONFIG_BYTES;
  for (const line of main.split('\n')) {
    const inc = /^\s*Include\s+(\S+)/i.exec(line);
    if (inc) {
      const pat = inc[1]!.startsWith('/') ? inc[1]! : `/etc/ssh/${inc[1]}`;
      const dir = pat.replace(/\/[^/]*$/, '');
      const glob = pat.slice(dir.length + 1);
      let names = listings.get(dir);
      if (!names) listings.set(dir, (names = await g.list(dir)));
      for (const n of names) {
        const f = `${dir}/${n}`;
        if (included.has(f) || !globMatch(glob, n)) continue;
        if (budget <= 0) {
          g.warn(`/etc/ssh/sshd_config: included files beyond ${MAX_CONFIG_BYTES} bytes were not read`);
          break;
        }
        included.add(f);
        const t = (await g.text(f, Math.min(1024 * 1024, budget))) ?? '';
        budget -= t.length;
        parts.push(t);
      }
      continue;
    }
    parts.push(line);
  }
  const text = parts.join('\n');
  const d = parseDirectives(text.replace(/^[ \t]*Match\s[\s\S]*$/im, ''));
  const out: Record<string, string> = {
    port: d.get('port') ?? '22',
    permitrootlogin: d.get('permitrootlogin') ?? 'prohibit-password',
    passwordauthentication: d.get('passwordauthentication') ?? 'yes',
    pubkeyauthentication: d.get('pubkeyauthentication') ?? 'yes',
    permitemptypasswords: d.get('permitemptypasswords') ?? 'no',
    x11forwarding: d.get('x11forwarding') ?? 'no',
  };
  for (const k of ['listenaddress', 'protocol', 'ciphers', 'macs', 'kexalgorithms', 'allowusers', 'allowgroups', 'maxauthtries', 'usepam']) {
    const v = d.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** cloud-init: installed, its datasources, and whether it is disabled. */
export async function detectCloudInit(g: GuestView): Promise<OperatingSystem['cloud_init']> {
  const installed = (await g.isDir('/etc/cloud')) && ((await g.exists('/usr/bin/cloud-init')) || (await g.isFile('/etc/cloud/cloud.cfg')));
  if (!installed) return { installed: false };
  // cloud.cfg, then cloud.cfg.d/*.cfg in name order; a later datasource_list replaces an earlier one.
  let datasources: string[] | undefined;
  const cfgs = ['/etc/cloud/cloud.cfg', ...(await g.list('/etc/cloud/cloud.cfg.d')).filter((n) => n.endsWith('.cfg')).map((n) => `/etc/cloud/cloud.cfg.d/${n}`)];
  const budget = yamlBudget();
  for (const f of cfgs) {
    const text = await g.text(f, 1024 * 1024);
    if (!text || !/^[ \t]*datasource_list[ \t]*:/m.test(text)) continue;
    const doc = await parseGuestYaml(g, f, text, budget);
    const list = (doc as { datasource_list?: unknown } | null)?.datasource_list;
    if (Array.isArray(list)) datasources = list.map(String);
  }
  const disabled = await g.exists('/etc/cloud/cloud-init.disabled');
  return { installed: true, ...(datasources ? { datasources } : {}), disabled };
}

/** Hypervisor guest agents and tools, by their binaries/units. */
export async function detectGuestAgents(g: GuestView): Promise<string[]> {
  const probes: [string, string[]][] = [
    ['qemu-guest-agent', ['/usr/sbin/qemu-ga', '/usr/bin/qemu-ga']],
    ['open-vm-tools', ['/usr/bin/vmtoolsd', '/usr/sbin/vmtoolsd']],
    ['vmware-tools', ['/etc/vmware-tools/services.sh', '/usr/lib/vmware-tools']],
    ['hyperv-daemons', ['/usr/sbin/hv_kvp_daemon', '/usr/sbin/hypervkvpd', '/usr/lib/linux-tools/hv_kvp_daemon']],
    ['virtualbox-guest-additions', ['/usr/sbin/VBoxService', '/opt/VBoxGuestAdditions']],
    ['xe-guest-utilities', ['/usr/sbin/xe-daemon']],
    ['google-guest-agent', ['/usr/bin/google_guest_agent']],
    ['waagent', ['/usr/sbin/waagent']],
    ['amazon-ssm-agent', ['/usr/bin/amazon-ssm-agent']],
    ['spice-vdagent', ['/usr/bin/spice-vdagent', '/usr/sbin/spice-vdagentd']],
  ];
  const out: string[] = [];
  for (const [name, paths] of probes) {
    for (const p of paths) {
      if (await g.exists(p)) {
        out.push(name);
        break;
      }
    }
  }
  return out;
}
