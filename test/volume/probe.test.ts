import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import { newReadStats } from '../../src/disk/types.js';
import { probe } from '../../src/volume/probe.js';
import { expectedProbe, fix, openRaw, pickProbe, readBlkid } from './helpers.js';

const TYPES = [
  'ext2', 'ext3', 'ext4', 'fat12', 'fat16', 'fat32', 'fatnolabel', 'exfat', 'xfs', 'btrfs', 'ntfs',
  'swap', 'luks1', 'luks2', 'lvm2pv', 'iso9660',
];

for (const name of TYPES) {
  test(`probe ${name}: type, uuid, label, version and usage equal blkid -p`, async () => {
    const dev = await openRaw('probe', `${name}.img`);
    try {
      const b = readBlkid('probe', `${name}.blkid`);
      assert.ok(b['TYPE'], 'blkid recognised the fixture');
      const got = await probe(dev);
      assert.deepEqual(pickProbe(got), expectedProbe(b));
      if (b['BLOCK_SIZE'] && got?.block_size) assert.equal(got.block_size, Number(b['BLOCK_SIZE']));
      if (b['UUID_SUB']) assert.equal(got?.uuid_sub, b['UUID_SUB']);
    } finally {
      await dev.close();
    }
  });
}

test('probe: ext2/ext3/ext4 are told apart by features', async () => {
  const types = [];
  for (const n of ['ext2', 'ext3', 'ext4']) {
    const dev = await openRaw('probe', `${n}.img`);
    types.push((await probe(dev))?.type);
    await dev.close();
  }
  assert.deepEqual(types, ['ext2', 'ext3', 'ext4']);
});

test('probe: FAT versions and the XXXX-XXXX volume id form', async () => {
  for (const [n, v] of [['fat12', 'FAT12'], ['fat16', 'FAT16'], ['fat32', 'FAT32']] as const) {
    const dev = await openRaw('probe', `${n}.img`);
    const r = await probe(dev);
    await dev.close();
    assert.equal(r?.version, v);
    assert.match(r?.uuid ?? '', /^[0-9A-F]{4}-[0-9A-F]{4}$/);
  }
});

test('probe: NTFS uuid is the 16-hex-digit volume serial', async () => {
  const dev = await openRaw('probe', 'ntfs.img');
  const r = await probe(dev);
  await dev.close();
  assert.match(r?.uuid ?? '', /^[0-9A-F]{16}$/);
});

test('probe: a blank device is nothing (blkid agrees)', async () => {
  const dev = await openRaw('probe', 'zeros.img');
  assert.deepEqual(readBlkid('probe', 'zeros.blkid'), {});
  assert.equal(await probe(dev), null);
  await dev.close();
});

test('probe: reads only a few KiB', async () => {
  for (const n of ['ext4', 'xfs', 'btrfs', 'ntfs', 'fat32', 'iso9660']) {
    const stats = newReadStats();
    const dev = await RawDevice.open(fix('probe', `${n}.img`), stats);
    await probe(dev);
    await dev.close();
    assert.ok(stats.bytesRead <= 128 * 1024, `${n}: read ${stats.bytesRead} bytes`);
    assert.ok(stats.reads <= 8, `${n}: ${stats.reads} reads`);
  }
});
