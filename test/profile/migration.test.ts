import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { listInitramfs } from '../../src/profile/migration/initramfs.js';
import { lz4Decompress } from '../../src/profile/migration/lz4.js';
import { runProfile } from '../../src/profile/run.js';
import type { GuestReport } from '../../src/profile/types.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { REPO } from '../helpers/fixtures.js';

const out = join(REPO, 'test', 'fixtures', 'out');
const debianInitrd = join(out, 'inspect', 'debian-root', 'boot', 'initrd.img-6.1.0-50-cloud-amd64');
const mig = (n: string) => join(out, 'migration', n);

/** lsinitramfs (initramfs-tools) lists what the kernel would unpack: the reference listing. */
function lsinitramfs(file: string): string[] {
  return execFileSync('lsinitramfs', [file], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .split('\n')
    .filter((n) => n && n !== '.')
    .map((n) => n.replace(/^\.\//, ''))
    .sort();
}

for (const [what, file] of [
  ['gzip (mkinitramfs)', debianInitrd],
  ['early microcode + zstd', mig('initrd-zst.img')],
  ['early microcode + xz', mig('initrd-xz.img')],
  ['early microcode + lz4 legacy', mig('initrd-lz4.img')],
] as const) {
  test(`initramfs ${what}: the same members as lsinitramfs`, async () => {
    const l = await listInitramfs(readFileSync(file));
    assert.deepEqual([...new Set(l.names.filter((n) => n !== '.'))].sort(), lsinitramfs(file));
    assert.ok(l.names.some((n) => n.endsWith('/virtio_blk.ko')), 'the Debian initramfs carries virtio_blk');
    if (!file.endsWith('.img-6.1.0-50-cloud-amd64')) assert.deepEqual(l.segments[0], { offset: 0, compression: 'none', entries: 5 });
  });
}

test('initramfs: damaged, truncated, unknown or oversized input gives typed errors', async () => {
  const zst = readFileSync(mig('initrd-zst.img'));
  const gz = readFileSync(debianInitrd);
  const cases: [string, Buffer, object?][] = [
    ['random bytes', Buffer.from('this is not an initramfs at all, just text')],
    ['zstd cut in half', zst.subarray(0, zst.length >> 1)],
    ['gzip cut in half', gz.subarray(0, gz.length >> 1)],
    ['bzip2', Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(64)])],
    ['a cpio header with a huge name size', Buffer.from('070701' + '0'.repeat(8 * 10) + 'FFFFFFFF' + '0'.repeat(8))],
    ['output over the cap', gz, { maxOutput: 1 << 20 }],
    ['too many entries', gz, { maxEntries: 10 }],
  ];
  for (const [what, buf, limits] of cases) {
    await assert.rejects(listInitramfs(buf, limits), (err: unknown) => isGuestkitError(err) || assert.fail(`${what}: ${String(err)}`), what);
  }
});

test('lz4: frame format (lz4 CLI default) decodes as the tool wrote it', () => {
  const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i % 97} of a repetitive text\n`).join(''));
  const frame = execFileSync('lz4', ['-q', '-c'], { input: data });
  assert.ok(lz4Decompress(frame, 1 << 24).equals(data));
  const legacy = execFileSync('lz4', ['-q', '-l', '-c'], { input: data });
  assert.ok(lz4Decompress(legacy, 1 << 24).equals(data));
  assert.throws(() => lz4Decompress(frame, 1000), /larger than 1000/);
});

async function migration(image: string, target: 'kvm' | 'kubevirt' | 'openstack'): Promise<GuestReport> {
  const r = await runProfile({ disks: [image], profiles: ['migration'], target });
  assert.equal(r.guests.length, 1);
  return r.guests[0]!;
}

const status = (g: GuestReport, id: string) => g.results.find((x) => x.id === id)?.status;

test('migration: the VMware-configured Debian guest is not bootable on OpenStack; each blocker and warning with its evidence, changes in order', async () => {
  const g = await migration(mig('vmware-guest.qcow2'), 'openstack');
  const m = g.migration!;
  assert.equal(m.target, 'openstack');
  assert.equal(m.bootable, false);
  assert.deepEqual([...m.blockers].sort(), ['migration.bootloader_root', 'migration.fstab_device_names', 'migration.virtio_storage']);
  assert.deepEqual([...m.warnings].sort(), ['migration.cloud_init', 'migration.guest_agent', 'migration.hypervisor_tools', 'migration.network_mac', 'migration.network_vmware_names']);
  assert.equal(m.score, 0);
  // drivers first, then names and config; the old tools go and the agent comes after the move
  assert.deepEqual(m.changes.map((c) => c.fixes), ['migration.virtio_storage', 'migration.fstab_device_names', 'migration.bootloader_root', 'migration.network_mac', 'migration.network_vmware_names', 'migration.cloud_init', 'migration.hypervisor_tools', 'migration.guest_agent']);
  assert.deepEqual(m.changes.map((c) => c.when), ['before', 'before', 'before', 'before', 'before', 'before', 'after', 'after']);
  const find = (id: string) => g.results.find((x) => x.id === id)!;
  const virtio = find('migration.virtio_storage');
  assert.equal(virtio.severity, 'critical');
  assert.match(virtio.evidence[0]!.note ?? '', /none archive of 5 entries, zstd archive/);
  assert.match(virtio.remediation ?? '', /update-initramfs -u -k 6\.1\.0-50-cloud-amd64/);
  assert.deepEqual(find('migration.fstab_device_names').evidence.map((e) => e.value), ['/dev/sda1 /', '/dev/sdb1 /data', '/dev/sda5 none']);
  assert.match(find('migration.bootloader_root').evidence[0]!.value ?? '', /root=\/dev\/sda1/);
  assert.ok(find('migration.network_mac').evidence.some((e) => e.file === '/etc/udev/rules.d/70-persistent-net.rules' && e.line === 2 && e.value === '00:50:56:9a:3b:7c'));
  assert.match(find('migration.network_vmware_names').message, /ens192/);
  assert.match(find('migration.cloud_init').message, /VMware, OVF, None/);
  assert.match(find('migration.hypervisor_tools').message, /open-vm-tools/);
  assert.equal(status(g, 'migration.virtio_network'), 'pass', 'virtio_net is a module on the root filesystem');
});

test('migration: the Debian cloud guest boots on KVM as it is (virtio in its initramfs, UUIDs, no MAC binding)', async () => {
  const g = await migration(join(out, 'inspect', 'debian.qcow2'), 'kvm');
  const m = g.migration!;
  assert.equal(m.bootable, true);
  assert.deepEqual(m.blockers, []);
  for (const id of ['migration.virtio_storage', 'migration.fstab_device_names', 'migration.bootloader_root', 'migration.network_mac', 'migration.network_vmware_names', 'migration.hypervisor_tools', 'migration.guest_agent', 'migration.cloud_init']) {
    assert.equal(status(g, id), 'pass', id);
  }
  assert.equal(m.score, 100);
  // the same guest for OpenStack: no cloud-init is a warning, not a blocker
  const o = (await migration(join(out, 'inspect', 'debian.qcow2'), 'openstack')).migration!;
  assert.deepEqual([o.bootable, o.warnings], [true, ['migration.cloud_init']]);
});

test('migration: Windows guests: virtio storage as a boot driver, BitLocker, a pending reboot', async () => {
  const win11 = (await migration(join(out, 'windows', 'win11.vmdk'), 'kvm')).migration!;
  assert.equal(win11.bootable, true);
  assert.deepEqual(win11.warnings, ['migration.pending_reboot']);
  const locked = await migration(join(out, 'windows', 'bitlocker.qcow2'), 'kubevirt');
  assert.equal(locked.migration!.bootable, false);
  assert.ok(locked.migration!.blockers.includes('migration.bitlocker'));
  assert.ok(locked.migration!.blockers.includes('migration.virtio_storage'));
  const server = (await migration(join(out, 'windows', 'server2019.qcow2'), 'openstack')).migration!;
  assert.deepEqual(server.blockers, ['migration.virtio_storage']);
  assert.equal(server.changes[0]!.fixes, 'migration.virtio_storage');
});
