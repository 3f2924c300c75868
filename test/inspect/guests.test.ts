import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession, inspect, type Inspection, type OperatingSystem } from '../../src/inspect/index.js';
import { detectServices } from '../../src/inspect/linux/services.js';
import { fixture } from '../helpers/fixtures.js';
import { HostDirFs } from '../helpers/host-fs.js';

// Guests of test/fixtures/inspect-guests/build.sh: each collector's output asserted in full.

const results = new Map<string, Promise<Inspection>>();
function inspected(name: string): Promise<Inspection> {
  let p = results.get(name);
  if (!p) {
    p = inspect(fixture('inspect-guests', name));
    results.set(name, p);
  }
  return p;
}
async function osOf(name: string): Promise<OperatingSystem> {
  const r = await inspected(name);
  assert.equal(r.operating_systems.length, 1, `${name}: one OS`);
  return r.operating_systems[0]!;
}
function truthLines(file: string): string[] {
  return readFileSync(fixture('inspect-guests', file), 'utf8').trim().split('\n').sort();
}
function debLines(os: OperatingSystem): string[] {
  return os.applications!.map((a) => `${a.name}\t${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}\t${a.arch}`).sort();
}
function rpmLines(os: OperatingSystem): string[] {
  return os.applications!.map((a) => `${a.name}\t${a.epoch}\t${a.version}\t${a.release}\t${a.arch}`).sort();
}
function services(os: OperatingSystem): Record<string, { enabled_in: string[]; alias_of?: string }> {
  return Object.fromEntries(os.services!.map((s) => [s.name, { enabled_in: s.enabled_in, ...(s.alias_of ? { alias_of: s.alias_of } : {}) }]));
}
/** Reads one guest path through the library's own view of the guest (to prove what the fixture holds). */
async function guestReadlink(name: string, path: string): Promise<string> {
  const s = await GuestSession.open([fixture('inspect-guests', name)]);
  try {
    return await (await s.osView()).readlink(path);
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------- Ubuntu-like server

test('Ubuntu-like server (a Debian tree with Ubuntu-style config): reported as the Debian it is, cloud-image layout', async () => {
  const r = await inspected('ubuntu-like.qcow2');
  const os = await osOf('ubuntu-like.qcow2');
  assert.equal(os.distro, 'debian');
  assert.equal(os.hostname, 'ubuntu-srv-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda1', '/boot/efi': '/dev/sda15' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda15']);
  assert.deepEqual(os.warnings, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(debLines(os), truthLines('ubuntu-like-dpkg.txt'), 'dpkg-query of the tree, with cloud-init/apparmor/systemd-resolved');
  assert.equal(os.applications!.find((a) => a.name === 'cloud-init')!.version, '22.4.2');
});

test('Ubuntu-like server: netplan files merged per interface, set-name, bond and VLAN; DNS from netplan as resolv.conf dangles', async () => {
  const os = await osOf('ubuntu-like.qcow2');
  const n = os.network!;
  assert.deepEqual(n.managers, ['netplan']);
  assert.deepEqual(n.interfaces, [
    // 90-ens3-v6.yaml adds an address to 50-cloud-init.yaml's ens3 (one interface, not two).
    { name: 'ens3', source: '/etc/netplan/50-cloud-init.yaml', method: 'dhcp', addresses: ['2001:db8:10::5/64'], mac: '52:54:00:ab:cd:01' },
    // Defined as "nic-a", matched by MAC and renamed.
    { name: 'enp7s0', source: '/etc/netplan/60-bond.yaml', method: 'manual', addresses: [], mac: '52:54:00:ab:cd:02' },
    { name: 'enp8s0', source: '/etc/netplan/60-bond.yaml', method: 'manual', addresses: [] },
    { name: 'bond0', source: '/etc/netplan/60-bond.yaml', method: 'static', addresses: ['10.10.0.5/24'], gateway: '10.10.0.1', dns: ['10.10.0.53', '10.10.0.54'] },
    { name: 'vlan100', source: '/etc/netplan/60-bond.yaml', method: 'static', addresses: ['172.16.100.5/24'] },
  ]);
  assert.equal(await guestReadlink('ubuntu-like.qcow2', '/etc/resolv.conf'), '../run/systemd/resolve/stub-resolv.conf');
  assert.deepEqual(n.dns_servers, ['10.10.0.53', '10.10.0.54']);
  assert.deepEqual(n.search_domains, ['corp.example']);
  assert.deepEqual(n.hosts, [
    { address: '127.0.1.1', names: ['ubuntu-srv-01.cloud.example', 'ubuntu-srv-01'] },
    { address: '127.0.0.1', names: ['localhost'] },
    { address: '::1', names: ['localhost', 'ip6-localhost', 'ip6-loopback'] },
    { address: 'ff02::1', names: ['ip6-allnodes'] },
    { address: 'ff02::2', names: ['ip6-allrouters'] },
  ]);
  for (const f of ['/etc/netplan/50-cloud-init.yaml', '/etc/netplan/60-bond.yaml', '/etc/netplan/90-ens3-v6.yaml', '/etc/systemd/resolved.conf']) {
    assert.ok(os.evidence.network!.includes(f), f);
  }
  assert.ok(!os.evidence.network!.includes('/etc/resolv.conf'), 'an unreadable resolv.conf is no evidence');
});

test('Ubuntu-like server: masked units are not enabled even with their wants links; timer, aliases, disabled ifupdown', async () => {
  const os = await osOf('ubuntu-like.qcow2');
  assert.equal(os.init_system, 'systemd');
  const s = services(os);
  // The wants link survives `systemctl mask`; the mask (a link to /dev/null) wins.
  assert.equal(await guestReadlink('ubuntu-like.qcow2', '/etc/systemd/system/systemd-networkd-wait-online.service'), '/dev/null');
  assert.ok((await guestReadlink('ubuntu-like.qcow2', '/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service')).endsWith('systemd-networkd-wait-online.service'));
  assert.equal(s['systemd-networkd-wait-online.service'], undefined);
  assert.equal(await guestReadlink('ubuntu-like.qcow2', '/etc/systemd/system/apt-daily-upgrade.timer'), '/dev/null');
  assert.equal(s['apt-daily-upgrade.timer'], undefined);
  assert.deepEqual(s['site-backup.timer'], { enabled_in: ['timers.target'] });
  assert.equal(s['site-backup.service'], undefined, 'started by its timer, not enabled');
  assert.deepEqual(s['apt-daily.timer'], { enabled_in: ['timers.target'] });
  assert.equal(s['networking.service'], undefined, 'ifupdown disabled');
  assert.deepEqual(s['systemd-networkd.service'], { enabled_in: ['multi-user.target'] });
  assert.deepEqual(s['dbus-org.freedesktop.network1.service'], { enabled_in: ['multi-user.target'], alias_of: 'systemd-networkd.service' });
  assert.deepEqual(s['systemd-resolved.service'], { enabled_in: ['sysinit.target'] });
  assert.deepEqual(s['dbus-org.freedesktop.resolve1.service'], { enabled_in: ['sysinit.target'], alias_of: 'systemd-resolved.service' });
  assert.deepEqual(s['apparmor.service'], { enabled_in: ['sysinit.target'] });
  for (const u of ['cloud-init-local.service', 'cloud-init.service', 'cloud-config.service', 'cloud-final.service']) {
    assert.deepEqual(s[u], { enabled_in: ['cloud-init.target'] }, u);
  }
  assert.ok(os.evidence.services!.includes('/etc/systemd/system/timers.target.wants'));
});

test('Ubuntu-like server: cloud-init installed and enabled, the last datasource_list wins (YAML block list)', async () => {
  const os = await osOf('ubuntu-like.qcow2');
  assert.deepEqual(os.cloud_init, { installed: true, datasources: ['NoCloud', 'OpenStack', 'None'], disabled: false });
  assert.deepEqual(os.evidence.cloud_init, [
    '/etc/cloud/cloud.cfg.d',
    '/etc/cloud/cloud.cfg',
    '/etc/cloud/cloud.cfg.d/05_logging.cfg',
    '/etc/cloud/cloud.cfg.d/90_dpkg.cfg',
    '/etc/cloud/cloud.cfg.d/99-datasource.cfg',
  ]);
});

test('Ubuntu-like server: sshd settings equal `sshd -T` of the same tree (Include first, first value wins, Match ignored)', async () => {
  const os = await osOf('ubuntu-like.qcow2');
  const truth = new Map(readFileSync(fixture('inspect-guests', 'ubuntu-like-sshd-T.txt'), 'utf8').trim().split('\n').map((l) => {
    const sp = l.indexOf(' ');
    return [l.slice(0, sp), l.slice(sp + 1)] as [string, string];
  }));
  const ssh = os.security!.ssh!;
  for (const k of ['port', 'passwordauthentication', 'permitrootlogin', 'x11forwarding', 'maxauthtries', 'pubkeyauthentication', 'permitemptypasswords', 'usepam']) {
    assert.equal(ssh[k], truth.get(k), k);
  }
  assert.equal(ssh.passwordauthentication, 'no', '50-cloud-init.conf beats 60-cloudimg-settings.conf and the main file');
  assert.ok(os.evidence.security!.includes('/etc/ssh/sshd_config.d/50-cloud-init.conf'));
  assert.ok(!os.evidence.security!.includes('/etc/ssh/sshd_config.d/70-hardening.conf.disabled'), 'not matched by *.conf');
  assert.deepEqual(os.security!.apparmor, { enabled: true, profiles: 2 }, 'lsb_release + the site profile; nvidia_modprobe is disabled');
});

test('Ubuntu-like server: empty and locked passwords, sudo via sudoers.d %group incl. primary-group members', async () => {
  const os = await osOf('ubuntu-like.qcow2');
  const u = Object.fromEntries(os.users!.map((x) => [x.name, x]));
  assert.deepEqual([u.ubuntu!.password, u.ubuntu!.login_allowed, u.ubuntu!.system, u.ubuntu!.groups], ['locked', false, false, ['ubuntu']]);
  assert.deepEqual([u.ops!.password, u.ops!.login_allowed, u.ops!.groups], ['empty', true, ['ops', 'admins']]);
  assert.deepEqual([u.carol!.password, u.carol!.gid, u.carol!.groups], ['set', 1500, ['admins']]);
  assert.deepEqual(os.groups!.find((g) => g.name === 'admins'), { name: 'admins', gid: 1500, members: ['ops'] });
  assert.deepEqual(os.sudoers, ['%admins', '%sudo', 'alice', 'carol', 'deploy', 'ops', 'root', 'ubuntu']);
  assert.ok(!JSON.stringify(os.users).includes('$6$'), 'no hash leaves the guest');
  for (const f of ['/etc/sudoers.d/50-admins', '/etc/sudoers.d/90-cloud-init-users']) assert.ok(os.evidence.users!.includes(f), f);
  assert.ok(!os.evidence.users!.includes('/etc/sudoers.d/mallory.bak'), 'sudo skips names with a dot');
});

// ---------------------------------------------------------------- systemd-networkd + resolved

test('networkd guest: .network files (MAC match, [Address], [Route], DHCP=ipv4), .orig ignored', async () => {
  const os = await osOf('networkd.qcow2');
  assert.deepEqual(os.warnings, []);
  const n = os.network!;
  assert.deepEqual(n.managers, ['systemd-networkd']);
  assert.deepEqual(n.interfaces, [
    {
      name: '10-wan.network',
      source: '/etc/systemd/network/10-wan.network',
      method: 'static',
      addresses: ['203.0.113.10/24', '203.0.113.11/24'],
      gateway: '203.0.113.1',
      mac: '52:54:00:aa:bb:01',
      dns: ['203.0.113.53', '203.0.113.54'],
    },
    { name: 'ens4', source: '/etc/systemd/network/20-lan.network', method: 'dhcp', addresses: [] },
  ]);
  assert.ok(!os.evidence.network!.includes('/etc/systemd/network/20-lan.network.orig'));
});

test('networkd guest: resolv.conf dangles into /run; DNS and search domains are resolved drop-ins then per-link', async () => {
  const os = await osOf('networkd.qcow2');
  assert.equal(await guestReadlink('networkd.qcow2', '/etc/resolv.conf'), '/run/systemd/resolve/stub-resolv.conf');
  assert.deepEqual(os.network!.dns_servers, ['9.9.9.9', '2620:fe::fe', '203.0.113.53', '203.0.113.54']);
  assert.deepEqual(os.network!.search_domains, ['corp.example', 'lab.example', 'wan.example']);
  assert.ok(os.evidence.network!.includes('/etc/systemd/resolved.conf.d/10-site.conf'));
  const s = services(os);
  assert.deepEqual(s['systemd-networkd.service'], { enabled_in: ['multi-user.target'] });
  assert.deepEqual(s['systemd-networkd-wait-online.service'], { enabled_in: ['network-online.target'] }, 'not masked on this guest');
  assert.deepEqual(s['systemd-resolved.service'], { enabled_in: ['sysinit.target'] });
  assert.equal(s['networking.service'], undefined);
  assert.deepEqual(os.cloud_init, { installed: true, disabled: true }, 'installed, no datasource_list, switched off by cloud-init.disabled');
});

// ---------------------------------------------------------------- Alpine / OpenRC / apk

test('Alpine-style guest: release, apk, busybox init with OpenRC, fstab with noauto media and tmpfs quietly skipped', async () => {
  const r = await inspected('alpine.qcow2');
  const os = await osOf('alpine.qcow2');
  assert.deepEqual(
    [os.distro, os.product_name, os.major_version, os.minor_version, os.osinfo, os.arch, os.hostname],
    ['alpinelinux', 'Alpine Linux v3.19', 3, 19, 'alpinelinux3.19', 'x86_64', 'alpine-01'],
  );
  assert.deepEqual([os.package_format, os.package_management], ['apk', 'apk']);
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda3', '/boot': '/dev/sda1' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2', '/dev/sda3']);
  assert.deepEqual(os.warnings, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(os.evidence.release, ['/etc/os-release']);
  assert.deepEqual(os.evidence.arch, ['/bin/busybox']);
  assert.equal(os.timezone, 'Europe/Paris');
});

test('Alpine-style guest: services per OpenRC runlevel', async () => {
  const os = await osOf('alpine.qcow2');
  assert.equal(os.init_system, 'openrc');
  assert.equal(os.default_target, undefined);
  const byLevel: Record<string, string[]> = {};
  for (const s of os.services!) {
    assert.equal(s.kind, 'openrc');
    for (const l of s.enabled_in) (byLevel[l] ??= []).push(s.name);
  }
  assert.deepEqual(byLevel, {
    boot: ['bootmisc', 'hostname', 'hwclock', 'modules', 'networking', 'seedrng', 'swap', 'sysctl', 'syslog'],
    default: ['acpid', 'chronyd', 'crond', 'sshd'],
    shutdown: ['killprocs', 'mount-ro', 'savecache'],
    sysinit: ['devfs', 'dmesg', 'hwdrivers', 'mdev'],
  });
  assert.ok(os.evidence.services!.includes('/etc/runlevels/default'));
});

test('Alpine-style guest: apk installed database (hand-written in apk\'s format; apk is not in Debian)', async () => {
  const os = await osOf('alpine.qcow2');
  assert.deepEqual(
    os.applications!.map((a) => `${a.name} ${a.version} ${a.release} ${a.arch}`),
    [
      'acpid 2.0.34 r3 x86_64',
      'alpine-baselayout 3.4.3 r2 x86_64',
      'alpine-release 3.19.1 r0 x86_64',
      'busybox 1.36.1 r15 x86_64',
      'chrony 4.5 r0 x86_64',
      'linux-lts 6.6.14 r0 x86_64',
      'musl 1.2.4_git20230717 r4 x86_64',
      'openrc 0.52.1 r2 x86_64',
      'openssh-server 9.6_p1 r0 x86_64',
      'syslinux 6.04_pre1 r15 x86_64',
    ],
  );
  const ssh = os.applications!.find((a) => a.name === 'openssh-server')!;
  assert.deepEqual(ssh, {
    name: 'openssh-server',
    epoch: 0,
    version: '9.6_p1',
    release: 'r0',
    arch: 'x86_64',
    source_package: 'openssh',
    license: 'SSH-OpenSSH',
    summary: 'OpenSSH server',
    url: 'https://www.openssh.com/portable.html',
  });
  assert.deepEqual(os.evidence.applications, ['/lib/apk/db/installed']);
});

test('Alpine-style guest: flavour-named kernel paired with its modules, extlinux MENU DEFAULT, ifupdown, doas not sudo', async () => {
  const os = await osOf('alpine.qcow2');
  assert.deepEqual(os.kernels, [{ version: '6.6.14-0-lts', vmlinuz: '/boot/vmlinuz-lts', initrd: '/boot/initramfs-lts', modules_dir: '/lib/modules/6.6.14-0-lts' }]);
  assert.deepEqual(os.bootloader, {
    type: 'syslinux',
    config: '/boot/extlinux.conf',
    entries: [
      {
        title: 'Linux lts',
        kernel: 'vmlinuz-lts',
        initrd: 'initramfs-lts',
        options: 'root=UUID=a1c0ffee-0003-4b1d-9e11-000000000302 modules=sd-mod,usb-storage,ext4 quiet rootfstype=ext4',
      },
    ],
    default_entry: 'Linux lts',
    default_kernel: 'vmlinuz-lts',
    timeout: 3,
  });
  assert.deepEqual(os.network!.interfaces, [
    { name: 'eth0', source: '/etc/network/interfaces', method: 'inet:dhcp', addresses: [], onboot: true },
    { name: 'eth1', source: '/etc/network/interfaces', method: 'inet:static', addresses: ['10.20.0.5/24'], gateway: '10.20.0.1', onboot: true },
  ]);
  assert.deepEqual([os.network!.dns_servers, os.network!.search_domains, os.network!.managers], [['10.20.0.1'], ['lan'], ['ifupdown']]);
  const u = Object.fromEntries(os.users!.map((x) => [x.name, x]));
  assert.deepEqual([u.root!.password, u.root!.login_allowed], ['locked', false]);
  assert.deepEqual([u.admin!.password, u.admin!.login_allowed, u.admin!.system, u.admin!.groups], ['set', true, false, ['admin', 'wheel']]);
  assert.deepEqual(os.sudoers, []);
});

// ---------------------------------------------------------------- CentOS 5-style SysV + grub-legacy

test('CentOS 5-style SysV guest: release file only, LABEL=/ fstab on ext3, hostname from sysconfig/network', async () => {
  const r = await inspected('centos5-sysv.qcow2');
  const os = await osOf('centos5-sysv.qcow2');
  assert.deepEqual(
    [os.distro, os.product_name, os.major_version, os.minor_version, os.osinfo, os.package_management],
    ['centos', 'CentOS release 5.11 (Final)', 5, 11, 'centos5.11', 'yum'],
  );
  assert.deepEqual([os.hostname, os.evidence.hostname], ['centos5.example.com', ['/etc/sysconfig/network']]);
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2', '/boot': '/dev/sda1' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2', '/dev/sda3']);
  assert.deepEqual(r.filesystems.map((f) => [f.device, f.type, f.label]), [
    ['/dev/sda1', 'ext3', '/boot'],
    ['/dev/sda2', 'ext3', '/'],
    ['/dev/sda3', 'swap', 'SWAP-sda3'],
  ]);
  assert.deepEqual(os.warnings, [], 'a copied /etc/localtime is no oddity');
  assert.deepEqual([os.timezone, os.evidence.timezone], ['America/New_York', ['/etc/sysconfig/clock']]);
  assert.equal(os.locale, 'en_US.UTF-8');
  assert.deepEqual(os.security!.selinux, { mode: 'permissive', type: 'targeted' });
  assert.deepEqual(rpmLines(os), truthLines('centos5-rpm.txt'), 'rpm -qa of the Berkeley DB Packages');
});

test('CentOS 5-style SysV guest: init from inittab, services from rc.d S-links, default runlevel', async () => {
  const os = await osOf('centos5-sysv.qcow2');
  assert.equal(os.init_system, 'sysvinit');
  assert.equal(os.default_target, 'runlevel3');
  const all = ['runlevel2', 'runlevel3', 'runlevel4', 'runlevel5'];
  const no2 = ['runlevel3', 'runlevel4', 'runlevel5'];
  assert.deepEqual(
    os.services!.map((s) => [s.name, s.kind, s.enabled_in]),
    [
      ['crond', 'sysv', all],
      ['halt', 'sysv', ['runlevel0']],
      ['iptables', 'sysv', all],
      ['kudzu', 'sysv', no2],
      ['local', 'sysv', all],
      ['netfs', 'sysv', no2],
      ['network', 'sysv', all],
      ['reboot', 'sysv', ['runlevel6']],
      ['sshd', 'sysv', all],
      ['syslog', 'sysv', all],
    ],
  );
  assert.ok(!os.services!.some((s) => s.name === 'bluetooth'), 'K-links only: off');
});

test('CentOS 5-style SysV guest: grub-legacy grub.conf (menu.lst links to it), default=1 is the older kernel', async () => {
  const os = await osOf('centos5-sysv.qcow2');
  assert.deepEqual(os.bootloader, {
    type: 'grub-legacy',
    config: '/boot/grub/grub.conf',
    entries: [
      { title: 'CentOS (2.6.18-431.el5)', kernel: '/vmlinuz-2.6.18-431.el5', options: 'ro root=LABEL=/ rhgb quiet', initrd: '/initrd-2.6.18-431.el5.img' },
      { title: 'CentOS (2.6.18-419.el5)', kernel: '/vmlinuz-2.6.18-419.el5', options: 'ro root=LABEL=/ rhgb quiet', initrd: '/initrd-2.6.18-419.el5.img' },
    ],
    default_entry: 'CentOS (2.6.18-419.el5)',
    default_kernel: '/vmlinuz-2.6.18-419.el5',
    timeout: 5,
  });
  assert.deepEqual(
    os.kernels,
    ['2.6.18-419.el5', '2.6.18-431.el5'].map((v) => ({ version: v, vmlinuz: `/boot/vmlinuz-${v}`, initrd: `/boot/initrd-${v}.img`, modules_dir: `/lib/modules/${v}` })),
  );
});

test('CentOS 5-style SysV guest: ifcfg files (backup ignored), gateway from sysconfig/network; UID_MIN 500; %wheel', async () => {
  const os = await osOf('centos5-sysv.qcow2');
  assert.deepEqual(os.network!.interfaces, [
    { name: 'eth0', source: '/etc/sysconfig/network-scripts/ifcfg-eth0', method: 'static', addresses: ['192.168.50.10/24'], mac: '52:54:00:c5:00:01', onboot: true, gateway: '192.168.50.1' },
    { name: 'eth1', source: '/etc/sysconfig/network-scripts/ifcfg-eth1', method: 'dhcp', addresses: [], mac: '52:54:00:c5:00:02', onboot: false },
  ]);
  assert.deepEqual([os.network!.dns_servers, os.network!.search_domains, os.network!.managers], [['192.168.50.1'], ['example.com'], ['ifcfg']]);
  assert.ok(!os.evidence.network!.includes('/etc/sysconfig/network-scripts/ifcfg-eth0.bak'));
  const u = Object.fromEntries(os.users!.map((x) => [x.name, x]));
  assert.deepEqual([u.oracle!.uid, u.oracle!.system, u.oracle!.password, u.oracle!.groups], [500, false, 'set', ['oracle', 'wheel']]);
  assert.deepEqual([u.deploy!.password, u.deploy!.login_allowed], ['locked', false], '"!!": never given a password');
  assert.deepEqual([u.sshd!.system, u.sshd!.login_allowed], [true, false]);
  assert.deepEqual(os.sudoers, ['%wheel', 'oracle', 'root']);
});

// ---------------------------------------------------------------- Rocky 8-style BLS + NetworkManager

test('Rocky 8-style BLS guest: default from grubenv saved_entry, $kernelopts/$tuned_* expanded as grub does', async () => {
  const os = await osOf('rocky8-bls.qcow2');
  const mid = '5f1e2d3c4b5a69788796a5b4c3d2e1f0';
  const opts = 'root=UUID=a1c0ffee-0005-4b1d-9e11-000000000502 ro crashkernel=auto rhgb quiet';
  const entry = (k: string, rel: string) => ({
    title: `Rocky Linux (${k}) ${rel} (Green Obsidian)`,
    kernel: `/vmlinuz-${k}`,
    initrd: `/initramfs-${k}.img`,
    options: `${opts} skew_tick=1`,
  });
  assert.deepEqual(os.bootloader, {
    type: 'grub2',
    config: '/boot/grub2/grub.cfg',
    entries: [
      entry('4.18.0-513.5.1.el8_9.x86_64', '8.9'),
      entry('4.18.0-477.27.1.el8_8.x86_64', '8.8'),
      { title: `Rocky Linux (0-rescue-${mid}) 8.9 (Green Obsidian)`, kernel: `/vmlinuz-0-rescue-${mid}`, initrd: `/initramfs-0-rescue-${mid}.img`, options: opts },
    ],
    default_entry: 'Rocky Linux (4.18.0-477.27.1.el8_8.x86_64) 8.8 (Green Obsidian)',
    default_kernel: '/vmlinuz-4.18.0-477.27.1.el8_8.x86_64',
    timeout: 5,
  });
  assert.ok(os.evidence.bootloader!.includes('/boot/grub2/grubenv'));
  assert.ok(os.evidence.bootloader!.includes(`/boot/loader/entries/${mid}-4.18.0-477.27.1.el8_8.x86_64.conf`));
  assert.deepEqual(
    os.kernels!.filter((k) => k.modules_dir).map((k) => k.version),
    ['4.18.0-477.27.1.el8_8.x86_64', '4.18.0-513.5.1.el8_9.x86_64'],
  );
});

test('Rocky 8-style BLS guest: release, two kernel-core packages in the BDB rpmdb, systemd through a dangling /sbin/init', async () => {
  const r = await inspected('rocky8-bls.qcow2');
  const os = await osOf('rocky8-bls.qcow2');
  assert.deepEqual([os.distro, os.major_version, os.minor_version, os.osinfo, os.package_management], ['rocky', 8, 9, 'rocky8', 'dnf']);
  assert.deepEqual(os.warnings, []);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(rpmLines(os), truthLines('rocky8-rpm.txt'));
  assert.equal(await guestReadlink('rocky8-bls.qcow2', '/usr/sbin/init'), '../lib/systemd/systemd');
  assert.equal(os.init_system, 'systemd');
  assert.equal(os.default_target, 'multi-user.target');
  assert.deepEqual(services(os), {
    'crond.service': { enabled_in: ['multi-user.target'] },
    'dbus-org.freedesktop.nm-dispatcher.service': { enabled_in: [], alias_of: 'NetworkManager-dispatcher.service' },
    'firewalld.service': { enabled_in: ['multi-user.target'] },
    'NetworkManager.service': { enabled_in: ['multi-user.target'] },
    'sshd.service': { enabled_in: ['multi-user.target'] },
    'tuned.service': { enabled_in: ['multi-user.target'] },
  });
  assert.deepEqual(os.security!.selinux, { mode: 'enforcing', type: 'targeted' });
  assert.deepEqual([os.timezone, os.locale], ['UTC', 'C.UTF-8']);
});

test('Rocky 8-style BLS guest: NetworkManager keyfiles written by nmcli, beside an ifcfg-rh file', async () => {
  const os = await osOf('rocky8-bls.qcow2');
  const nm = '/etc/NetworkManager/system-connections';
  assert.deepEqual(os.network!.interfaces, [
    { name: 'ens4', source: `${nm}/Wired connection 2.nmconnection`, method: 'auto', addresses: [], onboot: false },
    {
      name: 'ens3',
      source: `${nm}/ens3.nmconnection`,
      method: 'manual',
      addresses: ['192.0.2.20/24'],
      gateway: '192.0.2.1',
      mac: '52:54:00:12:34:70',
      dns: ['192.0.2.53', '192.0.2.54'],
      onboot: true,
    },
    { name: 'eth2', source: '/etc/sysconfig/network-scripts/ifcfg-eth2', method: 'none', addresses: ['198.51.100.20/24'], dns: ['198.51.100.53'], onboot: true },
  ]);
  assert.deepEqual(os.network!.managers, ['NetworkManager', 'ifcfg']);
  assert.deepEqual([os.network!.dns_servers, os.network!.search_domains], [['192.0.2.53', '192.0.2.54'], ['lab.example']]);
});

// ---------------------------------------------------------------- upstart vs SysV (no upstart in Debian to build a guest with)

test('RHEL 6-style upstart tree: its inittab holds only initdefault, initctl and /etc/init make it upstart; without them, sysvinit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'guestkit-upstart-'));
  try {
    const put = (rel: string, text: string) => {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    };
    put('etc/inittab', '# inittab is only used by upstart for the default runlevel.\n#\nid:5:initdefault:\n');
    put('etc/rc.d/rc5.d/.keep', '');
    const view = () => new GuestView(new Vfs(new HostDirFs(dir)));
    assert.deepEqual(await detectServices(view()), { init_system: 'sysvinit', default_target: 'runlevel5', services: [] });
    put('etc/init/rcS.conf', 'start on startup\ntask\nexec /etc/rc.d/rc.sysinit\n');
    put('sbin/initctl', '');
    assert.deepEqual(await detectServices(view()), { init_system: 'upstart', default_target: 'runlevel5', services: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
