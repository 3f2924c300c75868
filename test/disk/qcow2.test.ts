import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openImage } from '../../src/disk/open.js';
import { Qcow2Device } from '../../src/disk/qcow2/device.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { newReadStats } from '../../src/disk/types.js';
import { assertRandomReads, diskFixture, sha256Device, sha256File } from './helpers.js';

const refHash = new Map<string, Promise<string>>();
function refSha(name: string): Promise<string> {
  if (!refHash.has(name)) refHash.set(name, sha256File(diskFixture(name)));
  return refHash.get(name)!;
}

const READABLE: [string, string, string][] = [
  // image, reference, what it exercises
  ['v2.qcow2', 'ref.raw', 'qcow2 v2 (compat=0.10)'],
  ['v3.qcow2', 'ref.raw', 'qcow2 v3'],
  ['zlib.qcow2', 'ref.raw', 'zlib-compressed clusters'],
  ['v2-zlib.qcow2', 'ref.raw', 'zlib-compressed clusters in v2'],
  ['zlib-4k.qcow2', 'ref.raw', 'zlib-compressed 4 KiB clusters'],
  ['zstd.qcow2', 'ref.raw', 'zstd-compressed clusters'],
  ['zstd-2m.qcow2', 'ref.raw', 'zstd-compressed 2 MiB clusters'],
  ['l2ext.qcow2', 'ref.raw', 'extended L2 entries'],
  ['c512.qcow2', 'ref.raw', '512-byte clusters'],
  ['c2m.qcow2', 'ref.raw', '2 MiB clusters'],
  ['mid.qcow2', 'ref2.raw', 'backing chain of 2'],
  ['top.qcow2', 'ref3.raw', 'backing chain of 3 with zero clusters over backing data'],
  ['l2ext-top.qcow2', 'ref2x.raw', 'extended-L2 overlay: subcluster allocation and zero bits'],
  ['extdata.qcow2', 'ref.raw', 'external data file'],
];

for (const [img, ref, what] of READABLE) {
  test(`qcow2 ${what} (${img}): whole-disk sha256 and 200 random reads match the raw reference`, async () => {
    const dev = await openImage(diskFixture(img));
    try {
      assert.equal(dev.format, 'qcow2');
      assert.equal(await sha256Device(dev), await refSha(ref));
      await assertRandomReads(dev, diskFixture(ref));
    } finally {
      await dev.close();
    }
  });
}

test('qcow2 stated format qcow2 opens, and compressed images really hold compressed clusters', async () => {
  const dev = await openImage(diskFixture('zlib.qcow2'), { format: 'qcow2' });
  try {
    assert.ok(dev instanceof Qcow2Device);
    // Compressed images are much smaller than the data they hold.
    assert.ok(dev.info().actual_size < 8 * 1024 * 1024);
  } finally {
    await dev.close();
  }
});

test('qcow2 backing chain: devices link to their backing files, top first', async () => {
  const dev = await openImage(diskFixture('top.qcow2'));
  try {
    const names = [];
    for (let d: typeof dev | undefined = dev; d; d = d.backing) names.push(d.name.split('/').pop());
    assert.deepEqual(names, ['top.qcow2', 'mid.qcow2', 'base.qcow2']);
  } finally {
    await dev.close();
  }
});

test('qcow2 with backing:false reads unallocated clusters as zeros', async () => {
  const dev = await openImage(diskFixture('mid.qcow2'), { backing: false });
  try {
    assert.equal(dev.backing, undefined);
    const b = await dev.read(0, 4096); // data only in base
    assert.ok(b.equals(Buffer.alloc(4096)));
  } finally {
    await dev.close();
  }
});

test('qcow2 scattered reads pull little from the file (L2 slices, no full scans)', async () => {
  const stats = newReadStats();
  const dev = await openImage(diskFixture('v3.qcow2'), { stats });
  try {
    const before = stats.bytesRead;
    for (let i = 0; i < 20; i++) await dev.read(i * 3 * 1024 * 1024 + 777, 4096);
    // 20 reads of 4 KiB, each maybe an L2 slice (4 KiB) and up to 2 data pieces.
    assert.ok(stats.bytesRead - before < 20 * 4 * 4096, `read ${stats.bytesRead - before} bytes`);
  } finally {
    await dev.close();
  }
});

for (const [img, how] of [
  ['luks.qcow2', 'LUKS'],
  ['aes.qcow2', 'AES'],
]) {
  test(`qcow2 encrypted (${how}) is refused with ENCRYPTED`, async () => {
    await assert.rejects(openImage(diskFixture(img)), (e: unknown) => isGuestkitError(e, 'ENCRYPTED') && e.message.includes(how));
  });
}

test('qcow2 dirty and corrupt flags are noted in info and the data still reads', async () => {
  const dev = await openImage(diskFixture('flags-dirty-corrupt.qcow2'));
  try {
    const info = dev.info() as ReturnType<Qcow2Device['info']>;
    assert.equal(info.dirty_flag, true);
    assert.equal((info.format_specific as { data: { corrupt: boolean } }).data.corrupt, true);
    assert.equal(await sha256Device(dev), await refSha('ref.raw'));
  } finally {
    await dev.close();
  }
});

test('qcow2 isAllocated: false only where no data can be (holes without a backing file)', async () => {
  const MiB = 1048576;
  for (const name of ['v3.qcow2', 'c512.qcow2', 'zlib.qcow2', 'l2ext.qcow2']) {
    const dev = (await openImage(diskFixture(name))) as Qcow2Device;
    try {
      assert.equal(await dev.isAllocated(9 * MiB, 7 * MiB), false, `${name}: hole 9..16 MiB`);
      assert.equal(await dev.isAllocated(9 * MiB, 8 * MiB + 512), true, `${name}: reaches data at 17 MiB+511`);
      assert.equal(await dev.isAllocated(30 * MiB + 65535, 2), true, `${name}: 2-byte run across clusters`);
    } finally {
      await dev.close();
    }
  }
  const top = (await openImage(diskFixture('top.qcow2'))) as Qcow2Device;
  try {
    // With a backing file, unallocated clusters may hold the backing file's data.
    assert.equal(await top.isAllocated(9 * MiB, 7 * MiB), true);
  } finally {
    await top.close();
  }
});
