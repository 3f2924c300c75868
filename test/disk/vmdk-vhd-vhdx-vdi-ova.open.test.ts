import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFile } from '../../src/disk/detect.js';
import { imageInfo } from '../../src/disk/info.js';
import { openImage } from '../../src/disk/open.js';
import { newReadStats } from '../../src/disk/types.js';
import { assertCode, assertRandomReads, formatFixture } from './helpers.js';

const MiB = 1 << 20;

test('registry: openImage detects each format of part B by its magic and reads it', async () => {
  const cases: [string, string, number][] = [
    ['sparse.vmdk', 'vmdk', 64 * MiB],
    ['stream-footer.vmdk', 'vmdk', 64 * MiB],
    ['flat.vmdk', 'vmdk', 64 * MiB],
    ['split-sparse/disk.vmdk', 'vmdk', 2112 * MiB],
    ['fixed.vhd', 'vhd', 64 * MiB],
    ['dynamic.vhd', 'vhd', 64 * MiB],
    ['dynamic.vhdx', 'vhdx', 64 * MiB],
    ['fixed.vhdx', 'vhdx', 64 * MiB],
    ['static.vdi', 'vdi', 64 * MiB],
    ['dynamic.vdi', 'vdi', 64 * MiB],
    ['appliance.ova', 'ova', 64 * MiB],
  ];
  for (const [name, format, size] of cases) {
    assert.equal(await detectFile(formatFixture(name)), format, name);
    const stats = newReadStats();
    const dev = await openImage(formatFixture(name), { stats });
    try {
      assert.equal(dev.format, format, name);
      assert.equal(dev.size, size, name);
      assert.equal(dev.info().format, format);
      await assertRandomReads(dev, size > 64 * MiB ? 'big.raw' : 'ref.raw', 10, 1);
      assert.ok(stats.bytesRead > 0 && stats.reads > 0, `${name}: reads are counted`);
    } finally {
      await dev.close();
    }
  }
});

test('registry: a VMDK child opens its parent through the core chain; imageInfo lists the chain', async () => {
  const dev = await openImage(formatFixture('child.vmdk'));
  try {
    assert.equal(dev.backing?.format, 'vmdk');
    const info = imageInfo(dev);
    assert.deepEqual(info.backing_chain?.map((i) => i.filename), [formatFixture('child.vmdk'), formatFixture('sparse.vmdk')]);
    await assertRandomReads(dev, 'child.raw', 50, 2);
  } finally {
    await dev.close();
  }
  const alone = await openImage(formatFixture('child.vmdk'), { backing: false });
  assert.equal(alone.backing, undefined);
  await alone.close();
});

test('registry: a stated format that disagrees with the magic is UNSUPPORTED_FORMAT', async () => {
  await assertCode(() => openImage(formatFixture('dynamic.vhdx'), { format: 'vhd' }), 'UNSUPPORTED_FORMAT');
  await assertCode(() => openImage(formatFixture('static.vdi'), { format: 'vmdk' }), 'UNSUPPORTED_FORMAT');
  const dev = await openImage(formatFixture('stream.vmdk'), { format: 'vmdk' });
  await dev.close();
});
