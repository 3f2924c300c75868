import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from '../../src/inspect/index.js';
import { expectsDevice, parseFstab } from '../../src/inspect/linux/fstab.js';
import { fixture } from '../helpers/fixtures.js';

test('fstab: an entry no disk holds is a warning unless the guest treats it as optional, remote or not a device', () => {
  const entries = parseFstab(
    [
      '/dev/mapper/rl-root / xfs defaults 0 0',
      'UUID=0000-0000 /boot/efi vfat umask=0077 0 2',
      'LABEL=data /data ext4 defaults 0 2',
      '/dev/vdb1 none swap sw 0 0',
      'LABEL=extra /srv/extra ext4 defaults,nofail 0 2',
      'LABEL=usb /media/usb vfat noauto 0 0',
      '/dev/sdc1 /srv/iscsi ext4 _netdev 0 0',
      'filer:/export/home /home nfs4 defaults 0 0',
      '//nas/share /mnt/share cifs credentials=/etc/cifs 0 0',
      'filer:/srv /srv/auto auto defaults 0 0',
      'user@host:/ /mnt/ssh fuse.sshfs defaults 0 0',
      'hostshare /mnt/host virtiofs defaults 0 0',
      '/dev/sr0 /media/cdrom iso9660 ro 0 0',
      '/dev/zram0 none swap defaults 0 0',
      '/swapfile none swap sw 0 0',
    ].join('\n'),
  );
  assert.deepEqual(
    entries.filter(expectsDevice).map((e) => e.spec),
    ['/dev/mapper/rl-root', 'UUID=0000-0000', 'LABEL=data', '/dev/vdb1'],
  );
});

test('fstab: the RPM guest names a root LV and an ESP that are on no disk; both are warnings, in the summary too', async () => {
  const r = await inspect({ disks: [fixture('inspect', 'rpm-guest.qcow2')] });
  const os = r.operating_systems[0]!;
  assert.equal(os.root, '/dev/sda1');
  assert.deepEqual(os.warnings, [
    'fstab: /dev/mapper/rl-root (for /) not found on the given disks; the root inspected is /dev/sda1',
    'fstab: UUID=0000-0000 (for /boot/efi) not found on the given disks',
  ]);
  assert.deepEqual(
    os.fstab?.map((e) => [e.spec, e.device]),
    [
      ['/dev/mapper/rl-root', undefined],
      ['UUID=0000-0000', undefined],
    ],
  );
});
