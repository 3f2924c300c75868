import type { CheckInput, EvaluatorInput, ProfileName, Severity } from '../types.js';

/**
 * The Linux check catalogue, as data. Each entry names its evaluator; the `cac` ids are the
 * ComplianceAsCode rules it implements, from which the CIS references are derived (cis-map.ts).
 * Ids are stable: a check that changes meaning gets a new id.
 */

type Opts = { cac?: string[]; families?: CheckInput['families']; profiles?: ProfileName[]; references?: string[] };

const SEC: ProfileName[] = ['security', 'hardening', 'compliance'];
const HARD: ProfileName[] = ['hardening', 'compliance'];

function c(id: string, title: string, severity: Severity, evaluator: EvaluatorInput, rationale: string, remediation: string, o: Opts = {}): CheckInput {
  const profiles = o.profiles ?? (severity === 'high' || severity === 'critical' || severity === 'medium' ? SEC : HARD);
  return {
    id: `linux.${id}`,
    title,
    severity,
    rationale,
    remediation,
    families: o.families ?? ['linux'],
    profiles: o.cac ? profiles : profiles.filter((p) => p !== 'compliance'),
    ...(o.cac ? { cac: o.cac } : {}),
    ...(o.references ? { references: o.references } : {}),
    evaluator,
  };
}

// ---- kernel modules -----------------------------------------------------------------------------
const MODULES: [string, string, Severity, string][] = [
  ['cramfs', 'kernel_module_cramfs_disabled', 'low', 'a compressed read-only filesystem for embedded systems'],
  ['freevxfs', 'kernel_module_freevxfs_disabled', 'low', 'the Veritas filesystem driver'],
  ['hfs', 'kernel_module_hfs_disabled', 'low', 'the Mac OS filesystem driver'],
  ['hfsplus', 'kernel_module_hfsplus_disabled', 'low', 'the Mac OS Extended filesystem driver'],
  ['jffs2', 'kernel_module_jffs2_disabled', 'low', 'a flash filesystem driver'],
  ['udf', 'kernel_module_udf_disabled', 'low', 'the optical media filesystem driver'],
  ['usb-storage', 'kernel_module_usb-storage_disabled', 'medium', 'USB mass storage'],
  ['overlay', 'kernel_module_overlayfs_disabled', 'low', 'the overlay filesystem'],
  ['squashfs', 'kernel_module_squashfs_disabled', 'low', 'a compressed read-only filesystem'],
  ['dccp', 'kernel_module_dccp_disabled', 'medium', 'the DCCP transport protocol'],
  ['tipc', 'kernel_module_tipc_disabled', 'medium', 'the TIPC cluster protocol'],
  ['rds', 'kernel_module_rds_disabled', 'medium', 'the RDS transport protocol'],
  ['sctp', 'kernel_module_sctp_disabled', 'medium', 'the SCTP transport protocol'],
];
const modules = MODULES.map(([m, cac, sev, what]) =>
  c(`modules.${m.replace(/-/g, '_')}_disabled`, `${m} kernel module is not available`, sev, { type: 'kernel_module', module: m }, `${m} is ${what}; an unused kernel module is attack surface a local user or a plugged device can reach.`, `echo -e "install ${m} /bin/false\\nblacklist ${m}" > /etc/modprobe.d/${m}.conf`, { cac: [cac] }),
);

// ---- partitions and mount options ---------------------------------------------------------------
const MOUNTS: [string, string, string[]][] = [
  ['/tmp', 'tmp', ['nodev', 'nosuid', 'noexec']],
  ['/dev/shm', 'dev_shm', ['nodev', 'nosuid', 'noexec']],
  ['/home', 'home', ['nodev', 'nosuid']],
  ['/var', 'var', ['nodev', 'nosuid']],
  ['/var/tmp', 'var_tmp', ['nodev', 'nosuid', 'noexec']],
  ['/var/log', 'var_log', ['nodev', 'nosuid', 'noexec']],
  ['/var/log/audit', 'var_log_audit', ['nodev', 'nosuid', 'noexec']],
];
const OPTION_WHY: Record<string, string> = {
  nodev: 'device files there would bypass the permissions on the real devices',
  nosuid: 'set-user-ID programs there would run with their owner’s rights',
  noexec: 'programs written there could be run directly',
};
const mounts = MOUNTS.flatMap(([path, key, opts]) => [
  c(`mounts.${key}_separate`, `${path} is a separate mount`, path === '/tmp' || path === '/dev/shm' ? 'medium' : 'low', { type: 'mount', path, expect: 'separate' }, `A separate ${path} filesystem can carry restrictive options and cannot fill the root filesystem.`, `Add an /etc/fstab entry (or a ${path.slice(1).replace(/\//g, '-')}.mount unit) for ${path}.`, { cac: [`partition_for_${key}`] }),
  ...opts.map((o) =>
    c(`mounts.${key}_${o}`, `${path} is mounted with ${o}`, path === '/tmp' || path === '/dev/shm' ? 'medium' : 'low', { type: 'mount', path, expect: 'option', option: o }, `With ${o} on ${path}, ${OPTION_WHY[o]}.`, `Add ${o} to the options of ${path} in /etc/fstab and remount.`, { cac: [`mount_option_${key}_${o}`] }),
  ),
]);

// ---- boot, MAC, process hardening ---------------------------------------------------------------
const boot = [
  c('boot.grub_password', 'Boot loader password is set', 'medium', { type: 'grub_password' }, 'Without a boot loader password anyone at the console can edit the kernel command line (init=/bin/sh) and bypass every control.', 'Set a superuser and a password_pbkdf2 hash in /etc/grub.d/40_custom, then run update-grub.', { cac: ['grub2_password'] }),
  c('boot.grub_cfg_permissions', 'grub.cfg is owned by root and not readable by others', 'medium', { type: 'file_mode', paths: ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg'], max_mode: '0600', owner: ['root'], group: ['root'] }, 'The boot configuration holds the password hash and kernel parameters.', 'chown root:root /boot/grub/grub.cfg && chmod u-x,go-rwx /boot/grub/grub.cfg', { cac: ['file_permissions_grub2_cfg', 'file_owner_grub2_cfg'] }),
  c('mac.apparmor_installed', 'AppArmor is installed', 'medium', { type: 'package', names: ['apparmor'], expect: 'installed' }, 'AppArmor confines programs to the files and capabilities their profiles allow.', 'apt-get install apparmor apparmor-utils', { cac: ['package_apparmor_installed'], families: ['debian'] }),
  c('mac.apparmor_bootloader', 'AppArmor is enabled on the kernel command line', 'medium', { type: 'kernel_cmdline', arg: 'apparmor', expect: { eq: '1' } }, 'apparmor=0 on the command line switches the confinement off for the whole system.', 'Add apparmor=1 security=apparmor to GRUB_CMDLINE_LINUX in /etc/default/grub and run update-grub.', { cac: ['grub2_enable_apparmor'], families: ['debian'] }),
  c('mac.apparmor_security_lsm', 'AppArmor is the selected security module', 'low', { type: 'kernel_cmdline', arg: 'security', expect: { eq: 'apparmor' } }, 'security=apparmor makes AppArmor the major LSM regardless of the kernel default.', 'Add security=apparmor to GRUB_CMDLINE_LINUX in /etc/default/grub and run update-grub.', { cac: ['grub2_enable_apparmor'], families: ['debian'] }),
  c('mac.selinux_not_disabled', 'SELinux is not disabled', 'high', { type: 'key_value', path: '/etc/selinux/config', syntax: 'shell', key: 'SELINUX', expect: { in: ['enforcing', 'permissive'] }, missing_file: 'not_applicable' }, 'SELINUX=disabled removes mandatory access control; re-enabling it later needs a full relabel.', 'Set SELINUX=enforcing in /etc/selinux/config and relabel (touch /.autorelabel).', { cac: ['selinux_not_disabled'] }),
  c('mac.selinux_enforcing', 'SELinux is enforcing', 'medium', { type: 'key_value', path: '/etc/selinux/config', syntax: 'shell', key: 'SELINUX', expect: { eq: 'enforcing' }, missing_file: 'not_applicable' }, 'In permissive mode SELinux only logs what it would deny.', 'Set SELINUX=enforcing in /etc/selinux/config.', { cac: ['selinux_state'] }),
  c('kernel.aslr', 'Address space layout randomisation is full', 'high', { type: 'sysctl', key: 'kernel.randomize_va_space', expect: { eq: '2' }, kernel_default: '2' }, 'ASLR makes memory corruption exploits guess addresses.', 'echo "kernel.randomize_va_space = 2" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_kernel_randomize_va_space'] }),
  c('kernel.ptrace_scope', 'ptrace is restricted (Yama)', 'medium', { type: 'sysctl', key: 'kernel.yama.ptrace_scope', expect: { min: 1, max: 3 } }, 'With ptrace_scope 0 any process can read the memory of every other process of the same user.', 'echo "kernel.yama.ptrace_scope = 1" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_kernel_yama_ptrace_scope'] }),
  c('kernel.suid_dumpable', 'set-user-ID programs do not dump core', 'medium', { type: 'sysctl', key: 'fs.suid_dumpable', expect: { eq: '0' }, kernel_default: '0' }, 'A core dump of a privileged program can hold secrets readable by the user who crashed it.', 'echo "fs.suid_dumpable = 0" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_fs_suid_dumpable'] }),
  c('kernel.core_hard_limit', 'Core dumps are limited to zero for everyone', 'low', { type: 'limits', domain: '*', item: 'core', limit_type: 'hard', expect: { eq: '0' } }, 'Core files can contain passwords and keys from memory.', 'echo "* hard core 0" > /etc/security/limits.d/60-core.conf', { cac: ['disable_users_coredumps'] }),
  c('kernel.dmesg_restrict', 'Kernel log is readable by root only', 'low', { type: 'sysctl', key: 'kernel.dmesg_restrict', expect: { eq: '1' } }, 'The kernel log reveals addresses and hardware details useful to exploits.', 'echo "kernel.dmesg_restrict = 1" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_kernel_dmesg_restrict'], profiles: ['hardening'] }),
  c('kernel.kptr_restrict', 'Kernel pointers are hidden', 'low', { type: 'sysctl', key: 'kernel.kptr_restrict', expect: { min: 1, max: 2 } }, 'Kernel addresses in /proc help defeat KASLR.', 'echo "kernel.kptr_restrict = 2" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_kernel_kptr_restrict'], profiles: ['hardening'] }),
  c('kernel.protected_hardlinks', 'Hard links to others’ files are restricted', 'low', { type: 'sysctl', key: 'fs.protected_hardlinks', expect: { eq: '1' } }, 'Protects against hard-link races in world-writable directories.', 'echo "fs.protected_hardlinks = 1" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_fs_protected_hardlinks'], profiles: ['hardening'] }),
  c('kernel.protected_symlinks', 'Following others’ symlinks is restricted', 'low', { type: 'sysctl', key: 'fs.protected_symlinks', expect: { eq: '1' } }, 'Protects against symlink races in sticky world-writable directories (/tmp).', 'echo "fs.protected_symlinks = 1" > /etc/sysctl.d/60-kernel.conf', { cac: ['sysctl_fs_protected_symlinks'], profiles: ['hardening'] }),
];

// ---- banners ------------------------------------------------------------------------------------
const ESCAPES = '\\\\[mrsv]';
const banners = [
  ...(
    [
      ['motd', '/etc/motd', 'banner_etc_motd_cis', 'file_permissions_etc_motd'],
      ['issue', '/etc/issue', 'banner_etc_issue_cis', 'file_permissions_etc_issue'],
      ['issue_net', '/etc/issue.net', 'banner_etc_issue_net_cis', 'file_permissions_etc_issue_net'],
    ] as const
  ).flatMap(([key, path, cacText, cacMode]) => [
    c(`banner.${key}_no_os_info`, `${path} does not reveal the OS version`, 'low', { type: 'file_text', path, forbid: ESCAPES }, `getty expands \\m, \\r, \\s and \\v to machine, release, OS name and version: information for an attacker choosing an exploit.`, `Replace ${path} with a site policy text without \\m \\r \\s \\v escapes.`, { cac: [cacText] }),
    c(`banner.${key}_permissions`, `${path} is root-owned and not writable by others`, 'low', { type: 'file_mode', paths: [path], max_mode: '0644', owner: ['root'], group: ['root'] }, 'A writable banner lets any user put text before every login prompt.', `chown root:root ${path} && chmod u-x,go-wx ${path}`, { cac: [cacMode, cacMode.replace('file_permissions', 'file_owner'), cacMode.replace('file_permissions', 'file_groupowner')] }),
  ]),
];

// ---- services and packages ----------------------------------------------------------------------
const SERVICES: [string, string, string[], string[], string[], Severity][] = [
  ['autofs', 'autofs', ['autofs.service'], ['autofs'], ['service_autofs_disabled', 'package_autofs_removed'], 'low'],
  ['avahi', 'Avahi (mDNS/DNS-SD)', ['avahi-daemon.service', 'avahi-daemon.socket'], ['avahi-daemon'], ['service_avahi-daemon_disabled', 'package_avahi_removed'], 'medium'],
  ['dhcp_server', 'a DHCP server', ['isc-dhcp-server.service', 'isc-dhcp-server6.service', 'dhcpd.service', 'kea-dhcp4-server.service'], ['isc-dhcp-server', 'dhcp-server', 'kea'], ['service_dhcpd_disabled', 'package_dhcp_removed'], 'medium'],
  ['dns_server', 'a DNS server (BIND)', ['named.service', 'bind9.service'], ['bind9', 'bind'], ['service_named_disabled', 'package_bind_removed'], 'medium'],
  ['dnsmasq', 'dnsmasq', ['dnsmasq.service'], ['dnsmasq'], ['service_dnsmasq_disabled', 'package_dnsmasq_removed'], 'medium'],
  ['ftp_server', 'an FTP server', ['vsftpd.service'], ['vsftpd'], ['service_vsftpd_disabled', 'package_vsftpd_removed'], 'high'],
  ['ldap_server', 'an LDAP server', ['slapd.service'], ['slapd', 'openldap-servers'], ['service_slapd_disabled', 'package_openldap-servers_removed'], 'medium'],
  ['mail_access', 'an IMAP/POP3 server', ['dovecot.service', 'dovecot.socket'], ['dovecot-core', 'dovecot'], ['service_dovecot_disabled', 'package_dovecot_removed'], 'medium'],
  ['nfs_server', 'an NFS server', ['nfs-server.service', 'nfs-kernel-server.service'], ['nfs-kernel-server'], ['service_nfs_disabled', 'package_nfs-kernel-server_removed'], 'medium'],
  ['nis_server', 'a NIS server', ['ypserv.service'], ['ypserv'], ['service_ypserv_disabled', 'package_ypserv_removed'], 'high'],
  ['print_server', 'the CUPS print server', ['cups.service', 'cups.socket'], ['cups', 'cups-daemon'], ['service_cups_disabled', 'package_cups_removed'], 'low'],
  ['rpcbind', 'rpcbind', ['rpcbind.service', 'rpcbind.socket'], ['rpcbind'], ['service_rpcbind_disabled', 'package_rpcbind_removed'], 'medium'],
  ['rsync_daemon', 'the rsync daemon', ['rsync.service', 'rsyncd.service'], ['rsync-daemon'], ['service_rsyncd_disabled'], 'medium'],
  ['samba', 'Samba', ['smbd.service', 'smb.service', 'nmbd.service'], ['samba'], ['service_smb_disabled', 'package_samba_removed'], 'medium'],
  ['snmp', 'an SNMP agent', ['snmpd.service'], ['snmpd', 'net-snmp'], ['service_snmpd_disabled', 'package_net-snmp_removed'], 'medium'],
  ['tftp_server', 'a TFTP server', ['tftpd-hpa.service', 'tftp.socket', 'tftp.service'], ['tftpd-hpa', 'tftp-server'], ['service_tftp_disabled', 'package_tftp-server_removed'], 'high'],
  ['web_proxy', 'the Squid web proxy', ['squid.service'], ['squid'], ['service_squid_disabled', 'package_squid_removed'], 'medium'],
  ['web_server', 'a web server', ['apache2.service', 'httpd.service', 'nginx.service'], ['apache2', 'httpd', 'nginx'], ['service_httpd_disabled', 'service_nginx_disabled', 'package_httpd_removed', 'package_nginx_removed'], 'medium'],
  ['xinetd', 'xinetd', ['xinetd.service'], ['xinetd'], ['service_xinetd_disabled', 'package_xinetd_removed'], 'medium'],
];
const services = SERVICES.map(([key, what, units, pkgs, cac, sev]) =>
  c(`services.${key}_not_enabled`, `${what} is not started at boot`, sev, { type: 'unit', units, expect: 'not_enabled' }, `Every network service started at boot is attack surface; ${what} is rarely needed on a server that does not serve it on purpose.`, `systemctl disable --now ${units.join(' ')}; or remove it: apt-get purge ${pkgs[0]} / dnf remove ${pkgs[pkgs.length - 1]}`, { cac }),
);
const CLIENTS: [string, string, string[], string[], Severity][] = [
  ['telnet', 'telnet client', ['telnet', 'inetutils-telnet'], ['package_telnet_removed', 'package_inetutils-telnet_removed'], 'medium'],
  ['rsh', 'rsh client', ['rsh-client', 'rsh-redone-client', 'rsh'], ['package_rsh_removed'], 'medium'],
  ['talk', 'talk client', ['talk', 'inetutils-talk'], ['package_talk_removed'], 'low'],
  ['nis_client', 'NIS client', ['nis', 'ypbind', 'ypbind-mt'], ['package_nis_removed'], 'medium'],
  ['ldap_client', 'LDAP client tools', ['ldap-utils', 'openldap-clients'], ['package_openldap-clients_removed'], 'low'],
  ['ftp', 'FTP client', ['ftp', 'tnftp', 'inetutils-ftp'], ['package_ftp_removed', 'package_tnftp_removed'], 'low'],
];
const clients = CLIENTS.map(([key, what, pkgs, cac, sev]) =>
  c(`packages.${key}_absent`, `${what} is not installed`, sev, { type: 'package', names: pkgs, expect: 'absent' }, `${what} sends data, often credentials, in clear text, or weakens the system; it has safer replacements.`, `apt-get purge ${pkgs.join(' ')}  (or dnf remove)`, { cac }),
);
const inetd = [
  c('services.telnet_server_absent', 'No telnet server is installed', 'critical', { type: 'package', names: ['telnetd', 'inetutils-telnetd', 'telnetd-ssl', 'telnet-server'], expect: 'absent' }, 'telnet sends passwords and sessions in clear text.', 'apt-get purge telnetd inetutils-telnetd (or dnf remove telnet-server)', { cac: ['package_telnet-server_removed'] }),
  c('services.inetd_telnet', 'inetd does not serve telnet, rsh, rlogin or tftp', 'critical', { type: 'inetd_service', services: ['telnet', 'shell', 'login', 'exec', 'tftp', 'talk', 'ntalk'] }, 'Services started by inetd listen even though no unit of their own is enabled.', 'Comment the lines out of /etc/inetd.conf (update-inetd --disable telnet) or remove the inetd package.'),
  c('services.xinetd_absent', 'xinetd is not installed', 'low', { type: 'package', names: ['xinetd'], expect: 'absent' }, 'xinetd starts legacy services on demand.', 'apt-get purge xinetd', { cac: ['package_xinetd_removed'] }),
];

// ---- time, cron ---------------------------------------------------------------------------------
const CRON_DIRS: [string, string][] = [
  ['/etc/cron.hourly', 'cron_hourly'],
  ['/etc/cron.daily', 'cron_daily'],
  ['/etc/cron.weekly', 'cron_weekly'],
  ['/etc/cron.monthly', 'cron_monthly'],
  ['/etc/cron.d', 'cron_d'],
];
const cron = [
  c('time.sync_enabled', 'A time synchronisation daemon is enabled', 'medium', { type: 'unit', units: ['systemd-timesyncd.service', 'chrony.service', 'chronyd.service', 'ntp.service', 'ntpsec.service'], expect: 'enabled' }, 'Correct time is needed for logs, Kerberos and certificate checks.', 'apt-get install systemd-timesyncd (or chrony) and enable it.', { cac: ['service_timesyncd_enabled', 'service_chronyd_enabled'] }),
  c('cron.enabled', 'cron is enabled', 'low', { type: 'unit', units: ['cron.service', 'crond.service', 'cronie.service'], expect: 'enabled' }, 'Scheduled maintenance (log rotation, updates) needs cron.', 'systemctl enable cron', { cac: ['service_cron_enabled'] }),
  c('cron.crontab_permissions', '/etc/crontab is root-only', 'medium', { type: 'file_mode', paths: ['/etc/crontab'], max_mode: '0600', owner: ['root'], group: ['root'] }, 'A readable crontab tells users what runs as root and when; a writable one runs their code as root.', 'chown root:root /etc/crontab && chmod og-rwx /etc/crontab', { cac: ['file_permissions_crontab', 'file_owner_crontab', 'file_groupowner_crontab'] }),
  ...CRON_DIRS.map(([p, k]) =>
    c(`cron.${k}_permissions`, `${p} is root-only`, 'medium', { type: 'file_mode', paths: [p], max_mode: '0700', owner: ['root'], group: ['root'] }, 'Jobs in the cron directories run as root.', `chown root:root ${p} && chmod og-rwx ${p}`, { cac: [`file_permissions_${k}`, `file_owner_${k}`, `file_groupowner_${k}`] }),
  ),
  c('cron.allow_exists', '/etc/cron.allow restricts cron', 'low', { type: 'file_exists', path: '/etc/cron.allow', expect: 'present' }, 'An allow list is safer than a deny list: new accounts get no cron by default.', 'echo root > /etc/cron.allow && chmod 640 /etc/cron.allow', { cac: ['file_cron_allow_exists'] }),
  c('cron.deny_absent', '/etc/cron.deny does not exist', 'low', { type: 'file_exists', path: '/etc/cron.deny', expect: 'absent' }, 'With cron.allow in place a deny list is redundant and misleading.', 'rm /etc/cron.deny', { cac: ['file_cron_deny_not_exist'] }),
];

// ---- network parameters -------------------------------------------------------------------------
type Sys = [string, string, Expect, string | undefined, string, Severity];
type Expect = NonNullable<Extract<EvaluatorInput, { type: 'sysctl' }>['expect']>;
const SYSCTL: Sys[] = [
  ['net.ipv4.ip_forward', 'sysctl_net_ipv4_ip_forward', { eq: '0' }, '0', 'IPv4 forwarding is off', 'high'],
  ['net.ipv6.conf.all.forwarding', 'sysctl_net_ipv6_conf_all_forwarding', { eq: '0' }, '0', 'IPv6 forwarding is off', 'high'],
  ['net.ipv4.conf.all.send_redirects', 'sysctl_net_ipv4_conf_all_send_redirects', { eq: '0' }, '1', 'ICMP redirects are not sent (all)', 'medium'],
  ['net.ipv4.conf.default.send_redirects', 'sysctl_net_ipv4_conf_default_send_redirects', { eq: '0' }, '1', 'ICMP redirects are not sent (default)', 'medium'],
  ['net.ipv4.icmp_ignore_bogus_error_responses', 'sysctl_net_ipv4_icmp_ignore_bogus_error_responses', { eq: '1' }, '1', 'Bogus ICMP error responses are ignored', 'low'],
  ['net.ipv4.icmp_echo_ignore_broadcasts', 'sysctl_net_ipv4_icmp_echo_ignore_broadcasts', { eq: '1' }, '1', 'Broadcast ICMP echo requests are ignored', 'medium'],
  ['net.ipv4.conf.all.accept_redirects', 'sysctl_net_ipv4_conf_all_accept_redirects', { eq: '0' }, '1', 'ICMP redirects are not accepted (IPv4 all)', 'medium'],
  ['net.ipv4.conf.default.accept_redirects', 'sysctl_net_ipv4_conf_default_accept_redirects', { eq: '0' }, '1', 'ICMP redirects are not accepted (IPv4 default)', 'medium'],
  ['net.ipv6.conf.all.accept_redirects', 'sysctl_net_ipv6_conf_all_accept_redirects', { eq: '0' }, '1', 'ICMP redirects are not accepted (IPv6 all)', 'medium'],
  ['net.ipv6.conf.default.accept_redirects', 'sysctl_net_ipv6_conf_default_accept_redirects', { eq: '0' }, '1', 'ICMP redirects are not accepted (IPv6 default)', 'medium'],
  ['net.ipv4.conf.all.secure_redirects', 'sysctl_net_ipv4_conf_all_secure_redirects', { eq: '0' }, '1', 'Secure ICMP redirects are not accepted (all)', 'medium'],
  ['net.ipv4.conf.default.secure_redirects', 'sysctl_net_ipv4_conf_default_secure_redirects', { eq: '0' }, '1', 'Secure ICMP redirects are not accepted (default)', 'medium'],
  ['net.ipv4.conf.all.rp_filter', 'sysctl_net_ipv4_conf_all_rp_filter', { eq: '1' }, undefined, 'Reverse path filtering is strict (all)', 'medium'],
  ['net.ipv4.conf.default.rp_filter', 'sysctl_net_ipv4_conf_default_rp_filter', { eq: '1' }, undefined, 'Reverse path filtering is strict (default)', 'medium'],
  ['net.ipv4.conf.all.accept_source_route', 'sysctl_net_ipv4_conf_all_accept_source_route', { eq: '0' }, undefined, 'Source-routed packets are refused (IPv4 all)', 'medium'],
  ['net.ipv4.conf.default.accept_source_route', 'sysctl_net_ipv4_conf_default_accept_source_route', { eq: '0' }, undefined, 'Source-routed packets are refused (IPv4 default)', 'medium'],
  ['net.ipv6.conf.all.accept_source_route', 'sysctl_net_ipv6_conf_all_accept_source_route', { eq: '0' }, undefined, 'Source-routed packets are refused (IPv6 all)', 'medium'],
  ['net.ipv6.conf.default.accept_source_route', 'sysctl_net_ipv6_conf_default_accept_source_route', { eq: '0' }, undefined, 'Source-routed packets are refused (IPv6 default)', 'medium'],
  ['net.ipv4.conf.all.log_martians', 'sysctl_net_ipv4_conf_all_log_martians', { eq: '1' }, '0', 'Suspicious packets are logged (all)', 'low'],
  ['net.ipv4.conf.default.log_martians', 'sysctl_net_ipv4_conf_default_log_martians', { eq: '1' }, '0', 'Suspicious packets are logged (default)', 'low'],
  ['net.ipv4.tcp_syncookies', 'sysctl_net_ipv4_tcp_syncookies', { eq: '1' }, '1', 'TCP SYN cookies are on', 'medium'],
  ['net.ipv6.conf.all.accept_ra', 'sysctl_net_ipv6_conf_all_accept_ra', { eq: '0' }, '1', 'IPv6 router advertisements are not accepted (all)', 'low'],
  ['net.ipv6.conf.default.accept_ra', 'sysctl_net_ipv6_conf_default_accept_ra', { eq: '0' }, '1', 'IPv6 router advertisements are not accepted (default)', 'low'],
];
const network = [
  ...SYSCTL.map(([key, cac, expect, def, title, sev]) =>
    c(`network.${key.replace(/^net\./, '').replace(/\./g, '_')}`, title, sev, { type: 'sysctl', key, expect, ...(def !== undefined ? { kernel_default: def } : {}) }, `${key} set otherwise lets the network steer or flood this host (routing, redirects, spoofed sources).`, `echo "${key} = ${expect.eq}" >> /etc/sysctl.d/60-netipv4.conf && sysctl --system`, { cac: [cac] }),
  ),
  c('network.firewall_enabled', 'A host firewall starts at boot', 'high', { type: 'firewall' }, 'Without a host firewall every listening service is reachable from the network.', 'apt-get install nftables && systemctl enable nftables (or ufw enable / firewalld).', { cac: ['firewall_single_service_active', 'service_nftables_enabled', 'service_ufw_enabled'] }),
  c('network.nftables_installed', 'nftables is installed', 'low', { type: 'package', names: ['nftables', 'ufw', 'firewalld', 'iptables-persistent'], expect: 'installed' }, 'A firewall tool is needed to configure a host firewall.', 'apt-get install nftables', { cac: ['package_nftables_installed'] }),
];

// ---- SSH ----------------------------------------------------------------------------------------
const sshd = (key: string, title: string, sev: Severity, option: string, expect: Expect, cac: string[] | undefined, why: string, fix: string, extra: Partial<Extract<EvaluatorInput, { type: 'sshd' }>> = {}) =>
  c(`ssh.${key}`, title, sev, { type: 'sshd', option, expect, ...extra }, why, fix, cac ? { cac } : { profiles: sev === 'low' || sev === 'info' ? ['hardening'] : ['security', 'hardening'] });
const WEAK_CIPHERS = ['3des-cbc', 'aes128-cbc', 'aes192-cbc', 'aes256-cbc', 'blowfish-cbc', 'cast128-cbc', 'arcfour', 'arcfour128', 'arcfour256', 'rijndael-cbc@lysator.liu.se'];
const WEAK_MACS = ['hmac-md5', 'hmac-md5-96', 'hmac-ripemd160', 'hmac-sha1-96', 'umac-64@openssh.com', 'hmac-md5-etm@openssh.com', 'hmac-md5-96-etm@openssh.com', 'hmac-ripemd160-etm@openssh.com', 'hmac-sha1-96-etm@openssh.com', 'umac-64-etm@openssh.com', 'hmac-sha1', 'hmac-sha1-etm@openssh.com'];
const WEAK_KEX = ['diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1', 'diffie-hellman-group-exchange-sha1'];
const ssh = [
  c('ssh.sshd_config_permissions', 'sshd_config is root-only', 'medium', { type: 'file_mode', paths: ['/etc/ssh/sshd_config'], max_mode: '0600', owner: ['root'], group: ['root'] }, 'sshd_config names who may log in and how.', 'chown root:root /etc/ssh/sshd_config && chmod 600 /etc/ssh/sshd_config', { cac: ['file_permissions_sshd_config', 'file_owner_sshd_config', 'file_groupowner_sshd_config'] }),
  c('ssh.private_host_keys', 'SSH private host keys are root-only', 'high', { type: 'file_mode', paths: ['/etc/ssh/ssh_host_*_key'], max_mode: '0640', owner: ['root'], group: ['root', 'ssh_keys', '_sshkeys'] }, 'Anyone who reads a host key can impersonate the server.', 'chmod 600 /etc/ssh/ssh_host_*_key && chown root:root /etc/ssh/ssh_host_*_key', { cac: ['file_permissions_sshd_private_key'] }),
  c('ssh.public_host_keys', 'SSH public host keys are not writable by others', 'low', { type: 'file_mode', paths: ['/etc/ssh/ssh_host_*_key.pub'], max_mode: '0644', owner: ['root'], group: ['root'] }, 'A replaced public key breaks clients’ host verification.', 'chmod 644 /etc/ssh/ssh_host_*_key.pub && chown root:root /etc/ssh/ssh_host_*_key.pub', { cac: ['file_permissions_sshd_pub_key'] }),
  sshd('access_limited', 'SSH access is limited to listed users or groups', 'medium', 'AllowUsers', { nonempty: true }, ['sshd_limit_user_access'], 'Without an allow list every account with a password or key can log in over SSH.', 'Add AllowGroups sshusers (or AllowUsers …) to /etc/ssh/sshd_config.d/50-access.conf', { any_of: ['AllowGroups', 'DenyUsers', 'DenyGroups'] }),
  sshd('banner', 'SSH shows a warning banner', 'low', 'Banner', { ne: 'none' }, ['sshd_enable_warning_banner_net'], 'A banner states that use is monitored, which some jurisdictions require for prosecution.', 'Banner /etc/issue.net'),
  sshd('ciphers', 'SSH offers no weak ciphers', 'medium', 'Ciphers', { excludes: WEAK_CIPHERS }, ['sshd_use_strong_ciphers'], 'CBC-mode and RC4 ciphers have practical attacks.', 'Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr,chacha20-poly1305@openssh.com'),
  sshd('client_alive_interval', 'SSH disconnects idle sessions', 'low', 'ClientAliveInterval', { min: 1 }, ['sshd_set_idle_timeout', 'sshd_set_keepalive'], 'Unattended sessions are taken over easily.', 'ClientAliveInterval 15 and ClientAliveCountMax 3'),
  sshd('disable_forwarding', 'SSH forwarding is disabled', 'low', 'DisableForwarding', { eq: 'yes' }, ['sshd_disable_forwarding'], 'Port, agent and X11 forwarding let users tunnel around network controls.', 'DisableForwarding yes'),
  sshd('gssapi', 'SSH GSSAPI authentication is disabled', 'low', 'GSSAPIAuthentication', { eq: 'no' }, ['sshd_disable_gssapi_auth'], 'Unused authentication methods are attack surface.', 'GSSAPIAuthentication no'),
  sshd('hostbased', 'SSH host-based authentication is disabled', 'medium', 'HostbasedAuthentication', { eq: 'no' }, ['disable_host_auth'], 'Host-based trust lets anyone on a trusted host log in.', 'HostbasedAuthentication no'),
  sshd('ignore_rhosts', 'SSH ignores .rhosts', 'medium', 'IgnoreRhosts', { eq: 'yes' }, ['sshd_disable_rhosts'], '.rhosts files grant password-less access.', 'IgnoreRhosts yes'),
  sshd('kex', 'SSH offers no weak key exchange', 'medium', 'KexAlgorithms', { excludes: WEAK_KEX }, ['sshd_use_strong_kex'], 'SHA-1 and 1024-bit groups are breakable.', 'KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,…'),
  sshd('login_grace_time', 'SSH login grace time is at most a minute', 'low', 'LoginGraceTime', { min: 1, max: 60 }, ['sshd_set_login_grace_time'], 'Long grace times let unauthenticated connections pile up.', 'LoginGraceTime 60'),
  sshd('log_level', 'SSH logs at INFO or VERBOSE', 'low', 'LogLevel', { in: ['INFO', 'VERBOSE'] }, ['sshd_set_loglevel_info'], 'Lower levels lose login records.', 'LogLevel VERBOSE'),
  sshd('macs', 'SSH offers no weak MACs', 'medium', 'MACs', { excludes: WEAK_MACS }, ['sshd_use_strong_macs'], 'MD5 and 64-bit MACs are weak.', 'MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256'),
  sshd('max_auth_tries', 'SSH allows at most 4 authentication attempts', 'medium', 'MaxAuthTries', { min: 1, max: 4 }, ['sshd_set_max_auth_tries'], 'Fewer tries per connection slow password guessing.', 'MaxAuthTries 4'),
  sshd('max_sessions', 'SSH allows at most 10 sessions per connection', 'low', 'MaxSessions', { min: 1, max: 10 }, ['sshd_set_max_sessions'], 'Limits resource use per connection.', 'MaxSessions 10'),
  sshd('max_startups', 'SSH limits unauthenticated connections (10:30:60)', 'low', 'MaxStartups', { fields_max: [10, 30, 60] }, ['sshd_set_maxstartups'], 'Limits floods of unauthenticated connections.', 'MaxStartups 10:30:60'),
  sshd('permit_empty_passwords', 'SSH refuses empty passwords', 'critical', 'PermitEmptyPasswords', { eq: 'no' }, ['sshd_disable_empty_passwords'], 'An account with an empty password would be open to the network.', 'PermitEmptyPasswords no'),
  sshd('permit_root_login', 'SSH refuses root logins', 'high', 'PermitRootLogin', { eq: 'no' }, ['sshd_disable_root_login'], 'Direct root logins leave no record of who used root and invite password guessing on a known account.', 'PermitRootLogin no'),
  sshd('permit_user_environment', 'SSH ignores user environment files', 'medium', 'PermitUserEnvironment', { eq: 'no' }, ['sshd_do_not_permit_user_env'], 'User-set LD_PRELOAD and the like can bypass restrictions.', 'PermitUserEnvironment no'),
  sshd('use_pam', 'SSH uses PAM', 'medium', 'UsePAM', { eq: 'yes' }, ['sshd_enable_pam'], 'Without PAM, account locking, password policy and limits do not apply to SSH.', 'UsePAM yes'),
  sshd('password_authentication', 'SSH password authentication is off', 'medium', 'PasswordAuthentication', { eq: 'no' }, undefined, 'Keys cannot be guessed; passwords can.', 'PasswordAuthentication no (after keys are in place)'),
  sshd('x11_forwarding', 'SSH X11 forwarding is off', 'low', 'X11Forwarding', { eq: 'no' }, undefined, 'X11 forwarding exposes the client display to the server.', 'X11Forwarding no'),
];

// ---- sudo, su -----------------------------------------------------------------------------------
const SUDO = ['sudo', 'sudo-ldap'];
const sudo = [
  c('sudo.installed', 'sudo is installed', 'low', { type: 'package', names: SUDO, expect: 'installed' }, 'sudo gives administrators individual, logged privilege.', 'apt-get install sudo', { cac: ['package_sudo_installed'] }),
  c('sudo.use_pty', 'sudo runs commands in a pseudo-terminal', 'low', { type: 'sudoers', rule: 'use_pty', requires_package: SUDO }, 'A background process of a sudo command cannot keep the terminal after sudo exits.', 'echo "Defaults use_pty" > /etc/sudoers.d/10-pty', { cac: ['sudo_add_use_pty'] }),
  c('sudo.logfile', 'sudo logs to its own file', 'low', { type: 'sudoers', rule: 'logfile', requires_package: SUDO }, 'A dedicated log makes privileged commands easy to review.', 'echo \'Defaults logfile="/var/log/sudo.log"\' > /etc/sudoers.d/10-log', { cac: ['sudo_custom_logfile'] }),
  c('sudo.no_nopasswd', 'sudo always asks for a password', 'high', { type: 'sudoers', rule: 'no_nopasswd', requires_package: SUDO }, 'NOPASSWD turns a stolen session or a compromised user process into root.', 'Remove NOPASSWD: from the rules in /etc/sudoers and /etc/sudoers.d/*', { cac: ['sudo_require_authentication'] }),
  c('sudo.no_authenticate_off', 'sudo authentication is not switched off', 'high', { type: 'sudoers', rule: 'no_authenticate_off', requires_package: SUDO }, '!authenticate lets users run sudo without any password.', 'Remove !authenticate from Defaults lines', { cac: ['sudo_remove_no_authenticate'] }),
  c('sudo.timestamp_timeout', 'sudo re-asks for the password within 15 minutes', 'low', { type: 'sudoers', rule: 'timestamp_timeout', requires_package: SUDO }, 'A negative timeout caches credentials forever.', 'Defaults timestamp_timeout=15', { cac: ['sudo_require_reauthentication'] }),
  c('sudo.su_restricted', 'su is restricted to a group (pam_wheel)', 'medium', { type: 'pam', services: ['su'], module_type: 'auth', module: 'pam_wheel.so', arg: 'use_uid' }, 'Without pam_wheel any user who learns the root password can become root.', 'auth required pam_wheel.so use_uid group=sugroup in /etc/pam.d/su (with an empty sugroup)', { cac: ['use_pam_wheel_group_for_su'] }),
];

// ---- PAM and passwords --------------------------------------------------------------------------
const PW = ['common-password', 'system-auth'];
const AUTH = ['common-auth', 'system-auth'];
const pwq = (key: string, title: string, expect: Expect, cac: string, def: string | number | undefined, sev: Severity = 'medium') =>
  c(`pam.pwquality_${key}`, title, sev, { type: 'key_value', path: '/etc/security/pwquality.conf', dropins: ['/etc/security/pwquality.conf.d/*.conf'], syntax: 'equals', key, expect, ...(def !== undefined ? { default: def } : {}), missing_file: 'fail' }, 'Password quality rules stop guessable passwords at the moment they are set; without pwquality.conf there are none.', `Set ${key} in /etc/security/pwquality.conf (or a file in pwquality.conf.d).`, { cac: [cac] });
const logindefs = (key: string, title: string, expect: Expect, cac: string, sev: Severity = 'medium') =>
  c(`login_defs.${key.toLowerCase()}`, title, sev, { type: 'key_value', path: '/etc/login.defs', syntax: 'space', key, expect }, 'login.defs sets the defaults shadow applies to new passwords and accounts.', `Set ${key} in /etc/login.defs (and chage existing accounts where it applies).`, { cac: [cac] });
const pam = [
  c('pam.pwquality_installed', 'pam_pwquality is installed', 'medium', { type: 'package', names: ['libpam-pwquality', 'libpwquality'], expect: 'installed' }, 'pam_pwquality enforces password strength.', 'apt-get install libpam-pwquality', { cac: ['package_pam_pwquality_installed'] }),
  c('pam.pwquality_enabled', 'pam_pwquality is in the password stack', 'medium', { type: 'pam', services: PW, module_type: 'password', module: 'pam_pwquality.so' }, 'Installed but unused, the quality rules never run.', 'pam-auth-update --enable pwquality', { cac: ['accounts_password_pam_pwquality_enabled'] }),
  c('pam.faillock_enabled', 'pam_faillock locks accounts after failed logins', 'medium', { type: 'pam', services: AUTH, module_type: 'auth', module: 'pam_faillock.so' }, 'Without a lockout, passwords can be guessed at the speed of the login service.', 'Add pam_faillock.so preauth/authfail around pam_unix in common-auth (pam-auth-update --enable faillock).', { cac: ['accounts_passwords_pam_faillock_enabled'] }),
  c('pam.pwhistory_enabled', 'pam_pwhistory prevents password reuse', 'medium', { type: 'pam', services: PW, module_type: 'password', module: 'pam_pwhistory.so' }, 'Remembered passwords cannot be cycled back.', 'password required pam_pwhistory.so remember=24 enforce_for_root use_authtok in common-password', { cac: ['accounts_password_pam_pwhistory_enabled'] }),
  c('pam.pwhistory_remember', 'pam_pwhistory remembers at least 24 passwords', 'low', { type: 'pam', services: PW, module_type: 'password', module: 'pam_pwhistory.so', arg: 'remember', arg_expect: { min: 24 } }, 'A short history lets users rotate back to an old password quickly.', 'remember=24 on the pam_pwhistory.so line', { cac: ['accounts_password_pam_pwhistory_remember'] }),
  c('pam.pwhistory_enforce_root', 'pam_pwhistory applies to root', 'low', { type: 'pam', services: PW, module_type: 'password', module: 'pam_pwhistory.so', arg: 'enforce_for_root' }, 'Root’s password is the most valuable one.', 'enforce_for_root on the pam_pwhistory.so line', { cac: ['accounts_password_pam_pwhistory_enforce_root'] }),
  c('pam.unix_no_nullok', 'pam_unix does not accept empty passwords', 'high', { type: 'pam', services: AUTH, module_type: 'auth', module: 'pam_unix.so', arg: 'nullok', arg_absent: true }, 'nullok lets accounts with an empty password log in.', 'Remove nullok from pam_unix.so in common-auth / system-auth', { cac: ['no_empty_passwords_unix', 'no_empty_passwords'] }),
  c('pam.unix_no_remember', 'pam_unix does not keep the password history itself', 'low', { type: 'pam', services: PW, module_type: 'password', module: 'pam_unix.so', arg: 'remember', arg_absent: true }, 'pam_unix’s remember= stores old hashes in /etc/security/opasswd with weaker handling than pam_pwhistory.', 'Remove remember= from pam_unix.so and use pam_pwhistory', { cac: ['accounts_password_pam_unix_no_remember'] }),
  c('pam.unix_strong_hash', 'pam_unix hashes new passwords with yescrypt or SHA-512', 'medium', { type: 'pam', services: PW, module_type: 'password', module: 'pam_unix.so', arg: 'yescrypt' }, 'Weak hashes (MD5, DES) are cracked quickly if the shadow file leaks.', 'yescrypt (or sha512) on the pam_unix.so password line', { cac: ['set_password_hashing_algorithm_systemauth'] }),
  c('pam.unix_use_authtok', 'pam_unix uses the password checked by the modules before it', 'low', { type: 'pam', services: PW, module_type: 'password', module: 'pam_unix.so', arg: 'use_authtok' }, 'Without use_authtok pam_unix may accept a password pwquality rejected.', 'use_authtok on the pam_unix.so password line', { cac: ['accounts_password_pam_unix_authtok'] }),
  pwq('minlen', 'Passwords have at least 14 characters', { min: 14 }, 'accounts_password_pam_minlen', 8),
  pwq('minclass', 'Passwords mix four character classes', { min: 4 }, 'accounts_password_pam_minclass', 0, 'low'),
  pwq('difok', 'New passwords differ from the old in at least 2 characters', { min: 2 }, 'accounts_password_pam_difok', 1, 'low'),
  pwq('maxrepeat', 'Passwords repeat a character at most 3 times', { min: 1, max: 3 }, 'accounts_password_pam_maxrepeat', 0, 'low'),
  pwq('maxsequence', 'Passwords hold sequences of at most 3 characters', { min: 1, max: 3 }, 'accounts_password_pam_maxsequence', 0, 'low'),
  pwq('dictcheck', 'Passwords are checked against a dictionary', { ne: '0' }, 'accounts_password_pam_dictcheck', 1, 'low'),
  pwq('enforce_for_root', 'Password quality applies to root', { eq: 'true' }, 'accounts_password_pam_enforce_root', undefined, 'low'),
  c('pam.faillock_deny', 'Accounts lock after at most 5 failures', 'medium', { type: 'key_value', path: '/etc/security/faillock.conf', syntax: 'equals', key: 'deny', expect: { min: 1, max: 5 }, default: 3, requires_package: ['libpam-modules', 'pam'] }, 'Limits online password guessing.', 'deny = 5 in /etc/security/faillock.conf', { cac: ['accounts_passwords_pam_faillock_deny'] }),
  c('pam.faillock_unlock_time', 'Locked accounts stay locked at least 15 minutes', 'low', { type: 'key_value', path: '/etc/security/faillock.conf', syntax: 'equals', key: 'unlock_time', expect: { min: 900 }, default: 600, requires_package: ['libpam-modules', 'pam'] }, 'A short lockout only slows guessing a little.', 'unlock_time = 900 in /etc/security/faillock.conf', { cac: ['accounts_passwords_pam_faillock_unlock_time'] }),
  logindefs('PASS_MAX_DAYS', 'Passwords expire within 365 days', { min: 1, max: 365 }, 'accounts_maximum_age_login_defs'),
  logindefs('PASS_MIN_DAYS', 'Passwords can be changed at most once a day', { min: 1 }, 'accounts_minimum_age_login_defs', 'low'),
  logindefs('PASS_WARN_AGE', 'Users are warned 7 days before their password expires', { min: 7 }, 'accounts_password_warn_age_login_defs', 'low'),
  logindefs('ENCRYPT_METHOD', 'New passwords are hashed with SHA-512 or yescrypt', { in: ['SHA512', 'YESCRYPT'] }, 'set_password_hashing_algorithm_logindefs'),
  logindefs('UMASK', 'The default umask is 027 or stricter', { in: ['027', '077', '0027', '0077'] }, 'accounts_umask_etc_login_defs', 'low'),
  c('shell.tmout', 'Idle shells time out within 15 minutes', 'low', { type: 'file_text', path: '/etc/profile.d/*', require: '^\\s*(readonly\\s+|export\\s+|typeset\\s+-xr\\s+|declare\\s+-[a-z]*r[a-z]*\\s+)?TMOUT=([1-9]|[1-8][0-9]|[1-8][0-9][0-9]|900)\\b', missing: 'fail' }, 'An unattended root shell is an open door.', 'printf "TMOUT=900\\nreadonly TMOUT\\nexport TMOUT\\n" > /etc/profile.d/tmout.sh', { cac: ['accounts_tmout'] }),
];

// ---- logging and auditing -----------------------------------------------------------------------
const AUD = ['auditd', 'audit'];
const auditdConf = (key: string, title: string, expect: Expect, cac: string, sev: Severity = 'low') =>
  c(`audit.auditd_${key}`, title, sev, { type: 'key_value', path: '/etc/audit/auditd.conf', syntax: 'equals', key, expect, requires_package: AUD }, 'auditd.conf decides what happens when the audit log fills or fails.', `Set ${key} in /etc/audit/auditd.conf`, { cac: [cac] });
const watch = (key: string, path: string, cac: string[], what: string) =>
  c(`audit.watch_${key}`, `Changes to ${path} are audited`, 'low', { type: 'audit_rule', watch: { path, perms: 'wa' }, requires_package: AUD }, `Changes to ${what} should leave an audit record.`, `echo "-w ${path} -p wa -k ${key}" >> /etc/audit/rules.d/50-cis.rules && augenrules --load`, { cac });
const sys = (key: string, title: string, names: string[], cac: string[]) =>
  c(`audit.syscalls_${key}`, title, 'low', { type: 'audit_rule', syscalls: { names, arches: ['b64', 'b32'] }, requires_package: AUD }, 'These system calls change security-relevant state; each use should be recorded.', `-a always,exit -F arch=b64 -S ${names.join(',')} -F auid>=1000 -F auid!=unset -k ${key} (and the same for arch=b32)`, { cac });
const exe = (key: string, path: string, cac: string[]) =>
  c(`audit.exec_${key}`, `Runs of ${path} are audited`, 'low', { type: 'audit_rule', exec: path, requires_package: AUD }, `${path} changes permissions or accounts; each run should be recorded.`, `-a always,exit -F path=${path} -F perm=x -F auid>=1000 -F auid!=unset -k ${key}`, { cac });
const audit = [
  c('audit.installed', 'auditd is installed', 'medium', { type: 'package', names: AUD, expect: 'installed' }, 'The audit daemon records security events the kernel reports.', 'apt-get install auditd audispd-plugins', { cac: ['package_audit_installed'] }),
  c('audit.enabled', 'auditd is enabled', 'medium', { type: 'unit', units: ['auditd.service'], expect: 'enabled' }, 'Installed but not started, auditd records nothing.', 'systemctl enable auditd', { cac: ['service_auditd_enabled'] }),
  c('audit.boot_argument', 'Processes started before auditd are audited (audit=1)', 'low', { type: 'kernel_cmdline', arg: 'audit', expect: { eq: '1' } }, 'Without audit=1 processes started before auditd are never audited.', 'Add audit=1 to GRUB_CMDLINE_LINUX and run update-grub', { cac: ['grub2_audit_argument'] }),
  c('audit.backlog_limit', 'The audit backlog holds at least 8192 records', 'low', { type: 'kernel_cmdline', arg: 'audit_backlog_limit', expect: { min: 8192 } }, 'Records are lost at boot when the backlog overflows.', 'Add audit_backlog_limit=8192 to GRUB_CMDLINE_LINUX and run update-grub', { cac: ['grub2_audit_backlog_limit_argument'] }),
  auditdConf('max_log_file', 'Audit log files may grow to a set size', { min: 8 }, 'auditd_data_retention_max_log_file'),
  auditdConf('max_log_file_action', 'Audit logs are kept, not rotated away', { eq: 'keep_logs' }, 'auditd_data_retention_max_log_file_action'),
  auditdConf('disk_full_action', 'A full audit disk halts or drops to single user', { in: ['halt', 'single'] }, 'auditd_data_disk_full_action'),
  auditdConf('disk_error_action', 'An audit disk error halts or drops to single user', { in: ['halt', 'single', 'syslog'] }, 'auditd_data_disk_error_action'),
  auditdConf('space_left_action', 'Low audit disk space is reported', { in: ['email', 'exec', 'single', 'halt'] }, 'auditd_data_retention_space_left_action'),
  auditdConf('admin_space_left_action', 'Very low audit disk space stops the system', { in: ['single', 'halt'] }, 'auditd_data_retention_admin_space_left_action'),
  watch('sudoers', '/etc/sudoers', ['audit_rules_sysadmin_actions'], 'who may use sudo'),
  watch('sudoers_d', '/etc/sudoers.d', ['audit_rules_sysadmin_actions'], 'who may use sudo'),
  watch('sudo_log', '/var/log/sudo.log', ['audit_sudo_log_events'], 'the sudo log'),
  watch('localtime', '/etc/localtime', ['audit_rules_time_watch_localtime'], 'the time zone'),
  watch('issue', '/etc/issue', ['audit_rules_networkconfig_modification'], 'the login banner'),
  watch('issue_net', '/etc/issue.net', ['audit_rules_networkconfig_modification'], 'the network banner'),
  watch('hosts', '/etc/hosts', ['audit_rules_networkconfig_modification'], 'name resolution'),
  watch('networks', '/etc/networks', ['audit_rules_networkconfig_modification'], 'network names'),
  watch('network', '/etc/network', ['audit_rules_networkconfig_modification'], 'the network configuration'),
  watch('group', '/etc/group', ['audit_rules_usergroup_modification_group'], 'groups'),
  watch('passwd', '/etc/passwd', ['audit_rules_usergroup_modification_passwd'], 'accounts'),
  watch('gshadow', '/etc/gshadow', ['audit_rules_usergroup_modification_gshadow'], 'group passwords'),
  watch('shadow', '/etc/shadow', ['audit_rules_usergroup_modification_shadow'], 'password hashes'),
  watch('opasswd', '/etc/security/opasswd', ['audit_rules_usergroup_modification_opasswd'], 'the password history'),
  watch('nsswitch', '/etc/nsswitch.conf', ['audit_rules_usergroup_modification_nsswitch_conf'], 'where accounts are looked up'),
  watch('pam_conf', '/etc/pam.conf', ['audit_rules_usergroup_modification_pam_conf'], 'authentication'),
  watch('pam_d', '/etc/pam.d', ['audit_rules_usergroup_modification_pamd'], 'authentication'),
  watch('utmp', '/var/run/utmp', ['audit_rules_session_events', 'audit_rules_session_events_utmp'], 'session records'),
  watch('wtmp', '/var/log/wtmp', ['audit_rules_session_events', 'audit_rules_session_events_wtmp'], 'login records'),
  watch('btmp', '/var/log/btmp', ['audit_rules_session_events', 'audit_rules_session_events_btmp'], 'failed login records'),
  watch('lastlog', '/var/log/lastlog', ['audit_rules_login_events_lastlog'], 'last login records'),
  watch('faillock', '/var/run/faillock', ['audit_rules_login_events_faillock'], 'lockout records'),
  watch('apparmor', '/etc/apparmor', ['audit_rules_mac_modification_etc_apparmor'], 'the AppArmor configuration'),
  watch('apparmor_d', '/etc/apparmor.d', ['audit_rules_mac_modification_etc_apparmor_d'], 'AppArmor profiles'),
  sys('user_emulation', 'Commands run as another user are audited', ['execve'], ['audit_rules_suid_auid_privilege_function']),
  sys('time_change', 'Changes of the system time are audited', ['adjtimex', 'settimeofday', 'clock_settime'], ['audit_rules_time_adjtimex', 'audit_rules_time_settimeofday', 'audit_rules_time_clock_settime']),
  sys('system_locale', 'Changes of the host or domain name are audited', ['sethostname', 'setdomainname'], ['audit_rules_networkconfig_modification']),
  sys('perm_mod_chmod', 'Permission changes (chmod) are audited', ['chmod', 'fchmod', 'fchmodat'], ['audit_rules_dac_modification_chmod', 'audit_rules_dac_modification_fchmod', 'audit_rules_dac_modification_fchmodat']),
  sys('perm_mod_chown', 'Ownership changes (chown) are audited', ['chown', 'fchown', 'lchown', 'fchownat'], ['audit_rules_dac_modification_chown', 'audit_rules_dac_modification_fchown', 'audit_rules_dac_modification_lchown', 'audit_rules_dac_modification_fchownat']),
  sys('perm_mod_xattr', 'Extended attribute changes are audited', ['setxattr', 'lsetxattr', 'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr'], ['audit_rules_dac_modification_setxattr', 'audit_rules_dac_modification_removexattr']),
  sys('access', 'Refused file accesses are audited', ['creat', 'open', 'openat', 'truncate', 'ftruncate'], ['audit_rules_unsuccessful_file_modification_open', 'audit_rules_unsuccessful_file_modification_openat', 'audit_rules_unsuccessful_file_modification_creat', 'audit_rules_unsuccessful_file_modification_truncate', 'audit_rules_unsuccessful_file_modification_ftruncate']),
  sys('mounts', 'Mounts by users are audited', ['mount'], ['audit_rules_media_export']),
  sys('delete', 'File deletions and renames by users are audited', ['rename', 'unlink', 'unlinkat', 'renameat'], ['audit_rules_file_deletion_events_unlink', 'audit_rules_file_deletion_events_unlinkat', 'audit_rules_file_deletion_events_rename', 'audit_rules_file_deletion_events_renameat']),
  c('audit.syscalls_kernel_modules', 'Kernel module loading is audited', 'low', { type: 'audit_rule', syscalls: { names: ['init_module', 'finit_module', 'delete_module'], arches: ['b64'] }, requires_package: AUD }, 'A loaded module runs with full kernel rights.', '-a always,exit -F arch=b64 -S init_module,finit_module,delete_module -F auid>=1000 -F auid!=unset -k kernel_modules', { cac: ['audit_rules_kernel_module_loading_init', 'audit_rules_kernel_module_loading_finit', 'audit_rules_kernel_module_loading_delete'] }),
  exe('chcon', '/usr/bin/chcon', ['audit_rules_execution_chcon']),
  exe('setfacl', '/usr/bin/setfacl', ['audit_rules_execution_setfacl']),
  exe('chacl', '/usr/bin/chacl', ['audit_rules_execution_chacl']),
  exe('usermod', '/usr/sbin/usermod', ['audit_rules_privileged_commands_usermod']),
  exe('kmod', '/usr/bin/kmod', ['audit_rules_privileged_commands_kmod']),
  c('audit.immutable', 'The audit configuration is immutable until reboot', 'low', { type: 'audit_rule', immutable: true, requires_package: AUD }, 'With -e 2 an intruder cannot switch auditing off without a reboot.', 'echo "-e 2" > /etc/audit/rules.d/99-finalize.rules', { cac: ['audit_rules_immutable'] }),
  c('logging.journald_storage', 'The journal is written to disk', 'low', { type: 'systemd_conf', file: 'systemd/journald.conf', section: 'Journal', key: 'Storage', expect: { eq: 'persistent' } }, 'A volatile journal is lost at every reboot, with the evidence in it.', 'Storage=persistent in /etc/systemd/journald.conf.d/60-storage.conf', { cac: ['journald_storage'] }),
  c('logging.journald_compress', 'Large journal entries are compressed', 'low', { type: 'systemd_conf', file: 'systemd/journald.conf', section: 'Journal', key: 'Compress', expect: { in: ['yes', 'true', '1', 'on'] }, default: 'yes' }, 'Uncompressed journals fill the disk sooner.', 'Compress=yes in journald.conf', { cac: ['journald_compress'] }),
  c('logging.rsyslog_installed', 'rsyslog is installed', 'low', { type: 'package', names: ['rsyslog', 'syslog-ng', 'syslog-ng-core'], expect: 'installed' }, 'A syslog daemon forwards and keeps logs in files tools expect.', 'apt-get install rsyslog', { cac: ['package_rsyslog_installed'] }),
  c('logging.rsyslog_enabled', 'rsyslog is enabled', 'low', { type: 'unit', units: ['rsyslog.service', 'syslog-ng.service'], expect: 'enabled' }, 'Installed but not started, it logs nothing.', 'systemctl enable rsyslog', { cac: ['service_rsyslog_enabled'] }),
];

// ---- files and accounts -------------------------------------------------------------------------
const ACCT: [string, string, string, string[], string[], string, Severity][] = [
  ['passwd', '/etc/passwd', '0644', ['root'], ['root'], 'etc_passwd', 'medium'],
  ['passwd_backup', '/etc/passwd-', '0644', ['root'], ['root'], 'backup_etc_passwd', 'low'],
  ['group', '/etc/group', '0644', ['root'], ['root'], 'etc_group', 'medium'],
  ['group_backup', '/etc/group-', '0644', ['root'], ['root'], 'backup_etc_group', 'low'],
  ['shadow', '/etc/shadow', '0640', ['root'], ['root', 'shadow'], 'etc_shadow', 'high'],
  ['shadow_backup', '/etc/shadow-', '0640', ['root'], ['root', 'shadow'], 'backup_etc_shadow', 'high'],
  ['gshadow', '/etc/gshadow', '0640', ['root'], ['root', 'shadow'], 'etc_gshadow', 'high'],
  ['gshadow_backup', '/etc/gshadow-', '0640', ['root'], ['root', 'shadow'], 'backup_etc_gshadow', 'high'],
  ['shells', '/etc/shells', '0644', ['root'], ['root'], 'etc_shells', 'low'],
  ['opasswd', '/etc/security/opasswd', '0600', ['root'], ['root'], 'etc_security_opasswd', 'medium'],
];
const files = [
  ...ACCT.map(([key, path, mode, owner, group, cac, sev]) =>
    c(`files.${key}`, `${path} has mode ${mode} or stricter and is root-owned`, sev, { type: 'file_mode', paths: [path], max_mode: mode, owner, group }, `${path} holds account data; ${mode === '0644' ? 'nobody but root may change it' : 'nobody but root may read it'}.`, `chown ${owner[0]}:${group[group.length - 1]} ${path} && chmod ${mode} ${path}`, { cac: [`file_permissions_${cac}`, `file_owner_${cac}`, `file_groupowner_${cac}`] }),
  ),
  c('files.etc_world_writable', 'No file under /etc is world-writable', 'high', { type: 'file_tree', roots: ['/etc'], condition: 'world_writable_file' }, 'A world-writable configuration file lets any user change how services behave, often as root.', 'chmod o-w on each file listed', { cac: ['file_permissions_unauthorized_world_writable'] }),
  c('files.etc_unowned', 'Every file under /etc has a known owner', 'low', { type: 'file_tree', roots: ['/etc'], condition: 'unowned' }, 'A file owned by a deleted user is given to whoever next gets that UID.', 'chown root on each file listed', { cac: ['no_files_unowned_by_user'] }),
  c('files.etc_ungrouped', 'Every file under /etc has a known group', 'low', { type: 'file_tree', roots: ['/etc'], condition: 'ungrouped' }, 'A file of a deleted group is given to whatever group next gets that GID.', 'chgrp root on each file listed', { cac: ['file_permissions_ungroupowned'] }),
];
const acct = (key: string, title: string, sev: Severity, property: Extract<EvaluatorInput, { type: 'account' }>['property'], cac: string[], why: string, fix: string) => c(`accounts.${key}`, title, sev, { type: 'account', property }, why, fix, { cac });
const accounts = [
  acct('no_empty_password', 'No account has an empty password', 'critical', 'no_empty_password', ['no_empty_passwords_etc_shadow'], 'An account with an empty password can be used by anyone who can reach a login prompt.', 'passwd -l USER (or set a password) for each account listed'),
  acct('all_shadowed', 'Every account keeps its password in /etc/shadow', 'high', 'all_shadowed', ['accounts_password_all_shadowed'], 'A hash in the world-readable /etc/passwd can be cracked offline by any user.', 'pwconv'),
  acct('only_root_uid0', 'Only root has UID 0', 'critical', 'only_root_uid0', ['accounts_no_uid_except_zero'], 'Any other UID 0 account is a second root, often a backdoor.', 'Remove the account or give it its own UID (usermod -u)'),
  acct('root_gid0', 'root’s primary group is GID 0', 'low', 'root_gid0', ['accounts_root_gid_zero'], 'Files root creates must not be given to another group.', 'usermod -g 0 root'),
  acct('only_root_gid0_group', 'Only the root group has GID 0', 'medium', 'only_root_gid0_group', ['groups_no_zero_gid_except_root'], 'Members of another GID 0 group can read root’s group-readable files.', 'groupmod -g NEWGID GROUP'),
  acct('unique_uids', 'UIDs are unique', 'medium', 'unique_uids', ['account_unique_id'], 'Two accounts with one UID share every file and process.', 'Give each account its own UID'),
  acct('unique_gids', 'GIDs are unique', 'low', 'unique_gids', ['group_unique_id'], 'Two groups with one GID share every file.', 'Give each group its own GID'),
  acct('unique_user_names', 'User names are unique', 'low', 'unique_user_names', ['account_unique_name'], 'Duplicate names make the account a login resolves to ambiguous.', 'Rename or remove the duplicate'),
  acct('unique_group_names', 'Group names are unique', 'low', 'unique_group_names', ['group_unique_name'], 'Duplicate names make group membership ambiguous.', 'Rename or remove the duplicate'),
  acct('passwd_gids_exist', 'Every primary group exists in /etc/group', 'low', 'passwd_gids_exist', ['gid_passwd_group_same'], 'A missing group is given to whatever group is created next with that GID.', 'Create the group or change the account’s GID'),
  acct('shadow_group_empty', 'The shadow group has no members', 'high', 'shadow_group_empty', ['ensure_shadow_group_empty'], 'Members of shadow can read every password hash.', 'gpasswd -d USER shadow'),
  acct('system_accounts_nologin', 'System accounts cannot log in', 'medium', 'system_accounts_nologin', ['no_shelllogin_for_systemaccounts'], 'A system account with a shell is a login nobody watches.', 'usermod -s /usr/sbin/nologin USER'),
];

// ---- performance --------------------------------------------------------------------------------
const PERF: ProfileName[] = ['performance'];
const performance = [
  c('performance.swap_configured', 'Swap space is configured', 'info', { type: 'swap' }, 'Without swap, memory pressure ends in the OOM killer instead of slowing down.', 'Add a swap partition or file to /etc/fstab (or zram).', { profiles: PERF }),
  c('performance.swappiness', 'vm.swappiness favours memory over swap (<= 60)', 'info', { type: 'sysctl', key: 'vm.swappiness', expect: { max: 60 }, kernel_default: '60' }, 'A high swappiness swaps application memory out early, which hurts latency.', 'echo "vm.swappiness = 10" > /etc/sysctl.d/70-swap.conf', { profiles: PERF }),
  c('performance.tuned_profile', 'A tuned profile is selected', 'info', { type: 'file_text', path: '/etc/tuned/active_profile', require: '\\S', missing: 'fail' }, 'tuned applies CPU, disk and network settings suited to the workload.', 'apt-get install tuned && tuned-adm profile virtual-guest', { profiles: PERF }),
  c('performance.thp_not_always', 'Transparent huge pages are not forced on (madvise or never)', 'info', { type: 'kernel_cmdline', arg: 'transparent_hugepage', expect: { in: ['madvise', 'never'] } }, 'THP "always" causes latency spikes for databases (compaction); madvise lets applications opt in.', 'Add transparent_hugepage=madvise to GRUB_CMDLINE_LINUX_DEFAULT and run update-grub', { profiles: PERF }),
  c('performance.irqbalance', 'irqbalance is installed', 'info', { type: 'package', names: ['irqbalance'], expect: 'installed' }, 'Spreading interrupts over vCPUs keeps one CPU from handling all device interrupts.', 'apt-get install irqbalance', { profiles: PERF }),
  c('performance.io_scheduler_rule', 'A udev rule sets the I/O scheduler of virtual disks', 'info', { type: 'file_text', path: '/etc/udev/rules.d/*.rules', require: 'ATTR\\{queue/scheduler\\}=', missing: 'fail' }, 'Virtual disks are usually best served by none/mq-deadline; the host schedules the real device.', 'ACTION=="add|change", KERNEL=="vd[a-z]", ATTR{queue/scheduler}="none" in /etc/udev/rules.d/60-io-scheduler.rules', { profiles: PERF }),
];

export const LINUX_CHECKS: CheckInput[] = [
  ...modules,
  ...mounts,
  ...boot,
  ...banners,
  ...services,
  ...clients,
  ...inetd,
  ...cron,
  ...network,
  ...ssh,
  ...sudo,
  ...pam,
  ...audit,
  ...files,
  ...accounts,
  ...performance,
];
