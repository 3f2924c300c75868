import type { CompareReport, Recommendation, Severity } from './types.js';

/** Services whose appearance at boot is worth a second look: clear-text or legacy remote access. */
const RISKY_SERVICES = /^(telnet|telnetd|inetd|xinetd|rsh|rlogin|rexec|tftp|vsftpd|proftpd|pure-ftpd|nfs-server|rpcbind|smb|smbd|nmbd|snmpd|avahi-daemon|cups|xrdp|vncserver)([@.-]|$)/;
/** Services whose loss at boot weakens the guest. */
const GUARD_SERVICES = /^(auditd|firewalld|ufw|nftables|iptables|ip6tables|netfilter-persistent|apparmor|fail2ban|chronyd|chrony|systemd-timesyncd|ntp|ntpd|rsyslog|syslog-ng|systemd-journald|unattended-upgrades|apt-daily-upgrade|dnf-automatic|sshd?|WinDefend|MpsSvc|EventLog|wuauserv)([@.]|$)/;
const ADMIN_GROUPS = new Set(['sudo', 'wheel', 'admin', 'root', 'adm', 'docker', 'lxd', 'libvirt', 'disk', 'shadow', 'Administrators']);
/** Configuration whose change alters who can get in, or with which rights. */
const ACCESS_FILES = /^\/etc\/(ssh\/sshd_config(\.d\/.*)?|sudoers(\.d\/.*)?|pam\.d\/.*|security\/.*|login\.defs|passwd|shadow|group|gshadow|hosts\.(allow|deny)|selinux\/config|audit\/.*|crontab|cron\.[a-z]+\/.*)$/;

/**
 * What the differences call for, most severe first. Each names the difference it is about;
 * none changes anything (guestkit never writes guest images).
 */
export function recommendations(r: CompareReport): Recommendation[] {
  const out: Recommendation[] = [];
  const add = (id: string, severity: Severity, subject: string, message: string) => out.push({ id, severity, subject, message });

  for (const c of r.os.changes) {
    if (c.field === 'major_version' || c.field === 'minor_version' || c.field === 'distro' || c.field === 'product_name') {
      add('os-version-drift', 'medium', `os:${c.field}`, `OS ${c.field} differs (${String(c.baseline)} → ${String(c.target)}): confirm the target was meant to move, and re-run the checks that depend on the OS release.`);
    } else if (c.field === 'arch') {
      add('os-arch-changed', 'high', 'os:arch', `architecture differs (${String(c.baseline)} → ${String(c.target)}): these are not the same system.`);
    }
  }
  for (const k of r.os.kernels_removed) add('kernel-removed', 'info', `kernel:${k}`, `kernel ${k} is no longer installed; make sure the boot loader's default points at an installed one.`);

  for (const p of r.packages?.changed ?? []) {
    if (p.direction === 'downgrade') {
      add('package-downgraded', 'high', `package:${p.name}`, `${p.name} was downgraded (${p.baseline_version} → ${p.target_version}): fixes in the newer version are lost; check whether this was intended.`);
    }
  }
  for (const p of r.packages?.removed ?? []) add('package-removed', 'info', `package:${p.name}`, `${p.name} ${p.version} was removed; check nothing on the target still relies on it.`);
  if ((r.packages?.added.length ?? 0) > 0) {
    add('packages-added', 'low', 'packages', `${r.packages!.added.length} package(s) added (${r.packages!.added.slice(0, 5).map((p) => p.name).join(', ')}${r.packages!.added.length > 5 ? ', …' : ''}): review them against the baseline's approved software.`);
  }

  for (const s of r.services?.enabled ?? []) {
    if (RISKY_SERVICES.test(s.name)) add('risky-service-enabled', 'high', `service:${s.name}`, `${s.name} now starts at boot: it offers clear-text or legacy remote access; disable it unless it is required.`);
    else add('service-enabled', 'info', `service:${s.name}`, `${s.name} now starts at boot; confirm it belongs on this system.`);
  }
  for (const s of r.services?.disabled ?? []) {
    if (GUARD_SERVICES.test(s.name)) add('guard-service-disabled', 'medium', `service:${s.name}`, `${s.name} no longer starts at boot: the function it provides (access, auditing, filtering, time, logging or updates) is gone unless something else covers it.`);
    else add('service-disabled', 'info', `service:${s.name}`, `${s.name} no longer starts at boot.`);
  }

  for (const u of r.users?.added ?? []) {
    if (u.uid === 0) add('uid0-account-added', 'critical', `user:${u.name}`, `${u.name} was added with UID 0 (root's rights); remove it or give it an unprivileged UID.`);
    else if (u.password === 'empty' && u.login_allowed) add('empty-password-account-added', 'critical', `user:${u.name}`, `${u.name} was added with an empty password and a login shell; lock it or set a password.`);
    else if (u.login_allowed) add('login-account-added', 'medium', `user:${u.name}`, `${u.name} (UID ${u.uid}) was added and can log in; confirm who owns it.`);
    const admin = u.groups.filter((g) => ADMIN_GROUPS.has(g));
    if (admin.length) add('account-admin-groups', 'high', `user:${u.name}`, `${u.name} is in ${admin.join(', ')}: administrative rights on the target.`);
  }
  for (const c of r.users?.changed ?? []) {
    for (const ch of c.changes) {
      if (ch.field === 'uid' && ch.target === 0) add('account-became-uid0', 'critical', `user:${c.name}`, `${c.name} now has UID 0.`);
      if (ch.field === 'password' && ch.target === 'empty') add('account-password-emptied', 'critical', `user:${c.name}`, `${c.name} now has an empty password.`);
      if (ch.field === 'groups') {
        const before = new Set(ch.baseline as string[]);
        const gained = (ch.target as string[]).filter((g) => !before.has(g) && ADMIN_GROUPS.has(g));
        if (gained.length) add('account-admin-groups', 'high', `user:${c.name}`, `${c.name} joined ${gained.join(', ')}: administrative rights on the target.`);
      }
    }
  }

  for (const f of r.files?.modified ?? []) {
    if (ACCESS_FILES.test(f.path)) add('access-config-changed', 'medium', `file:${f.path}`, `${f.path} changed (${f.changes.join(', ')}): it controls access or privileges; review the change${f.diff ? ' (diff attached)' : ''}.`);
    if (f.changes.includes('mode') && typeof f.target.mode === 'string' && (parseInt(f.target.mode, 8) & 0o002) !== 0 && f.target.type !== 'symlink') {
      add('world-writable', 'high', `file:${f.path}`, `${f.path} became world-writable (mode ${f.target.mode}).`);
    }
  }
  for (const f of r.files?.added ?? []) {
    if (ACCESS_FILES.test(f.path)) add('access-config-added', 'medium', `file:${f.path}`, `${f.path} was added: it controls access or privileges; review it.`);
    if (f.state.type === 'file' && typeof f.state.mode === 'string' && (parseInt(f.state.mode, 8) & 0o4000) !== 0) {
      add('setuid-file-added', 'high', `file:${f.path}`, `${f.path} was added with the set-user-ID bit (mode ${f.state.mode}).`);
    }
  }

  const rank: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  return out.sort((a, b) => rank[a.severity] - rank[b.severity] || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}
