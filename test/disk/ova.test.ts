import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { OvaDevice, openOvaDisk, ovaFormat } from '../../src/disk/ova/image.js';
import { vmdkFormat } from '../../src/disk/vmdk/image.js';
import { assertCode, assertRandomReads, assertWholeDisk, fsd, formatFixture, makeCtx, openWith, patch, readAt, scratchCopy, truncateTo } from './helpers.js';

const MiB = 1 << 20;

test('ova: the device is the first disk in DiskSection order, read in place; info lists both disks', async () => {
  const ctx = makeCtx();
  const dev = await ovaFormat.open(formatFixture('appliance.ova'), ctx);
  try {
    assert.equal(dev.format, 'ova');
    assert.equal(dev.size, 64 * MiB);
    const info = dev.info();
    assert.equal(info.format, 'ova');
    assert.equal(info.virtual_size, 64 * MiB);
    const data = fsd(info);
    assert.equal(data['ovf'], 'appliance.ovf');
    const disks = data['disks'] as { disk_id: string; file: string; format: string; virtual_size: number; capacity: number }[];
    // References list disk2 first; DiskSection order (vmdisk1, vmdisk2) decides
    assert.deepEqual(disks.map((d) => [d.disk_id, d.file, d.format, d.virtual_size, d.capacity]), [
      ['vmdisk1', 'appliance-disk1.vmdk', 'vmdk', 64 * MiB, 64 * MiB],
      ['vmdisk2', 'appliance-disk2.vmdk', 'vmdk', 8 * MiB, 8 * MiB],
    ]);
    assert.equal(info.children?.length, 2);
    assert.equal(info.children?.[0]?.format, 'vmdk');
    assert.equal(fsd(info.children![0]!)['create_type'], 'streamOptimized');
    // opening reads headers, the OVF and the disks' metadata, not the disks
    assert.ok(ctx.stats.bytesRead < 256 * 1024, `open read ${ctx.stats.bytesRead} bytes`);
    await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
    await assertRandomReads(dev, 'ref.raw');
  } finally {
    await dev.close();
  }
});

test('ova: openOvaDisk exposes the N-th disk', async () => {
  const dev = await openOvaDisk(formatFixture('appliance.ova'), 1, makeCtx());
  try {
    assert.equal(dev.size, 8 * MiB);
    assert.equal(fsd(dev.info())['disk'], 1);
    assert.equal(dev.diskCount, 2);
    assert.equal(dev.disk(0).size, 64 * MiB);
    await assertWholeDisk(dev, 'ref.raw', 'second.sha256', 8 * MiB);
    await assertRandomReads(dev.disk(0), 'ref.raw', 50, 5);
  } finally {
    await dev.close();
  }
  await assertCode(() => openOvaDisk(formatFixture('appliance.ova'), 2, makeCtx()), 'NOT_FOUND', /has 2 disks/);
});

for (const name of ['longnames.ova', 'pax.ova']) {
  test(`ova: ${name} (GNU long names / pax headers) finds the disk under its long path`, async () => {
    const dev = (await ovaFormat.open(formatFixture(name), makeCtx())) as OvaDevice;
    try {
      const disks = fsd(dev.info())['disks'] as { file: string }[];
      assert.match(disks[0]!.file, /^d{120}\/appliance-disk1\.vmdk$/);
      assert.equal(dev.size, 64 * MiB);
      await assertRandomReads(dev, 'ref.raw', 100, 9);
      assert.equal(dev.disk(1).size, 8 * MiB);
    } finally {
      await dev.close();
    }
  });
}

test('ova probe: OVAs yes (ustar, GNU, pax), a VMDK or raw no; a VMDK probe does not take an OVA', async () => {
  for (const n of ['appliance.ova', 'longnames.ova', 'pax.ova']) {
    const head = await readAt(formatFixture(n), 0, 65536);
    assert.ok(ovaFormat.probe(head, Buffer.alloc(512), statSync(formatFixture(n)).size), n);
    assert.ok(!vmdkFormat.probe(head, Buffer.alloc(512), 0), n);
  }
  assert.ok(!ovaFormat.probe(await readAt(formatFixture('stream.vmdk'), 0, 65536), Buffer.alloc(512), 0));
  assert.ok(!ovaFormat.probe(await readAt(formatFixture('ref.raw'), 0, 65536), Buffer.alloc(512), 0));
});

test('ova: truncated archive, damaged tar header, OVF naming a missing member give typed errors', async () => {
  const s = await scratchCopy('appliance.ova');
  try {
    const ovf = (await readAt(s.path, 512, 1024)).toString('latin1');
    const at = 512 + ovf.indexOf('appliance-disk1.vmdk"');
    await patch(s.path, at, Buffer.from('appliance-diskX.vmdk'));
    await assertCode(() => openWith(ovaFormat, s.path), 'CORRUPT_IMAGE', /not in the archive/);
    await patch(s.path, at, Buffer.from('appliance-disk1.vmdk'));
    await patch(s.path, 124, Buffer.from('7777')); // size field of the first header: checksum no longer matches
    await assertCode(() => openWith(ovaFormat, s.path), 'CORRUPT_IMAGE', /checksum mismatch/);
  } finally {
    await s.cleanup();
  }
  const t = await scratchCopy('appliance.ova');
  try {
    await truncateTo(t.path, 10 * MiB);
    await assertCode(() => openWith(ovaFormat, t.path), 'CORRUPT_IMAGE', /truncated/);
  } finally {
    await t.cleanup();
  }
});

test('ova with a VHD and a raw disk (ovf: prefixed elements, a blank disk without file): both read in place', async () => {
  const dev = (await ovaFormat.open(formatFixture('mixed.ova'), makeCtx())) as OvaDevice;
  try {
    const disks = fsd(dev.info())['disks'] as { disk_id: string; format: string; virtual_size: number }[];
    assert.deepEqual(disks.map((d) => [d.disk_id, d.format, d.virtual_size]), [
      ['system', 'vhd', 64 * MiB],
      ['data', 'raw', 8 * MiB],
    ]);
    assert.equal(dev.diskCount, 2);
    await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
    await assertWholeDisk(dev.disk(1), 'ref.raw', 'second.sha256', 8 * MiB);
  } finally {
    await dev.close();
  }
});
