import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { before, test } from 'node:test';
import { inspect, type Inspection, type OperatingSystem } from '../../src/inspect/index.js';
import { fixture } from '../helpers/fixtures.js';

const IMAGE = () => fixture('inspect', 'debian.qcow2');
let result: Inspection;
let os: OperatingSystem;

before(async () => {
  result = await inspect(IMAGE());
  os = result.operating_systems[0]!;
});

test('debootstrapped Debian in qcow2: one OS with virt-inspector facts', () => {
  assert.equal(result.operating_systems.length, 1);
  assert.equal(os.root, '/dev/sda4');
  assert.equal(os.type, 'linux');
  assert.equal(os.distro, 'debian');
  assert.equal(os.major_version, 12);
  const debianVersion = readFileSync(fixture('inspect', 'debian-root', 'etc', 'debian_version'), 'utf8').trim();
  assert.equal(os.product_name, debianVersion, 'libguestfs reports debian_version as the product name');
  assert.equal(os.minor_version, Number(debianVersion.split('.')[1]));
  assert.equal(os.arch, 'x86_64');
  assert.equal(os.hostname, 'web-01');
  assert.equal(os.osinfo, 'debian12');
  assert.equal(os.package_format, 'deb');
  assert.equal(os.package_management, 'apt');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda4', '/boot': '/dev/sda3', '/boot/efi': '/dev/sda2' });
  assert.deepEqual(os.filesystems, ['/dev/sda2', '/dev/sda3', '/dev/sda4']);
});

test('layout: GPT, the image format and every filesystem with its role', () => {
  assert.deepEqual(result.image.map((i) => [i.format, i.virtual_size]), [['qcow2', 2 * 1024 ** 3]]);
  assert.deepEqual(result.partition_table, [{ device: '/dev/sda', scheme: 'gpt' }]);
  const byDev = Object.fromEntries(result.filesystems.map((f) => [f.device, f]));
  assert.equal(byDev['/dev/sda4']!.uuid, '5b1d3c1e-0f6a-4c55-9a43-2f1f6b0e7a01');
  assert.equal(byDev['/dev/sda4']!.role, 'linux-root');
  assert.equal(byDev['/dev/sda3']!.role, 'boot');
  assert.equal(byDev['/dev/sda2']!.type, 'vfat');
});

test('applications: exactly what dpkg-query reports for the same tree', () => {
  const want = readFileSync(fixture('inspect', 'debian-dpkg.txt'), 'utf8').trim().split('\n').sort();
  const got = os.applications!.map((a) => `${a.name}\t${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}\t${a.arch}`).sort();
  assert.deepEqual(got, want);
  const ssh = os.applications!.find((a) => a.name === 'openssh-server')!;
  assert.equal(ssh.source_package, 'openssh');
  assert.match(ssh.summary ?? '', /secure shell/i);
});

test('kernels and boot loader read through the separate /boot filesystem', () => {
  const kver = readFileSync(fixture('inspect', 'debian-root', 'boot', 'grub', 'grub.cfg'), 'utf8').match(/vmlinuz-(\S+)/)![1]!;
  assert.deepEqual(os.kernels!.map((k) => k.version), [kver]);
  assert.equal(os.kernels![0]!.vmlinuz, `/boot/vmlinuz-${kver}`);
  assert.equal(os.kernels![0]!.initrd, `/boot/initrd.img-${kver}`);
  assert.equal(os.kernels![0]!.modules_dir, `/lib/modules/${kver}`);
  assert.equal(os.bootloader!.type, 'grub2');
  assert.equal(os.bootloader!.default_entry, 'Debian GNU/Linux');
  assert.equal(os.bootloader!.default_kernel, `/vmlinuz-${kver}`);
  assert.equal(os.bootloader!.timeout, 5);
  assert.equal(os.bootloader!.entries.length, 2);
});

test('services: systemd, enabled units with their targets, aliases', () => {
  assert.equal(os.init_system, 'systemd');
  const byName = Object.fromEntries(os.services!.map((s) => [s.name, s]));
  assert.deepEqual(byName['ssh.service']!.enabled_in, ['multi-user.target']);
  assert.equal(byName['sshd.service']!.alias_of, 'ssh.service');
  assert.ok(byName['getty@tty1.service']!.enabled_in.includes('getty.target'));
  assert.ok(byName['apt-daily.timer']!.enabled_in.includes('timers.target'));
  assert.ok(os.guest_agents!.includes('qemu-guest-agent'));
  assert.deepEqual(os.cloud_init, { installed: false });
});

test('users: login state and password state, never a hash', () => {
  const u = Object.fromEntries(os.users!.map((x) => [x.name, x]));
  assert.equal(u.root!.uid, 0);
  assert.deepEqual([u.alice!.uid, u.alice!.login_allowed, u.alice!.password, u.alice!.system], [1000, true, 'set', false]);
  assert.deepEqual([u.bob!.login_allowed, u.bob!.password], [false, 'locked']);
  assert.deepEqual([u['svc-backup']!.system, u['svc-backup']!.login_allowed], [true, false]);
  assert.ok(u.alice!.groups.includes('sudo'));
  assert.ok(!JSON.stringify(os.users).includes('$y$') && !JSON.stringify(os.users).includes('$6$'));
  assert.ok(os.sudoers!.includes('%sudo') && os.sudoers!.includes('alice') && os.sudoers!.includes('deploy'));
});

test('network, DNS, hosts, timezone, locale, sshd', () => {
  const n = os.network!;
  assert.deepEqual(n.managers, ['ifupdown']);
  const ens3 = n.interfaces.find((i) => i.name === 'ens3')!;
  assert.deepEqual([ens3.method, ens3.addresses, ens3.gateway, ens3.dns, ens3.onboot], ['inet:static', ['192.0.2.10/24'], '192.0.2.1', ['192.0.2.53'], true]);
  assert.equal(n.interfaces.find((i) => i.name === 'ens4')!.method, 'inet:dhcp');
  assert.deepEqual(n.dns_servers, ['192.0.2.53', '198.51.100.53']);
  assert.deepEqual(n.search_domains, ['example.com', 'corp.example.com']);
  assert.ok(n.hosts.some((h) => h.address === '10.0.0.5' && h.names.includes('db-01')));
  assert.equal(os.timezone, 'Europe/Berlin');
  assert.equal(os.locale, 'en_US.UTF-8');
  assert.equal(os.security!.ssh!.port, '2222');
  assert.equal(os.security!.ssh!.permitrootlogin, 'no');
  assert.equal(os.security!.ssh!.passwordauthentication, 'no');
});

test('fstab with resolved devices; unresolvable swap is a warning, not a failure', () => {
  const byFile = Object.fromEntries(os.fstab!.map((e) => [e.file, e]));
  assert.equal(byFile['/']!.device, '/dev/sda4');
  assert.equal(byFile['/boot/efi']!.device, '/dev/sda2');
  assert.ok(os.warnings.some((w) => w.includes('/dev/vdb1')));
});

test('evidence names the guest files behind each fact', () => {
  assert.deepEqual(os.evidence.hostname, ['/etc/hostname']);
  assert.ok(os.evidence.release!.includes('/etc/os-release') && os.evidence.release!.includes('/etc/debian_version'));
  assert.deepEqual(os.evidence.applications, ['/var/lib/dpkg/status']);
});

test('reads metadata, not the image: bytes read are a small part of the file', () => {
  const size = statSync(IMAGE()).size;
  assert.ok(result.stats.bytes_read < size / 10, `read ${result.stats.bytes_read} of ${size}`);
  for (const stage of ['disk_attach', 'disk_inspection', 'os_detection', 'package_scan']) assert.ok(stage in result.stats.stages_ms, stage);
});

test('include_* options: asking for less returns less and reads less', async () => {
  const lean = await inspect({
    disks: [IMAGE()],
    options: { include_packages: false, include_services: false, include_users: false, include_network: false, include_security: false, include_storage: false },
  });
  const o = lean.operating_systems[0]!;
  assert.equal(o.distro, 'debian');
  for (const k of ['applications', 'kernels', 'services', 'users', 'network', 'fstab'] as const) assert.equal(o[k], undefined, k);
  assert.ok(lean.stats.bytes_read < result.stats.bytes_read, `${lean.stats.bytes_read} < ${result.stats.bytes_read}`);
});
