import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from '../../src/inspect/index.js';
import { FIX, readBlkid } from './helpers.js';

// Guests built by test/fixtures/md/build.sh: two GPT disks, each with one Linux RAID partition.
const disks = (g: string) => [join(FIX, '..', 'md', g, 'disk1.img'), join(FIX, '..', 'md', g, 'disk2.img')];

test('a guest whose / is on md RAID1 (1.2, "debian:root"): the OS is found on /dev/md127, fstab\'s /dev/md/root resolves to it', async () => {
  const r = await inspect({ disks: disks('guest-md-root') });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.operating_systems.length, 1);
  const os = r.operating_systems[0]!;
  assert.equal(os.root, '/dev/md127');
  assert.equal(os.distro, 'debian');
  assert.equal(os.major_version, 12);
  assert.equal(os.hostname, 'md-guest');
  assert.deepEqual(os.mountpoints, { '/': '/dev/md127' });
  assert.equal(os.fstab?.[0]?.spec, '/dev/md/root');
  assert.equal(os.fstab?.[0]?.device, '/dev/md127');
  assert.deepEqual(os.applications?.map((a) => `${a.name} ${a.version}-${a.release}`.replace(/-$/, '')), ['base-files 12.4+deb12u5', 'mdadm 4.2-5']);
  const fs = Object.fromEntries(r.filesystems.map((f) => [f.device, f]));
  assert.equal(fs['/dev/md127']?.uuid, readBlkid('..', 'md', 'guest-md-root', 'root.blkid')['UUID']);
  assert.equal(fs['/dev/md127']?.role, 'linux-root');
  for (const m of ['/dev/sda1', '/dev/sdb1']) {
    assert.equal(fs[m]?.type, 'linux_raid_member');
    assert.equal(fs[m]?.label, 'debian:root');
  }
});

test('LVM on md (0.90 RAID1 holding a PV): root on /dev/mdvg/root, the array is /dev/md127 (alias /dev/md0)', async () => {
  const r = await inspect({ disks: disks('guest-lvm-on-md') });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.operating_systems.length, 1);
  const os = r.operating_systems[0]!;
  assert.equal(os.root, '/dev/mdvg/root');
  assert.equal(os.hostname, 'lvm-md-guest');
  assert.equal(os.fstab?.[0]?.device, '/dev/mdvg/root');
  const fs = Object.fromEntries(r.filesystems.map((f) => [f.device, f]));
  assert.equal(fs['/dev/md127']?.type, 'LVM2_member');
  assert.equal(fs['/dev/mdvg/root']?.uuid, readBlkid('..', 'md', 'guest-lvm-on-md', 'root.blkid')['UUID']);
  assert.equal(fs['/dev/mdvg/data']?.label, 'data');
});

test('one member of the RAID1 root is enough: the OS is still found, with a degraded warning', async () => {
  const r = await inspect({ disks: disks('guest-md-root').slice(1) });
  assert.equal(r.operating_systems[0]?.root, '/dev/md127');
  assert.ok(r.warnings.some((w) => /\/dev\/md127: md raid1 array is degraded \(1 of 2 members; missing role 0\)/.test(w)), r.warnings.join('\n'));
});

test('a partitioned array on whole disks: /dev/md127p1 holds /, fstab\'s /dev/md/pdisk1 resolves to it, no table warnings for the bare members', async () => {
  const r = await inspect({ disks: disks('guest-md-partitioned') });
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.partition_table, [{ device: '/dev/md127', scheme: 'gpt' }]);
  const os = r.operating_systems[0]!;
  assert.equal(os.root, '/dev/md127p1');
  assert.equal(os.hostname, 'md-part-guest');
  assert.equal(os.fstab?.[0]?.spec, '/dev/md/pdisk1');
  assert.equal(os.fstab?.[0]?.device, '/dev/md127p1');
  const fs = Object.fromEntries(r.filesystems.map((f) => [f.device, f]));
  assert.equal(fs['/dev/md127p1']?.uuid, readBlkid('..', 'md', 'guest-md-partitioned', 'root.blkid')['UUID']);
  assert.equal(fs['/dev/sda']?.type, 'linux_raid_member');
  assert.equal(fs['/dev/sdb']?.label, 'guestkit:pdisk');
});
