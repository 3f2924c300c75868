import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { vhdxFormat } from '../../src/disk/vhdx/image.js';
import { assertCode, assertRandomReads, assertWholeDisk, formatFixture, makeCtx, openWith, patch, readAt, scratchCopy, truncateTo, fsd } from './helpers.js';

const MiB = 1 << 20;

for (const [name, type, blockSize] of [
  ['dynamic.vhdx', 'dynamic', 8 * MiB],
  ['small-block.vhdx', 'dynamic', MiB],
  ['fixed.vhdx', 'fixed', 8 * MiB],
] as const) {
  test(`vhdx ${type} (${name}): whole disk and random reads equal the reference; info`, async () => {
    const dev = await openWith(vhdxFormat, name);
    try {
      assert.equal(dev.size, 64 * MiB);
      const info = dev.info();
      assert.equal(info.format, 'vhdx');
      assert.equal(info.cluster_size, blockSize);
      const fs = fsd(info);
      assert.equal(fs['disk_type'], type);
      assert.equal(fs['block_size'], blockSize);
      assert.equal(fs['logical_sector_size'], 512);
      assert.equal(fs['has_parent'], false);
      assert.equal(fs['chunk_ratio'], (2 ** 23 * 512) / blockSize);
      assert.equal(fs['warnings'], undefined);
      await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
      await assertRandomReads(dev, 'ref.raw');
    } finally {
      await dev.close();
    }
  });
}

/** The current header (higher sequence number) of a VHDX file. */
async function currentHeader(path: string): Promise<number> {
  const a = (await readAt(path, 64 * 1024 + 8, 8)).readBigUInt64LE(0);
  const b = (await readAt(path, 128 * 1024 + 8, 8)).readBigUInt64LE(0);
  return b > a ? 128 * 1024 : 64 * 1024;
}

test('vhdx with one broken header uses the other (warning); both broken is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('dynamic.vhdx');
  try {
    const cur = await currentHeader(s.path);
    await patch(s.path, cur + 100, Buffer.from([0xde, 0xad]));
    const dev = await openWith(vhdxFormat, s.path);
    assert.match(String(fsd(dev.info())['warnings']), /header \d is invalid/);
    await assertRandomReads(dev, 'ref.raw', 20);
    await dev.close();
    const other = cur === 64 * 1024 ? 128 * 1024 : 64 * 1024;
    await patch(s.path, other + 100, Buffer.from([0xde, 0xad]));
    await assertCode(() => openWith(vhdxFormat, s.path), 'CORRUPT_IMAGE', /both VHDX headers are invalid.*CRC-32C mismatch/);
  } finally {
    await s.cleanup();
  }
});

test('vhdx with region table 1 broken uses table 2 (warning); both broken is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('dynamic.vhdx');
  try {
    await patch(s.path, 192 * 1024 + 16 + 24, Buffer.from([0xff])); // BAT length in table 1
    const dev = await openWith(vhdxFormat, s.path);
    assert.match(String(fsd(dev.info())['warnings']), /region table 1 is invalid.*CRC-32C/);
    await assertRandomReads(dev, 'ref.raw', 20);
    await dev.close();
    await patch(s.path, 256 * 1024 + 16 + 24, Buffer.from([0xff]));
    await assertCode(() => openWith(vhdxFormat, s.path), 'CORRUPT_IMAGE', /both VHDX region tables are invalid/);
  } finally {
    await s.cleanup();
  }
});

test('vhdx BAT entry past end of file is CORRUPT_IMAGE naming the entry', async () => {
  const s = await scratchCopy('small-block.vhdx');
  try {
    // the BAT region entry is the first of the region table at 192 KiB (qemu writes BAT first)
    const rt = await readAt(s.path, 192 * 1024, 64 * 1024);
    let batAt = -1;
    for (let i = 0; i < rt.readUInt32LE(8); i++) {
      if (rt.subarray(16 + i * 32, 20 + i * 32).toString('hex') === '6677c22d') batAt = Number(rt.readBigUInt64LE(16 + i * 32 + 16));
    }
    assert.ok(batAt > 0, 'fixture: BAT region found');
    const e = Buffer.alloc(8);
    e.writeBigUInt64LE((4000n << 20n) | 6n); // FULLY_PRESENT at 4000 MiB
    await patch(s.path, batAt + 8 * 2, e);
    const dev = await openWith(vhdxFormat, s.path);
    await assertCode(() => dev.read(2 * MiB + 5, 100), 'CORRUPT_IMAGE', /BAT entry 2 \(block 2\) points to .* outside the file/);
    await dev.close();
  } finally {
    await s.cleanup();
  }
});

test('vhdx with an unreplayed log (qemu-written entries, crash) is replayed in memory and matches qemu-img check -r all', async () => {
  // the file's own BAT sector was zeroed: without the replay every block would read as zeros
  assert.ok((await readAt(formatFixture('log.vhdx'), 2 * MiB, 4096)).equals(Buffer.alloc(4096)), 'fixture: BAT sector only in the log');
  const ctx = makeCtx();
  const dev = await vhdxFormat.open(formatFixture('log.vhdx'), ctx);
  try {
    const fs = fsd(dev.info());
    assert.equal(fs['log_replayed'], 1);
    assert.match(String(fs['warnings']), /replayed in memory/);
    assert.ok((await dev.read(0, 4)).equals(Buffer.from('3333', 'latin1')));
    await assertWholeDisk(dev, 'log-expected.raw');
  } finally {
    await dev.close();
  }
});

test('vhdx log entries with a bad checksum or another log GUID are not replayed', async () => {
  const s = await scratchCopy('log.vhdx');
  try {
    const hdr = await readAt(s.path, await currentHeader(s.path), 4096);
    const logOffset = Number(hdr.readBigUInt64LE(72));
    // damage the active entry's checksum: no valid sequence remains, so the log is empty
    let entry = -1;
    for (let o = 0; o < MiB; o += 4096) {
      const e = await readAt(s.path, logOffset + o, 48);
      if (e.toString('latin1', 0, 4) === 'loge' && e.subarray(32, 48).equals(hdr.subarray(48, 64))) entry = logOffset + o;
    }
    assert.ok(entry > 0, 'fixture: active entry found');
    await patch(s.path, entry + 4, Buffer.from([1, 2, 3, 4]));
    const dev = await openWith(vhdxFormat, s.path);
    assert.equal(fsd(dev.info())['log_replayed'], 0);
    assert.ok((await dev.read(0, 4096)).equals(Buffer.alloc(4096)), 'the BAT the file holds says nothing is allocated');
    await dev.close();
  } finally {
    await s.cleanup();
  }
});

test('vhdx truncated is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('dynamic.vhdx');
  try {
    await truncateTo(s.path, Math.floor(statSync(s.path).size / 3));
    await assertCode(async () => {
      const dev = await openWith(vhdxFormat, s.path);
      try {
        await dev.read(0, dev.size);
      } finally {
        await dev.close();
      }
    }, 'CORRUPT_IMAGE', /outside the file/);
    await truncateTo(s.path, 300 * 1024);
    await assertCode(() => openWith(vhdxFormat, s.path), 'CORRUPT_IMAGE', /truncated/);
  } finally {
    await s.cleanup();
  }
});

test('vhdx differencing (qemu dynamic VHDX re-labelled, see vhdx-diff.py): parent locator, NOT_PRESENT -> parent, ZERO -> zeros, partial block per sector', async () => {
  const dev = await openWith(vhdxFormat, 'diff.vhdx');
  try {
    const info = dev.info();
    const fs = fsd(info);
    assert.equal(fs['disk_type'], 'differencing');
    assert.equal(fs['has_parent'], true);
    assert.equal(info.backing_filename, '.\\dynamic.vhdx');
    assert.equal((info as { full_backing_filename?: string }).full_backing_filename, formatFixture('dynamic.vhdx'));
    assert.equal(info.backing_format, 'vhdx');
    assert.equal(fs['warnings'], undefined, 'parent_linkage matches the parent data write GUID');
    assert.match(String((fs['parent_locator'] as Record<string, string>)['parent_linkage']), /^\{[0-9A-F-]{36}\}$/);
    // block 0 not present -> parent; block 3 (3 MiB) partially present: sectors 100..299 from the parent
    assert.ok((await dev.read(0, MiB)).equals(await readAt(formatFixture('ref.raw'), 0, MiB)));
    assert.ok((await dev.read(3 * MiB + 100 * 512, 200 * 512)).equals(await readAt(formatFixture('ref.raw'), 3 * MiB + 100 * 512, 200 * 512)));
    assert.ok((await dev.read(3 * MiB + 300 * 512, 512)).equals(await readAt(formatFixture('diff-content.raw'), 3 * MiB + 300 * 512, 512)));
    // the last block stayed ZERO: zeros even though the parent has data there
    assert.ok(!(await readAt(formatFixture('ref.raw'), 63 * MiB, MiB)).equals(Buffer.alloc(MiB)), 'fixture: parent has data in the last MiB');
    assert.ok((await dev.read(63 * MiB, MiB)).equals(Buffer.alloc(MiB)));
    await assertWholeDisk(dev, 'diffx-expected.raw');
    await assertRandomReads(dev, 'diffx-expected.raw', 200, 17);
  } finally {
    await dev.close();
  }
});
