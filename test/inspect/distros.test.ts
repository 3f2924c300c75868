import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inspect, requireOs } from '../../src/inspect/index.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';

test('multi-boot disk: every root found, each distro from its classic release file', async () => {
  const r = await inspect(fixture('inspect', 'multiboot.qcow2'));
  const got = r.operating_systems.map((o) => [o.root, o.distro, o.major_version, o.minor_version, o.osinfo, o.product_name ?? '', o.package_format ?? '', o.package_management ?? '', o.hostname]);
  assert.deepEqual(got, [
    ['/dev/sda1', 'rhel', 7, 9, 'rhel7.9', 'Red Hat Enterprise Linux Server release 7.9 (Maipo)', 'rpm', 'yum', 'rhel'],
    ['/dev/sda2', 'centos', 6, 10, 'centos6.10', 'CentOS Linux release 6.10 (Final)', 'rpm', 'yum', 'centos'],
    ['/dev/sda3', 'fedora', 38, 0, 'fedora38', 'Fedora release 38 (Thirty Eight)', 'rpm', 'yum', 'fedora'],
    ['/dev/sda4', 'debian', 11, 9, 'debian11', '11.9', 'deb', 'apt', 'debian'],
    ['/dev/sda5', 'ubuntu', 20, 4, 'ubuntu20.04', 'Ubuntu 20.04.6 LTS', 'deb', 'apt', 'ubuntu'],
    ['/dev/sda6', 'sles', 11, 4, 'sles11sp4', 'SUSE Linux Enterprise Server 11 (x86_64)', 'rpm', 'zypper', 'sles'],
    ['/dev/sda7', 'alpinelinux', 3, 18, 'alpinelinux3.18', '3.18.4', 'apk', 'apk', 'alpine'],
    ['/dev/sda8', 'archlinux', 0, 0, 'archlinux', '', 'pacman', 'pacman', 'arch'],
  ]);
  for (const o of r.operating_systems) assert.equal(o.arch, 'x86_64', `${o.root}: arch from the real /usr/bin/bash behind /bin -> usr/bin`);
});

test('RPM guest: rocky from os-release, packages equal `rpm -qa`, ifcfg network, SELinux', async () => {
  const r = await inspect(fixture('inspect', 'rpm-guest.qcow2'));
  const o = r.operating_systems[0]!;
  assert.deepEqual([o.root, o.distro, o.major_version, o.minor_version, o.osinfo, o.package_management], ['/dev/sda1', 'rocky', 9, 3, 'rocky9', 'dnf']);
  const want = readFileSync(fixture('inspect', 'rpm-guest-rpm.txt'), 'utf8').trim().split('\n').sort();
  const got = o.applications!.map((a) => `${a.name}\t${a.epoch}\t${a.version}\t${a.release}\t${a.arch}`).sort();
  assert.deepEqual(got, want);
  const eth0 = o.network!.interfaces[0]!;
  assert.deepEqual([eth0.name, eth0.method, eth0.addresses, eth0.gateway, eth0.mac], ['eth0', 'none', ['198.51.100.7/24'], '198.51.100.1', '52:54:00:12:34:56']);
  assert.deepEqual(o.security!.selinux, { mode: 'enforcing', type: 'targeted' });
  assert.ok(o.warnings.some((w) => w.includes('UUID=0000-0000')), 'the missing ESP is a warning');
  assert.deepEqual(r.partition_table, [{ device: '/dev/sda', scheme: 'mbr' }]);
});

test('Arch guest on a whole-disk filesystem: pacman database equals `pacman -Q`', async () => {
  const r = await inspect({ disks: [fixture('inspect', 'arch-guest.img')], format: 'raw' });
  const o = r.operating_systems[0]!;
  assert.deepEqual([o.root, o.distro, o.osinfo, o.package_format], ['/dev/sda', 'archlinux', 'archlinux', 'pacman']);
  const want = readFileSync(fixture('inspect', 'arch-guest-pacman.txt'), 'utf8').trim().split('\n').sort();
  const got = o.applications!.map((a) => `${a.name} ${a.epoch ? `${a.epoch}:` : ''}${a.version}-${a.release}`).sort();
  assert.deepEqual(got, want);
  const hello = o.applications!.find((a) => a.name === 'hello')!;
  assert.deepEqual([hello.epoch, hello.source_package, hello.summary], [1, 'hello-base', 'Prints a friendly greeting']);
});

test('a disk without an OS: NO_OS_FOUND that still carries the layout', async () => {
  const r = await inspect({ disks: [fixture('inspect', 'rpm-Packages.bdb')], format: 'raw' });
  assert.equal(r.operating_systems.length, 0);
  assert.throws(() => requireOs(r), (e) => isGuestkitError(e, 'NO_OS_FOUND') && Array.isArray(e.details?.filesystems));
});

test('missing image and wrong stated format give typed errors', async () => {
  await assert.rejects(inspect('/nonexistent/disk.qcow2'), (e) => isGuestkitError(e, 'IMAGE_NOT_FOUND'));
  await assert.rejects(inspect({ disks: [fixture('inspect', 'multiboot.qcow2')], format: 'vmdk' }), (e) => isGuestkitError(e, 'UNSUPPORTED_FORMAT'));
});
