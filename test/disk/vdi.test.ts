import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vdiFormat } from '../../src/disk/vdi/image.js';
import { assertCode, assertRandomReads, assertWholeDisk, openWith, patch, readAt, scratchCopy, truncateTo, fsd } from './helpers.js';

const MiB = 1 << 20;

for (const [name, type] of [
  ['static.vdi', 'static'],
  ['dynamic.vdi', 'dynamic'],
] as const) {
  test(`vdi ${type}: whole disk and random reads equal the reference; info`, async () => {
    const dev = await openWith(vdiFormat, name);
    try {
      assert.equal(dev.size, 64 * MiB);
      const info = dev.info();
      assert.equal(info.format, 'vdi');
      assert.equal(fsd(info)['image_type'], type);
      assert.equal(info.cluster_size, MiB);
      assert.equal(fsd(info)['version'], '1.1');
      await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
      await assertRandomReads(dev, 'ref.raw');
    } finally {
      await dev.close();
    }
  });
}

test('vdi block map entry past end of file is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('dynamic.vdi');
  try {
    const bmapAt = (await readAt(s.path, 0x154, 4)).readUInt32LE(0);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(0x00ffff00);
    await patch(s.path, bmapAt + 4 * 2, b);
    await assertCode(() => openWith(vdiFormat, s.path), 'CORRUPT_IMAGE', /block map entry 2 .*past end of file/);
  } finally {
    await s.cleanup();
  }
});

test('vdi truncated or with a wrong version gives typed errors', async () => {
  const s = await scratchCopy('static.vdi');
  try {
    await patch(s.path, 0x44, Buffer.from([0x00, 0x00, 0x02, 0x00]));
    await assertCode(() => openWith(vdiFormat, s.path), 'UNSUPPORTED_FORMAT', /version/);
    await patch(s.path, 0x44, Buffer.from([0x01, 0x00, 0x01, 0x00]));
    await truncateTo(s.path, 30 * MiB);
    await assertCode(() => openWith(vdiFormat, s.path), 'CORRUPT_IMAGE', /past end of file/);
    await truncateTo(s.path, 300);
    await assertCode(() => openWith(vdiFormat, s.path), 'CORRUPT_IMAGE', /truncated/);
  } finally {
    await s.cleanup();
  }
});
