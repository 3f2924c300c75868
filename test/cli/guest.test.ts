import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

const debian = () => fixture('inspect', 'debian.qcow2');

test('guestkit filesystems --json lists every partition with type, UUID, label and size', async () => {
  const r = await runCli(['filesystems', '--json', debian()]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { filesystems: { device: string; type: string; uuid: string; label: string; size: number }[] };
  assert.deepEqual(
    doc.filesystems.map((f) => [f.device, f.type, f.label]),
    [
      ['/dev/sda2', 'vfat', 'EFI'],
      ['/dev/sda3', 'ext4', 'boot'],
      ['/dev/sda4', 'ext4', 'root'],
    ],
  );
  assert.equal(doc.filesystems[1]!.uuid, '7c2e4d2f-1a7b-4d66-8b54-3a2a7c1f8b02');
});

test('guestkit ls / cat read the OS view: /boot and /boot/efi are the fstab mounts', async () => {
  const ls = await runCli(['ls', debian(), '/boot']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.ok(ls.stdout.split('\n').includes('grub') && ls.stdout.includes('vmlinuz-'), ls.stdout);
  const efi = await runCli(['ls', debian(), '/boot/efi/EFI/debian']);
  assert.deepEqual(efi.stdout.trim().split('\n'), ['grub.cfg']);
  const cat = await runCli(['cat', debian(), '/etc/hostname']);
  assert.deepEqual([cat.code, cat.stdout], [0, 'web-01\n']);
  const long = await runCli(['ls', '-l', debian(), '/etc/localtime']);
  assert.match(long.stdout, /^lrwxrwxrwx\s+0\s+0\s+.*localtime -> \/usr\/share\/zoneinfo\/Europe\/Berlin$/m);
});

test('guestkit ls --device reads one filesystem directly', async () => {
  const r = await runCli(['ls', '--device', '/dev/sda3', debian(), '/']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.split('\n').includes('grub'));
  const bad = await runCli(['ls', '--device', '/dev/sda9', debian(), '/']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^guestkit: NOT_FOUND: no device \/dev\/sda9/);
});

test('guestkit cat on a missing guest path: exit 1 and a clear message, no stack', async () => {
  const r = await runCli(['cat', debian(), '/etc/does-not-exist']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'guestkit: NOT_FOUND: guest path /etc/does-not-exist: no such file or directory\n');
  const j = await runCli(['cat', '--json', debian(), '/etc/does-not-exist']);
  assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');
});

test('guestkit inspect: summary by default, the document with --json, NO_OS_FOUND with the layout', async () => {
  const sum = await runCli(['inspect', fixture('inspect', 'rpm-guest.qcow2')]);
  assert.equal(sum.code, 0, sum.stderr);
  assert.match(sum.stdout, /^Rocky Linux 9\.3 \(Blue Onyx\) — rocky 9\.3, x86_64 on \/dev\/sda1$/m);
  assert.match(sum.stdout, /packages:\s+7 \(rpm\/dnf\)/);
  // fstab names a root LV and an ESP that no disk holds.
  assert.match(sum.stdout, /^ {2}warning: {6}fstab: \/dev\/mapper\/rl-root \(for \/\) not found on the given disks; the root inspected is \/dev\/sda1$/m);
  assert.match(sum.stdout, /^ {2}warning: {6}fstab: UUID=0000-0000 \(for \/boot\/efi\) not found on the given disks$/m);
  const json = await runCli(['inspect', '--json', fixture('inspect', 'rpm-guest.qcow2')]);
  assert.equal((JSON.parse(json.stdout) as { operating_systems: { hostname: string }[] }).operating_systems[0]!.hostname, 'db-02.example.com');
  const none = await runCli(['inspect', fixture('inspect', 'rpm-Packages.bdb'), '--format', 'raw']);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /rpm-Packages\.bdb: raw/);
  assert.match(none.stderr, /^guestkit: NO_OS_FOUND: /);
  const usage = await runCli(['inspect']);
  assert.equal(usage.code, 2);
});

test('guestkit inspect summary: the name a person knows first (os-release PRETTY_NAME), then the exact version and arch', async () => {
  const r = await runCli(['inspect', '--no-packages', debian()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Debian GNU\/Linux 12 \(bookworm\) — debian 12\.\d+, x86_64 on \/dev\/sda4$/m);
  const mb = await runCli(['inspect', fixture('inspect', 'multiboot.qcow2')]);
  // No os-release: the release file's first line is the name; a bare debian_version gives none.
  assert.match(mb.stdout, /^Red Hat Enterprise Linux Server release 7\.9 \(Maipo\) — rhel 7\.9, x86_64 on \/dev\/sda1$/m);
  assert.match(mb.stdout, /^debian 11\.9, x86_64 on \/dev\/sda4$/m);
  const win = await runCli(['inspect', '--no-packages', fixture('windows', 'server2019.qcow2')]);
  assert.match(win.stdout, /^Windows Server 2019 Standard — windows 10\.0 build 17763, x86_64 on \/dev\/sda2$/m);
});

test('guestkit inspect summary: a guest without a package database says why; software beside the package manager is counted', async () => {
  const flatcar = await runCli(['inspect', fixture('flatcar', 'flatcar.img')]);
  assert.equal(flatcar.code, 0, flatcar.stderr);
  assert.match(flatcar.stdout, /packages: +none: no package database/);
  const beside = await runCli(['inspect', fixture('beside-pm', 'guest.qcow2')]);
  assert.equal(beside.code, 0, beside.stderr);
  assert.match(beside.stdout, /also: +5 snaps, 3 flatpaks, 12 container images \(beside the package manager\)/);
});
