import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { diskName, enumerateVolumes, mapperName } from '../../src/volume/enumerate.js';
import { PatchedDevice, expectedProbe, fix, openRaw, pickProbe, readBlkid, readJson } from './helpers.js';

async function withDisks<T>(files: string[][], fn: (disks: BlockDevice[]) => Promise<T>): Promise<T> {
  const disks = await Promise.all(files.map((f) => openRaw(...f)));
  try {
    return await fn(disks);
  } finally {
    await Promise.all(disks.map((d) => d.close()));
  }
}

test('enumerate: disk names sda…sdz, sdaa; mapper names double "-"', () => {
  assert.deepEqual([0, 1, 25, 26, 27, 701, 702].map(diskName), ['/dev/sda', '/dev/sdb', '/dev/sdz', '/dev/sdaa', '/dev/sdab', '/dev/sdzz', '/dev/sdaaa']);
  assert.equal(mapperName('guest-vg', 'lin-ear'), '/dev/mapper/guest--vg-lin--ear');
  assert.equal(mapperName('vg', 'root'), '/dev/mapper/vg-root');
});

test('enumerate: GPT disk with a PV partition + whole-disk PV → disks, partitions and /dev/VG/LV with /dev/mapper aliases', async () => {
  await withDisks([['lvm', 'disk1.img'], ['lvm', 'disk2.img']], async (disks) => {
    const r = await enumerateVolumes(disks);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(
      r.devices.map((d) => [d.device, d.kind]),
      [
        ['/dev/sda', 'disk'],
        ['/dev/sda1', 'partition'],
        ['/dev/sda2', 'partition'],
        ['/dev/sdb', 'disk'],
        ['/dev/guest-vg/lin-ear', 'lv'],
        ['/dev/guest-vg/striped', 'lv'],
        ['/dev/guest-vg/split', 'lv'],
        ['/dev/guest-vg/gap', 'lv'],
        ['/dev/guest-vg/onb', 'lv'],
      ],
    );
    const by = (n: string) => r.devices.find((d) => d.device === n)!;
    assert.deepEqual(by('/dev/guest-vg/lin-ear').aliases, ['/dev/mapper/guest--vg-lin--ear']);
    assert.equal(by('/dev/sda').table?.scheme, 'gpt');
    assert.deepEqual(pickProbe(by('/dev/sda1').probe), expectedProbe(readBlkid('lvm', 'boot.blkid')));
    assert.deepEqual(pickProbe(by('/dev/sda2').probe), expectedProbe(readBlkid('lvm', 'pvA.blkid')));
    assert.deepEqual(pickProbe(by('/dev/sdb').probe), expectedProbe(readBlkid('lvm', 'disk2.blkid')));
    assert.equal(by('/dev/sda2').partition?.type_name, 'Linux LVM');
    assert.equal(by('/dev/sda2').partition?.name, 'pv');
    const sums = Object.fromEntries(
      readFileSync(fix('lvm', 'fs.sha256'), 'utf8').trim().split('\n').map((l) => l.split(/\s+/).reverse()),
    );
    for (const lv of ['lin-ear', 'striped', 'split', 'onb']) {
      const e = by(`/dev/guest-vg/${lv}`);
      assert.equal(e.probe?.type, 'ext4');
      assert.equal(e.probe?.label, lv);
      assert.equal(e.lv?.vg, 'guest-vg');
      const data = await e.dev.read(0, e.size);
      assert.equal(createHash('sha256').update(data).digest('hex'), sums[`${lv}.fs`]);
    }
    assert.equal(by('/dev/guest-vg/gap').probe, null);
  });
});

test('enumerate: a missing PV disk → LVs listed as incomplete with an error, warnings, the rest intact', async () => {
  await withDisks([['lvm', 'disk1.img']], async (disks) => {
    const r = await enumerateVolumes(disks);
    const lvs = r.devices.filter((d) => d.kind === 'lv');
    assert.equal(lvs.length, 5);
    const onb = lvs.find((d) => d.device === '/dev/guest-vg/onb')!;
    assert.equal(onb.lv?.incomplete, true);
    assert.equal(onb.error?.code, 'IMAGE_NOT_FOUND');
    assert.equal(onb.probe, null);
    assert.equal(lvs.find((d) => d.device === '/dev/guest-vg/lin-ear')!.probe?.type, 'ext4');
    assert.ok(r.warnings.some((w) => /missing/.test(w)));
  });
});

test('enumerate: MBR disk with logicals, a GPT disk, a bare filesystem disk; numbering and probes', async () => {
  await withDisks([['mbr', 'disk.img'], ['gpt', 'disk.img'], ['probe', 'xfs.img']], async (disks) => {
    const r = await enumerateVolumes(disks);
    assert.deepEqual(r.warnings, []);
    const names = r.devices.map((d) => d.device);
    assert.deepEqual(names.slice(0, 8), ['/dev/sda', '/dev/sda1', '/dev/sda2', '/dev/sda3', '/dev/sda4', '/dev/sda5', '/dev/sda6', '/dev/sda7']);
    assert.equal(names.filter((n) => n.startsWith('/dev/sdb')).length, 11);
    const sda = r.devices[0]!;
    assert.equal(sda.table?.scheme, 'mbr');
    assert.equal(sda.probe?.pttype, 'dos');
    const sda4 = r.devices[4]!;
    assert.equal(sda4.partition?.extended, true);
    assert.equal(sda4.probe, null);
    for (const n of [1, 2, 3, 5, 6, 7]) {
      const e = r.devices.find((d) => d.device === `/dev/sda${n}`)!;
      assert.deepEqual(pickProbe(e.probe), expectedProbe(readBlkid('mbr', `p${n}.blkid`)));
      assert.equal(e.partition?.scheme, 'mbr');
    }
    const sdb3 = r.devices.find((d) => d.device === '/dev/sdb3')!;
    assert.equal(sdb3.partition?.type_guid, '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709');
    assert.equal(sdb3.partition?.partuuid, '0F0E0D0C-0B0A-4908-8706-050403020100');
    assert.equal(sdb3.partition?.bootable, true);
    const sdc = r.devices.find((d) => d.device === '/dev/sdc')!;
    assert.equal(sdc.kind, 'disk');
    assert.equal(sdc.table, undefined);
    assert.deepEqual(pickProbe(sdc.probe), expectedProbe(readBlkid('probe', 'xfs.blkid')));
    assert.equal(r.devices[r.devices.length - 1], sdc);
    const sf = readJson<{ partitiontable: { partitions: { size: number }[] } }>('mbr', 'sfdisk.json').partitiontable;
    assert.deepEqual(r.devices.slice(1, 8).map((d) => d.size), sf.partitions.map((p) => p.size * 512));
  });
});

test('enumerate: a disk whose GPT is destroyed is listed with a warning and does not hide the others', async () => {
  await withDisks([['gpt', 'noheaders.img'], ['mbr', 'disk.img'], ['gpt', 'noprimary.img']], async (disks) => {
    const r = await enumerateVolumes(disks);
    assert.equal(r.devices[0]!.device, '/dev/sda');
    assert.equal(r.devices[0]!.table, undefined);
    assert.equal(r.devices.filter((d) => d.device.startsWith('/dev/sda')).length, 1);
    assert.equal(r.devices.filter((d) => d.device.startsWith('/dev/sdb')).length, 8);
    assert.equal(r.devices.filter((d) => d.device.startsWith('/dev/sdc')).length, 11);
    assert.equal(r.warnings.length, 2, r.warnings.join('\n'));
    assert.match(r.warnings[0]!, /^\/dev\/sda: partition table unreadable/);
    assert.match(r.warnings[1]!, /^\/dev\/sdc: primary GPT is damaged/);
    assert.equal(r.devices.find((d) => d.device === '/dev/sdc')!.table?.usedBackup, true);
  });
});

test('enumerate: a truncated disk image gives warnings and typed errors, not a crash', async () => {
  await withDisks([['mbr', 'disk.img']], async ([d]) => {
    // Cut the disk inside the extended partition: later EBRs and partitions fall off the end.
    const short = new PatchedDevice(d!).truncate(40000 * 512);
    const r = await enumerateVolumes([short]);
    assert.deepEqual(r.devices.map((x) => x.device), ['/dev/sda', '/dev/sda1', '/dev/sda2', '/dev/sda3', '/dev/sda4', '/dev/sda5']);
    assert.ok(r.warnings.some((w) => /truncated/.test(w)));
    assert.ok(r.warnings.some((w) => /EBR at sector \d+ lies past the end/.test(w)));
  });
});
