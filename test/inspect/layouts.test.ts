import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { resolveSpec } from '../../src/inspect/devices.js';
import { inspect, requireOs, type Inspection, type OperatingSystem } from '../../src/inspect/index.js';
import { GuestSession } from '../../src/inspect/session.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

// Guests built by test/fixtures/inspect-layouts/build.sh (IDs fixed there).
const img = (name: string) => fixture('inspect-layouts', name);
const debianFile = (...p: string[]) => readFileSync(fixture('inspect', 'debian-root', ...p), 'utf8');
const DEBIAN_VERSION = () => debianFile('etc', 'debian_version').trim();
const KVER = () => debianFile('boot', 'grub', 'grub.cfg').match(/vmlinuz-(\S+)/)![1]!;

/** The fstab as spec → resolved device (undefined when it names nothing on the given disks). */
function fstabDevices(os: OperatingSystem): Record<string, string | undefined> {
  return Object.fromEntries(os.fstab!.map((e) => [e.spec, e.device]));
}

function fsByDevice(r: Inspection) {
  return Object.fromEntries(r.filesystems.map((f) => [f.device, f]));
}

/** Debian facts every guest built from the debootstrapped tree shares. */
function assertDebian(os: OperatingSystem, hostname: string): void {
  assert.equal(os.type, 'linux');
  assert.equal(os.distro, 'debian');
  assert.equal(os.major_version, 12);
  assert.equal(os.minor_version, Number(DEBIAN_VERSION().split('.')[1]));
  assert.equal(os.product_name, DEBIAN_VERSION());
  assert.equal(os.osinfo, 'debian12');
  assert.equal(os.arch, 'x86_64');
  assert.equal(os.hostname, hostname);
  assert.equal(os.package_format, 'deb');
  assert.equal(os.package_management, 'apt');
}

const only = (r: Inspection): OperatingSystem => {
  assert.equal(r.operating_systems.length, 1, `one OS expected, got ${r.operating_systems.map((o) => o.root).join(', ')}`);
  return r.operating_systems[0]!;
};

// ------------------------------------------------------------------ 1. root on LVM
let lvm: Inspection;
before(async () => {
  lvm = await inspect(img('lvm-guest.qcow2'));
});

test('LVM guest: root on /dev/vg0/root, /boot by UUID on /dev/sda1, swap LV listed', () => {
  const os = only(lvm);
  assert.equal(os.root, '/dev/vg0/root');
  assertDebian(os, 'lvm-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/vg0/root', '/boot': '/dev/sda1' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/vg0/root', '/dev/vg0/swap']);
  assert.deepEqual(lvm.warnings, []);
  assert.deepEqual(os.warnings, []);
});

test('LVM guest: fstab names (/dev/mapper/VG-LV, /dev/VG/LV, UUID=) resolve to the LVs and the partition', () => {
  const os = only(lvm);
  assert.deepEqual(fstabDevices(os), {
    '/dev/mapper/vg0-root': '/dev/vg0/root',
    'UUID=1f0e4b52-6c2d-4e3a-9b1c-000000000101': '/dev/sda1',
    '/dev/vg0/swap': '/dev/vg0/swap',
    proc: undefined,
  });
});

test('LVM guest: udev and device-mapper names of the LVs resolve too', async () => {
  const s = await GuestSession.open([img('lvm-guest.qcow2')]);
  try {
    const to = (spec: string) => resolveSpec(spec, s.devices)?.device;
    assert.equal(to('/dev/disk/by-id/dm-name-vg0-root'), '/dev/vg0/root');
    assert.equal(to('/dev/mapper/vg0-swap'), '/dev/vg0/swap');
    assert.equal(to('/dev/vg0/root'), '/dev/vg0/root');
    assert.equal(to('/dev/disk/by-label/root'), '/dev/vg0/root');
    assert.equal(to('/dev/disk/by-id/dm-name-vg0-home'), undefined);
    assert.equal(to('/dev/mapper/vg0-home'), undefined);
  } finally {
    await s.close();
  }
});

test('LVM guest: layout lists the MBR, the PV, both LVs with their roles', () => {
  assert.deepEqual(lvm.partition_table, [{ device: '/dev/sda', scheme: 'mbr' }]);
  assert.deepEqual(lvm.image.map((i) => i.format), ['qcow2']);
  const fs = fsByDevice(lvm);
  assert.deepEqual(Object.keys(fs).sort(), ['/dev/sda1', '/dev/sda2', '/dev/vg0/root', '/dev/vg0/swap']);
  assert.deepEqual([fs['/dev/sda1']!.type, fs['/dev/sda1']!.role, fs['/dev/sda1']!.label], ['ext4', 'boot', 'boot']);
  assert.equal(fs['/dev/sda2']!.type, 'LVM2_member');
  assert.deepEqual([fs['/dev/vg0/root']!.type, fs['/dev/vg0/root']!.role, fs['/dev/vg0/root']!.uuid], ['ext4', 'linux-root', '1f0e4b52-6c2d-4e3a-9b1c-000000000102']);
  assert.deepEqual([fs['/dev/vg0/swap']!.type, fs['/dev/vg0/swap']!.role, fs['/dev/vg0/swap']!.uuid], ['swap', 'swap', '1f0e4b52-6c2d-4e3a-9b1c-000000000103']);
  assert.equal(fs['/dev/vg0/root']!.size, 384 * 1024 * 1024);
  assert.equal(fs['/dev/vg0/swap']!.size, 16 * 1024 * 1024);
});

test('LVM guest: kernels and boot loader come from the /boot partition, modules from the root LV', () => {
  const os = only(lvm);
  const kver = KVER();
  assert.deepEqual(os.kernels!.map((k) => [k.version, k.vmlinuz, k.modules_dir]), [[kver, `/boot/vmlinuz-${kver}`, `/lib/modules/${kver}`]]);
  assert.equal(os.bootloader!.type, 'grub2');
  assert.equal(os.bootloader!.config, '/boot/grub/grub.cfg');
  assert.ok(os.applications!.some((a) => a.name === 'openssh-server'));
});

// ------------------------------------------------------------------ 2. two disks
let multi: Inspection;
let multiA: Inspection;
before(async () => {
  multi = await inspect({ disks: [img('multi-a.qcow2'), img('multi-b.qcow2')] });
  multiA = await inspect({ disks: [img('multi-a.qcow2')] });
});

test('two disks: /home by LABEL= comes from the LV on /dev/sdb', () => {
  const os = only(multi);
  assert.equal(os.root, '/dev/sda2');
  assertDebian(os, 'multi-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2', '/boot': '/dev/sda1', '/home': '/dev/data/home' });
  assert.deepEqual(os.filesystems, ['/dev/data/home', '/dev/sda1', '/dev/sda2']);
  assert.deepEqual(fstabDevices(os), {
    'UUID=2a1b5c63-7d3e-4f4b-8c2d-000000000202': '/dev/sda2',
    'UUID=2a1b5c63-7d3e-4f4b-8c2d-000000000201': '/dev/sda1',
    'LABEL=home': '/dev/data/home',
  });
  assert.deepEqual(multi.warnings, []);
  assert.deepEqual(os.warnings, []);
});

test('two disks: layout covers both images; the whole-disk PV has no partition table', () => {
  assert.deepEqual(multi.image.map((i) => i.path), [img('multi-a.qcow2'), img('multi-b.qcow2')]);
  assert.deepEqual(multi.partition_table, [{ device: '/dev/sda', scheme: 'gpt' }]);
  const fs = fsByDevice(multi);
  assert.deepEqual(Object.keys(fs).sort(), ['/dev/data/home', '/dev/sda1', '/dev/sda2', '/dev/sdb']);
  assert.equal(fs['/dev/sdb']!.type, 'LVM2_member');
  assert.deepEqual([fs['/dev/data/home']!.type, fs['/dev/data/home']!.label, fs['/dev/data/home']!.uuid], ['xfs', 'home', '2a1b5c63-7d3e-4f4b-8c2d-000000000203']);
});

test('two disks: users are read from the root, their homes exist on the second disk', async () => {
  const os = only(multi);
  const alice = os.users!.find((u) => u.name === 'alice')!;
  assert.equal(alice.home, '/home/alice');
  const s = await GuestSession.open([img('multi-a.qcow2'), img('multi-b.qcow2')]);
  try {
    const vfs = await s.osView();
    assert.deepEqual((await vfs.readdirNames('/home')).sort(), ['alice', 'bob']);
    const st = await vfs.stat('/home/alice/.bashrc');
    assert.equal(st.device, '/dev/data/home');
    assert.equal(st.uid, 1000);
    assert.equal((await vfs.stat('/home/alice')).mode & 0o777, 0o700);
  } finally {
    await s.close();
  }
});

test('two disks given the other way round: names follow the order, UUID=/LABEL= mounts do not care', async () => {
  const os = only(await inspect({ disks: [img('multi-b.qcow2'), img('multi-a.qcow2')], options: { include_packages: false } }));
  assert.equal(os.root, '/dev/sdb2');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sdb2', '/boot': '/dev/sdb1', '/home': '/dev/data/home' });
  assert.deepEqual(os.warnings, []);
});

test('cli: guestkit inspect --disk A --disk B --json is one guest with /home from the second disk', async () => {
  const r = await runCli(['inspect', '--disk', img('multi-a.qcow2'), '--disk', img('multi-b.qcow2'), '--json', '--no-packages', '--no-services']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Inspection;
  assert.equal(doc.image.length, 2);
  assert.deepEqual(doc.operating_systems.map((o) => [o.root, o.mountpoints['/home']]), [['/dev/sda2', '/dev/data/home']]);
});

test('first disk alone: the OS is still found, the missing /home is a warning', () => {
  const os = only(multiA);
  assert.equal(os.root, '/dev/sda2');
  assertDebian(os, 'multi-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2', '/boot': '/dev/sda1' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2']);
  assert.equal(fstabDevices(os)['LABEL=home'], undefined);
  assert.deepEqual(os.warnings, ['fstab: LABEL=home (for /home) not found on the given disks']);
});

test('second disk alone: filesystems listed, no OS (NO_OS_FOUND from requireOs)', async () => {
  const r = await inspect({ disks: [img('multi-b.qcow2')] });
  assert.deepEqual(r.operating_systems, []);
  assert.deepEqual(r.filesystems.map((f) => [f.device, f.type]), [['/dev/sda', 'LVM2_member'], ['/dev/data/home', 'xfs']]);
  assert.throws(() => requireOs(r), (e: Error & { code?: string }) => e.code === 'NO_OS_FOUND');
});

// ------------------------------------------------------------------ 3. RHEL-like on XFS + LVM
let rhel: Inspection;
before(async () => {
  rhel = await inspect(img('rhel-xfs.qcow2'));
});

test('RHEL-like XFS-on-LVM guest: rhel 8.9, dnf, root /dev/rhel/root', () => {
  const os = only(rhel);
  assert.equal(os.root, '/dev/rhel/root');
  assert.equal(os.distro, 'rhel');
  assert.deepEqual([os.major_version, os.minor_version], [8, 9]);
  assert.equal(os.product_name, 'Red Hat Enterprise Linux 8.9 (Ootpa)');
  assert.equal(os.osinfo, 'rhel8.9');
  assert.equal(os.package_format, 'rpm');
  assert.equal(os.package_management, 'dnf');
  assert.equal(os.arch, 'x86_64');
  assert.equal(os.hostname, 'rhel8-db.example.com');
  assert.deepEqual(os.mountpoints, { '/': '/dev/rhel/root', '/boot': '/dev/sda1' });
  assert.deepEqual(os.filesystems, ['/dev/rhel/root', '/dev/rhel/swap', '/dev/sda1']);
  assert.deepEqual(fstabDevices(os), {
    '/dev/mapper/rhel-root': '/dev/rhel/root',
    'UUID=3b2c6d74-8e4f-4a5c-9d3e-000000000301': '/dev/sda1',
    '/dev/mapper/rhel-swap': '/dev/rhel/swap',
  });
  assert.deepEqual(rhel.warnings, []);
  // The tree has no rpm database: that, and only that, is worth a warning.
  assert.deepEqual(os.warnings, ['no package database found']);
});

test('RHEL-like guest: XFS /boot and root, swap LV, BLS entries read through the /boot mount', () => {
  const fs = fsByDevice(rhel);
  assert.deepEqual(rhel.partition_table, [{ device: '/dev/sda', scheme: 'mbr' }]);
  assert.deepEqual([fs['/dev/sda1']!.type, fs['/dev/sda1']!.role, fs['/dev/sda1']!.uuid], ['xfs', 'boot', '3b2c6d74-8e4f-4a5c-9d3e-000000000301']);
  assert.deepEqual([fs['/dev/rhel/root']!.type, fs['/dev/rhel/root']!.role], ['xfs', 'linux-root']);
  assert.deepEqual([fs['/dev/rhel/swap']!.type, fs['/dev/rhel/swap']!.role], ['swap', 'swap']);
  const os = only(rhel);
  assert.equal(os.bootloader!.type, 'grub2');
  assert.equal(os.bootloader!.config, '/boot/grub2/grub.cfg');
  assert.deepEqual(os.bootloader!.entries.map((e) => e.kernel), ['/vmlinuz-4.18.0-513.5.1.el8_9.x86_64']);
  assert.deepEqual(os.evidence.arch, ['/usr/bin/bash']);
});

// ------------------------------------------------------------------ 4. /usr on its own filesystem
let usr: Inspection;
before(async () => {
  usr = await inspect(img('usr-split.qcow2'));
});

test('/usr split: /usr mounted by PARTUUID=, distro and arch read across the mount', () => {
  const os = only(usr);
  assert.equal(os.root, '/dev/sda1');
  assertDebian(os, 'usr-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda1', '/usr': '/dev/sda2' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2']);
  assert.deepEqual(fstabDevices(os), {
    'UUID=4c3d7e85-9f5a-4b6d-8e4f-000000000401': '/dev/sda1',
    'PARTUUID=4c3d7e85-9f5a-4b6d-8e4f-0000000004f2': '/dev/sda2',
  });
  const fs = fsByDevice(usr);
  assert.equal(fs['/dev/sda1']!.role, 'linux-root');
  assert.equal(fs['/dev/sda2']!.role, 'usr');
  assert.deepEqual(os.warnings, []);
  assert.deepEqual(usr.warnings, []);
  // /etc/os-release -> ../usr/lib/os-release and /bin -> usr/bin both land on /dev/sda2.
  assert.ok(os.evidence.release!.includes('/usr/lib/os-release'));
  assert.deepEqual(os.evidence.arch, ['/usr/bin/bash']);
});

test('/usr split: the root filesystem alone has an empty /usr; the OS view reaches bash on /dev/sda2', async () => {
  const s = await GuestSession.open([img('usr-split.qcow2')]);
  try {
    assert.deepEqual(await (await s.deviceView('/dev/sda1')).readdirNames('/usr'), []);
    const vfs = await s.osView();
    assert.equal(await vfs.realpath('/bin/bash'), '/usr/bin/bash');
    const st = await vfs.stat('/bin/bash');
    assert.equal(st.device, '/dev/sda2');
    assert.equal(st.size, readFileSync(fixture('inspect', 'debian-root', 'usr', 'bin', 'bash')).length);
  } finally {
    await s.close();
  }
});

// ------------------------------------------------------------------ 5. virtio names
let virtio: Inspection;
before(async () => {
  virtio = await inspect(img('virtio.qcow2'));
});

test('virtio guest: /dev/vda2, /dev/vda5 (logical) and /dev/disk/by-uuid/… resolve to /dev/sdaN; swap file and CD-ROM are no warning', () => {
  const os = only(virtio);
  assert.equal(os.root, '/dev/sda2');
  assertDebian(os, 'virtio-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2', '/boot': '/dev/sda1' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2', '/dev/sda5']);
  assert.deepEqual(fstabDevices(os), {
    '/dev/vda2': '/dev/sda2',
    '/dev/disk/by-uuid/5d4e8f96-a06b-4c7e-9f5a-000000000501': '/dev/sda1',
    '/dev/vda5': '/dev/sda5',
    '/swap.img': undefined,
    tmpfs: undefined,
    '/dev/sr0': undefined,
  });
  assert.deepEqual(virtio.partition_table, [{ device: '/dev/sda', scheme: 'mbr' }]);
  // The extended partition (sda3) is a container, not a filesystem.
  assert.deepEqual(virtio.filesystems.map((f) => [f.device, f.type, f.role]), [['/dev/sda1', 'ext4', 'boot'], ['/dev/sda2', 'ext4', 'linux-root'], ['/dev/sda5', 'swap', 'swap']]);
  assert.deepEqual(os.warnings, []);
  assert.deepEqual(virtio.warnings, []);
});

test('virtio guest: every other name a guest may use for the same devices', async () => {
  const s = await GuestSession.open([img('virtio.qcow2')]);
  try {
    const d = s.devices;
    const to = (spec: string) => resolveSpec(spec, d)?.device;
    for (const spec of ['/dev/sda2', '/dev/hda2', '/dev/xvda2', '/dev/nvme0n1p2', 'UUID=5d4e8f96-a06b-4c7e-9f5a-000000000502', 'UUID="5D4E8F96-A06B-4C7E-9F5A-000000000502"', 'LABEL=root', '/dev/disk/by-label/root', 'PARTUUID=00c0ffee-02', '/dev/disk/by-partuuid/00c0ffee-02']) {
      assert.equal(to(spec), '/dev/sda2', spec);
    }
    assert.equal(to('/dev/nvme0n1'), '/dev/sda');
    assert.equal(to('/dev/vda'), '/dev/sda');
    // Names of devices this guest does not have.
    for (const spec of ['/dev/vdb1', '/dev/vda9', 'LABEL=nope', 'UUID=00000000-0000-0000-0000-000000000000', 'PARTUUID=00c0ffee-09', '/dev/mapper/vg0-root', 'tmpfs', '']) {
      assert.equal(to(spec), undefined, spec);
    }
  } finally {
    await s.close();
  }
});

// ------------------------------------------------------------------ 6. damaged filesystems
let damaged: Inspection;
before(async () => {
  damaged = await inspect(img('damaged.qcow2'));
});

test('damaged filesystems beside the OS and a damaged file inside it: the OS is inspected, each damage is a warning', () => {
  const os = only(damaged);
  assert.equal(os.root, '/dev/sda1');
  assertDebian(os, 'damaged-01');
  // The mount points are what fstab says, even where attaching failed.
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda1', '/srv/data': '/dev/sda2', '/srv/scratch': '/dev/sda3' });
  assert.deepEqual(fstabDevices(os), {
    'UUID=6e5f9fa7-b17c-4d8f-8a6b-000000000601': '/dev/sda1',
    'UUID=6e5f9fa7-b17c-4d8f-8a6b-000000000602': '/dev/sda2',
    'LABEL=scratch': '/dev/sda3',
    '/dev/mapper/secure': undefined,
  });
  // The LUKS partition behind /dev/mapper/secure (crypttab) is one of the OS's devices.
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2', '/dev/sda3', '/dev/sda4']);
  assert.deepEqual(os.crypttab, [{ name: 'secure', device: 'UUID=6e5f9fa7-b17c-4d8f-8a6b-000000000604', keyfile: 'none', options: 'luks,discard' }]);
  assert.equal(damaged.warnings.length, 2, damaged.warnings.join('\n'));
  assert.match(damaged.warnings[0]!, /^\/dev\/sda2: cannot open ext4 filesystem: .*superblock/);
  assert.match(damaged.warnings[1]!, /^\/dev\/sda3: cannot open xfs filesystem: .*xfs superblock/);
  assert.equal(os.warnings.length, 5, os.warnings.join('\n'));
  assert.match(os.warnings[0]!, /^fstab: cannot attach \/dev\/sda2 at \/srv\/data: /);
  assert.match(os.warnings[1]!, /^fstab: cannot attach \/dev\/sda3 at \/srv\/scratch: /);
  assert.equal(os.warnings[2], 'fstab: /srv/secure is on the encrypted volume secure (/dev/sda4), which cannot be read without its key');
  // Inside the root, dpkg's status file has a broken extent header: that one fact is lost, with why.
  assert.match(os.warnings[3]!, /^\/var\/lib\/dpkg\/status: .*extent/);
  assert.equal(os.warnings[4], 'package database /var/lib/dpkg/status could not be read');
  assert.equal(os.applications, undefined);
  // Probing still names both (type, label), without a role: they could not be opened.
  const fs = fsByDevice(damaged);
  assert.deepEqual([fs['/dev/sda2']!.type, fs['/dev/sda2']!.label, fs['/dev/sda2']!.role], ['ext4', 'data', undefined]);
  assert.deepEqual([fs['/dev/sda3']!.type, fs['/dev/sda3']!.label, fs['/dev/sda3']!.role], ['xfs', 'scratch', undefined]);
  assert.deepEqual([fs['/dev/sda4']!.type, fs['/dev/sda4']!.uuid], ['crypto_LUKS', '6e5f9fa7-b17c-4d8f-8a6b-000000000604']);
  // The rest of the inspection ran.
  assert.deepEqual(os.kernels!.map((k) => k.version), [KVER()]);
  assert.ok(os.users!.some((u) => u.name === 'alice'));
  assert.equal(os.init_system, 'systemd');
});

// ------------------------------------------------------------------ 7. Btrfs subvolumes (Ubuntu style)
let btrfs: Inspection;
before(async () => {
  btrfs = await inspect(img('btrfs-guest.qcow2'));
});

test('Btrfs guest: root in subvolume @, /home by subvolid=, /boot on ext4 with the ESP inside it', () => {
  const os = only(btrfs);
  assert.equal(os.root, '/dev/sda3:@');
  assertDebian(os, 'btrfs-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda3', '/boot': '/dev/sda2', '/boot/efi': '/dev/sda1', '/home': '/dev/sda3' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2', '/dev/sda3']);
  assert.deepEqual(os.fstab!.map((e) => [e.spec, e.file, e.device]), [
    ['UUID=7f60a0b8-c28d-4e9a-9b7c-000000000702', '/', '/dev/sda3'],
    ['UUID=7f60a0b8-c28d-4e9a-9b7c-000000000701', '/boot', '/dev/sda2'],
    ['UUID=7f60a0b8-c28d-4e9a-9b7c-000000000702', '/home', '/dev/sda3'],
    ['UUID=7F60-0703', '/boot/efi', '/dev/sda1'],
  ]);
  assert.deepEqual(btrfs.warnings, []);
  assert.deepEqual(os.warnings, []);
  const fs = fsByDevice(btrfs);
  assert.deepEqual([fs['/dev/sda1']!.type, fs['/dev/sda1']!.label, fs['/dev/sda1']!.uuid], ['vfat', 'ESP', '7F60-0703']);
  assert.deepEqual([fs['/dev/sda3']!.type, fs['/dev/sda3']!.label, fs['/dev/sda3']!.uuid], ['btrfs', 'ubuntu', '7f60a0b8-c28d-4e9a-9b7c-000000000702']);
});

test('Btrfs guest: the OS view shows subvolume @home at /home, not the top level', async () => {
  const s = await GuestSession.open([img('btrfs-guest.qcow2')]);
  try {
    const vfs = await s.osView();
    assert.deepEqual((await vfs.readdirNames('/home')).sort(), ['alice', 'bob']);
    assert.equal((await vfs.stat('/home/alice')).uid, 1000);
    assert.ok(!(await vfs.readdirNames('/')).includes('@home'));
    // The device opened without subvol= is the top level holding both subvolumes.
    assert.deepEqual((await (await s.deviceView('/dev/sda3')).readdirNames('/')).sort(), ['@', '@home']);
    // /boot/efi is the FAT ESP mounted inside the ext4 /boot, itself inside subvolume @.
    const stub = await vfs.readFile('/boot/efi/EFI/ubuntu/grub.cfg');
    assert.match(stub.toString(), /^search\.fs_uuid 7f60a0b8-c28d-4e9a-9b7c-000000000701 root$/m);
    assert.equal((await vfs.stat('/boot/efi/EFI')).device, '/dev/sda1');
    assert.equal((await vfs.stat('/boot/grub/grub.cfg')).device, '/dev/sda2');
  } finally {
    await s.close();
  }
});

// ------------------------------------------------------------------ 8. Btrfs default subvolume (openSUSE style)
let suse: Inspection;
before(async () => {
  suse = await inspect(img('suse-btrfs.qcow2'));
});

test('openSUSE-style Btrfs: the default subvolume is the root, reported once; snapper snapshots are no OS of their own', () => {
  const os = only(suse);
  assert.equal(os.root, '/dev/sda2');
  assert.equal(os.distro, 'opensuse');
  assert.deepEqual([os.major_version, os.minor_version], [15, 5]);
  assert.equal(os.osinfo, 'opensuse15.5');
  assert.equal(os.package_management, 'zypper');
  assert.equal(os.arch, 'x86_64');
  assert.equal(os.hostname, 'leap-01');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2', '/.snapshots': '/dev/sda2', '/home': '/dev/sda2' });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sda2']);
  assert.deepEqual(os.fstab!.map((e) => [e.file, e.device]), [['/', '/dev/sda2'], ['/home', '/dev/sda2'], ['/.snapshots', '/dev/sda2'], ['swap', '/dev/sda1']]);
  const fs = fsByDevice(suse);
  assert.deepEqual([fs['/dev/sda1']!.type, fs['/dev/sda1']!.role], ['swap', 'swap']);
  assert.deepEqual([fs['/dev/sda2']!.type, fs['/dev/sda2']!.role], ['btrfs', 'linux-root']);
  assert.deepEqual(suse.warnings, []);
  assert.deepEqual(os.warnings.filter((w) => w !== 'no package database found'), []);
});

test('openSUSE-style Btrfs: subvol=/@/home and /@/.snapshots attach inside the snapshot root', async () => {
  const s = await GuestSession.open([img('suse-btrfs.qcow2')]);
  try {
    const vfs = await s.osView();
    assert.equal((await vfs.readFile('/home/tux/.bashrc')).toString(), 'alias ll="ls -l"\n');
    assert.match((await vfs.readFile('/.snapshots/1/info.xml')).toString(), /<description>first root filesystem<\/description>/);
    assert.deepEqual(await vfs.readdirNames('/.snapshots/1/snapshot/home'), [], 'the snapshot seen through /.snapshots has the bare mount point');
    assert.equal((await vfs.readFile('/.snapshots/2/snapshot/etc/hostname')).toString(), 'leap-01-pre-update\n');
  } finally {
    await s.close();
  }
});

// ------------------------------------------------------------------ 9. hardened layout: many LVs, nested mounts
/** /var/log as the guest sees it: the Debian tree's entries plus the new filesystem's lost+found. */
const VAR_LOG = () => [...readdirSync(fixture('inspect', 'debian-root', 'var', 'log')), 'lost+found'].sort();
let cis: Inspection;
before(async () => {
  cis = await inspect(img('cis-lvm.qcow2'));
});

test('hardened LVM layout: /var, /var/log (nested), /var/tmp, /home on their own LVs; mapper names with doubled dashes', () => {
  const os = only(cis);
  assert.equal(os.root, '/dev/sys-vg/root');
  assertDebian(os, 'cis-01');
  assert.deepEqual(os.mountpoints, {
    '/': '/dev/sys-vg/root',
    '/boot': '/dev/sda1',
    '/home': '/dev/sys-vg/home',
    '/var': '/dev/sys-vg/var',
    '/var/log': '/dev/sys-vg/var-log',
    '/var/tmp': '/dev/sys-vg/var-tmp',
  });
  assert.deepEqual(os.filesystems, ['/dev/sda1', '/dev/sys-vg/home', '/dev/sys-vg/root', '/dev/sys-vg/swap', '/dev/sys-vg/var', '/dev/sys-vg/var-log', '/dev/sys-vg/var-tmp']);
  assert.deepEqual(fstabDevices(os), {
    '/dev/mapper/sys--vg-root': '/dev/sys-vg/root',
    'UUID=9182c2da-e4af-4b0c-9d9e-000000000901': '/dev/sda1',
    '/dev/mapper/sys--vg-var': '/dev/sys-vg/var',
    '/dev/mapper/sys--vg-var--log': '/dev/sys-vg/var-log',
    '/dev/sys-vg/var-tmp': '/dev/sys-vg/var-tmp',
    '/dev/disk/by-id/dm-name-sys--vg-home': '/dev/sys-vg/home',
    tmpfs: undefined,
    '/dev/sys-vg/swap': '/dev/sys-vg/swap',
  });
  const roles = Object.fromEntries(cis.filesystems.map((f) => [f.device, f.role]));
  assert.deepEqual(roles, {
    '/dev/sda1': 'boot',
    '/dev/sda2': undefined,
    '/dev/sys-vg/root': 'linux-root',
    '/dev/sys-vg/var': 'var',
    '/dev/sys-vg/var-log': 'data',
    '/dev/sys-vg/var-tmp': 'data',
    '/dev/sys-vg/home': 'data',
    '/dev/sys-vg/swap': 'swap',
  });
  assert.deepEqual(cis.warnings, [], 'the bare /var filesystem\'s run -> /run symlink is no oddity');
  assert.deepEqual(os.warnings, []);
});

test('hardened LVM layout: packages come from dpkg\'s status on the /var LV, exactly as dpkg-query lists them', () => {
  const os = only(cis);
  const want = readFileSync(fixture('inspect', 'debian-dpkg.txt'), 'utf8').trim().split('\n').sort();
  const got = os.applications!.map((a) => `${a.name}\t${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}\t${a.arch}`).sort();
  assert.deepEqual(got, want);
  assert.deepEqual(os.evidence.applications, ['/var/lib/dpkg/status']);
});

test('hardened LVM layout: each path lands on its own LV in the OS view', async () => {
  const s = await GuestSession.open([img('cis-lvm.qcow2')]);
  try {
    const vfs = await s.osView();
    assert.equal((await vfs.stat('/var/lib/dpkg/status')).device, '/dev/sys-vg/var');
    assert.equal((await vfs.stat('/var/log')).device, '/dev/sys-vg/var-log');
    assert.deepEqual((await vfs.readdirNames('/var/log')).sort(), VAR_LOG());
    const tmp = await vfs.stat('/var/tmp');
    assert.equal(tmp.device, '/dev/sys-vg/var-tmp');
    assert.equal(tmp.mode & 0o7777, 0o1777);
    assert.equal((await vfs.stat('/home/alice')).device, '/dev/sys-vg/home');
    // /var/run -> /run is followed inside the guest, onto the root LV.
    assert.equal((await vfs.stat('/var/run')).device, '/dev/sys-vg/root');
  } finally {
    await s.close();
  }
});

// ------------------------------------------------------------------ guestkit ls / cat through the OS view

test('cli: cat /boot/grub/grub.cfg crosses into the /boot partition of the LVM guest', async () => {
  const r = await runCli(['cat', img('lvm-guest.qcow2'), '/boot/grub/grub.cfg']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, debianFile('boot', 'grub', 'grub.cfg'));
  const host = await runCli(['cat', img('lvm-guest.qcow2'), '/etc/hostname', '--device', '/dev/mapper/vg0-root']);
  assert.equal(host.code, 0, host.stderr);
  assert.equal(host.stdout, 'lvm-01\n');
});

test('cli: ls /home with the second disk lists its XFS; without it, the empty mount point', async () => {
  const both = await runCli(['ls', img('multi-a.qcow2'), '/home', '--disk', img('multi-b.qcow2')]);
  assert.equal(both.code, 0, both.stderr);
  assert.equal(both.stdout, 'alice\nbob\n');
  const readme = await runCli(['cat', img('multi-a.qcow2'), '/home/alice/projects/README', '--disk', img('multi-b.qcow2')]);
  assert.equal(readme.code, 0, readme.stderr);
  assert.equal(readme.stdout, 'home of alice on the second disk\n');
  const alone = await runCli(['ls', img('multi-a.qcow2'), '/home']);
  assert.equal(alone.code, 0, alone.stderr);
  assert.equal(alone.stdout, '');
  const missing = await runCli(['cat', img('multi-a.qcow2'), '/home/alice/projects/README']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NOT_FOUND/);
});

test('cli: ls /var/log on the hardened layout lists the nested LV', async () => {
  const r = await runCli(['ls', img('cis-lvm.qcow2'), '/var/log']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, VAR_LOG().join('\n') + '\n');
});

test('cli: cat /etc/os-release follows the symlink into the separate /usr', async () => {
  const r = await runCli(['cat', img('usr-split.qcow2'), '/etc/os-release']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, debianFile('usr', 'lib', 'os-release'));
});

test('cli: ls -l --json on the RHEL /boot (XFS) and a typed error for a damaged device', async () => {
  const r = await runCli(['ls', img('rhel-xfs.qcow2'), '/boot/loader/entries', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; type: string }[];
  assert.deepEqual(rows.map((x) => [x.name, x.type]), [['6a1c3e1f2b7d4c9a8e5f0d1b2c3a4e5f-4.18.0-513.5.1.el8_9.x86_64.conf', 'file']]);
  const bad = await runCli(['ls', img('damaged.qcow2'), '/', '--device', '/dev/sda2']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^guestkit: CORRUPT_IMAGE: /);
});
