import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vhdFormat } from '../../src/disk/vhd/image.js';
import { assertCode, assertRandomReads, assertWholeDisk, openWith, patch, readAt, scratchCopy, truncateTo, formatFixture, fsd } from './helpers.js';

const MiB = 1 << 20;

for (const [name, type] of [
  ['fixed.vhd', 'fixed'],
  ['dynamic.vhd', 'dynamic'],
] as const) {
  test(`vhd ${type}: whole disk and random reads equal the reference`, async () => {
    const dev = await openWith(vhdFormat, name);
    try {
      assert.equal(dev.size, 64 * MiB);
      assert.equal(fsd(dev.info())['disk_type'], type);
      await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
      await assertRandomReads(dev, 'ref.raw');
    } finally {
      await dev.close();
    }
  });
}

test('vhd without force_size: the CHS-rounded footer size is the virtual size, the tail reads zero', async () => {
  const dev = await openWith(vhdFormat, 'chs.vhd');
  try {
    assert.equal(dev.size, 67125248); // what qemu-img info reports
    await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
  } finally {
    await dev.close();
  }
});

test('vhd info: type, block size, creator, geometry', async () => {
  const dev = await openWith(vhdFormat, 'dynamic.vhd');
  try {
    const info = dev.info();
    assert.equal(info.format, 'vhd');
    assert.equal(info.virtual_size, 64 * MiB);
    assert.equal(info.cluster_size, 2 * MiB);
    assert.equal(fsd(info)['creator_app'], 'qem2');
    assert.equal(fsd(info)['block_size'], 2 * MiB);
    assert.match(String(fsd(info)['unique_id']), /^[0-9a-f-]{36}$/);
  } finally {
    await dev.close();
  }
});

test('vhd probe accepts both kinds and rejects a raw file', async () => {
  for (const n of ['fixed.vhd', 'dynamic.vhd']) {
    const size = (await import('node:fs')).statSync(formatFixture(n)).size;
    assert.ok(vhdFormat.probe(await readAt(formatFixture(n), 0, 65536), await readAt(formatFixture(n), size - 512, 512), size), n);
  }
  assert.ok(!vhdFormat.probe(await readAt(formatFixture('ref.raw'), 0, 65536), await readAt(formatFixture('ref.raw'), 64 * MiB - 512, 512), 64 * MiB));
});

test('vhd fixed with a bad footer checksum is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('fixed.vhd');
  try {
    await patch(s.path, 64 * MiB + 28, Buffer.from('evil'));
    await assertCode(() => openWith(vhdFormat, s.path), 'CORRUPT_IMAGE', /checksum mismatch/);
  } finally {
    await s.cleanup();
  }
});

test('vhd dynamic with a damaged end footer falls back to the copy at 0 (with a warning); both damaged is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('dynamic.vhd');
  try {
    const size = (await import('node:fs')).statSync(s.path).size;
    await patch(s.path, size - 512 + 28, Buffer.from('evil'));
    const dev = await openWith(vhdFormat, s.path);
    assert.match(String(fsd(dev.info())['warnings']), /damaged/);
    await assertRandomReads(dev, 'ref.raw', 20);
    await dev.close();
    await patch(s.path, 28, Buffer.from('evil'));
    await assertCode(() => openWith(vhdFormat, s.path), 'CORRUPT_IMAGE', /checksum mismatch/);
  } finally {
    await s.cleanup();
  }
});

test('vhd dynamic with a BAT entry past end of file is CORRUPT_IMAGE naming the entry', async () => {
  const s = await scratchCopy('dynamic.vhd');
  try {
    const hdr = await readAt(s.path, 512, 1024);
    const bat = Number(hdr.readBigUInt64BE(16));
    await patch(s.path, bat + 4 * 3, Buffer.from([0x00, 0x7f, 0xff, 0x00]));
    await assertCode(() => openWith(vhdFormat, s.path), 'CORRUPT_IMAGE', /BAT entry 3 .*past end of file/);
  } finally {
    await s.cleanup();
  }
});

test('vhd truncated (fixed and dynamic) is CORRUPT_IMAGE', async () => {
  for (const n of ['fixed.vhd', 'dynamic.vhd']) {
    const s = await scratchCopy(n);
    try {
      await truncateTo(s.path, 20 * MiB + 4096);
      await assertCode(() => openWith(vhdFormat, s.path), 'CORRUPT_IMAGE');
      await truncateTo(s.path, 100);
      await assertCode(() => openWith(vhdFormat, s.path), 'CORRUPT_IMAGE', /truncated/);
    } finally {
      await s.cleanup();
    }
  }
});

test('vhd differencing (qemu dynamic VHD re-labelled, see vhd-diff.py): parent via W2ru, sector bitmap decides per sector', async () => {
  const dev = await openWith(vhdFormat, 'diff.vhd');
  try {
    const info = dev.info();
    assert.equal(fsd(info)['disk_type'], 'differencing');
    assert.equal(fsd(info)['parent_name'], 'dynamic.vhd');
    assert.equal(info.backing_filename, '.\\dynamic.vhd'); // the W2ru locator, as stored
    assert.equal((info as { full_backing_filename?: string }).full_backing_filename, formatFixture('dynamic.vhd'));
    assert.equal(info.backing_format, 'vhd');
    assert.equal(fsd(info)['warnings'], undefined, 'parent unique id matches');
    // block 5 (10 MiB): sectors 100..299 have clear bitmap bits -> parent; 300.. -> child
    const at = 10 * MiB;
    assert.ok((await dev.read(at + 100 * 512, 200 * 512)).equals(await readAt(formatFixture('ref.raw'), at + 100 * 512, 200 * 512)));
    assert.ok((await dev.read(at + 300 * 512, 512)).equals(await readAt(formatFixture('diff-content.raw'), at + 300 * 512, 512)));
    assert.ok((await dev.read(2 * MiB, 2 * MiB)).equals(await readAt(formatFixture('diff-content.raw'), 2 * MiB, 2 * MiB)));
    await assertWholeDisk(dev, 'diff-expected.raw');
    await assertRandomReads(dev, 'diff-expected.raw', 200, 13);
  } finally {
    await dev.close();
  }
});

test('vhd differencing: a parent that changed identity is a warning; a missing parent is IMAGE_NOT_FOUND', async () => {
  const s = await scratchCopy('diff.vhd');
  try {
    await assertCode(() => openWith(vhdFormat, s.path), 'IMAGE_NOT_FOUND');
    const { copyFile } = await import('node:fs/promises');
    const parent = s.dir + '/dynamic.vhd';
    await copyFile(formatFixture('fixed.vhd'), parent); // same data, another unique id
    const dev = await openWith(vhdFormat, s.path);
    assert.match(String(fsd(dev.info())['warnings']), /unique id/);
    await assertRandomReads(dev, 'diff-expected.raw', 20, 4);
    await dev.close();
  } finally {
    await s.cleanup();
  }
});

test('vhd dynamic: sectors whose bitmap bit is clear read as zeros', async () => {
  const s = await scratchCopy('dynamic.vhd');
  try {
    const hdr = await readAt(s.path, 512, 1024);
    const bat = Number(hdr.readBigUInt64BE(16));
    const block0 = (await readAt(s.path, bat, 4)).readUInt32BE(0);
    assert.notEqual(block0, 0xffffffff, 'fixture: block 0 allocated');
    await patch(s.path, block0 * 512 + 1, Buffer.from([0x00, 0x0f])); // sectors 8..19 clear
    const dev = await openWith(vhdFormat, s.path);
    try {
      const got = await dev.read(0, 24 * 512);
      const ref = await readAt(formatFixture('ref.raw'), 0, 24 * 512);
      assert.ok(got.subarray(0, 8 * 512).equals(ref.subarray(0, 8 * 512)));
      assert.ok(got.subarray(8 * 512, 20 * 512).equals(Buffer.alloc(12 * 512)));
      assert.ok(got.subarray(20 * 512).equals(ref.subarray(20 * 512)));
    } finally {
      await dev.close();
    }
  } finally {
    await s.cleanup();
  }
});
