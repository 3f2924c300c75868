import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmdkFormat } from '../../src/disk/vmdk/image.js';
import { imageInfo } from '../../src/disk/info.js';
import { assertCode, assertRandomReads, assertWholeDisk, formatFixture, openWith, patch, readAt, scratchCopy, truncateTo, fsd } from './helpers.js';

const MiB = 1 << 20;

for (const [name, createType, compression] of [
  ['sparse.vmdk', 'monolithicSparse', 'none'],
  ['stream.vmdk', 'streamOptimized', 'deflate'],
  ['stream-footer.vmdk', 'streamOptimized', 'deflate'],
  ['flat.vmdk', 'monolithicFlat', 'none'],
  ['vmfs.vmdk', 'vmfs', 'none'],
] as const) {
  test(`vmdk ${createType} (${name}): whole disk and random reads equal the reference; info`, async () => {
    const dev = await openWith(vmdkFormat, name);
    try {
      assert.equal(dev.size, 64 * MiB);
      const fs = fsd(dev.info());
      assert.equal(fs['create_type'], createType);
      assert.equal(fs['compression'], compression);
      assert.equal(typeof fs['cid'], 'number');
      assert.equal(fs['parent_cid'], 0xffffffff);
      await assertWholeDisk(dev, 'ref.raw', 'ref.sha256');
      await assertRandomReads(dev, 'ref.raw');
    } finally {
      await dev.close();
    }
  });
}

for (const [name, createType, kind] of [
  ['split-sparse/disk.vmdk', 'twoGbMaxExtentSparse', 'SPARSE'],
  ['split-flat/disk.vmdk', 'twoGbMaxExtentFlat', 'FLAT'],
] as const) {
  test(`vmdk ${createType}: 2112 MiB over two extents equals the reference across the 2 GiB boundary`, async () => {
    const dev = await openWith(vmdkFormat, name);
    try {
      assert.equal(dev.size, 2112 * MiB);
      const fs = fsd(dev.info());
      assert.equal(fs['create_type'], createType);
      const ext = fs['extents'] as { type: string; virtual_size: number; filename: string }[];
      assert.deepEqual(ext.map((e) => [e.type, e.virtual_size]), [[kind, 2048 * MiB], [kind, 64 * MiB]]);
      assert.match(ext[1]!.filename, /disk-[sf]002\.vmdk$/);
      // data straddling the extent boundary, read in one call
      const at = 2048 * MiB - 3000;
      const want = await readAt(formatFixture('big.raw'), at, 9000);
      assert.ok((await dev.read(at, 9000)).equals(want));
      await assertWholeDisk(dev, 'big.raw');
      await assertRandomReads(dev, 'big.raw', 200, 11);
    } finally {
      await dev.close();
    }
  });
}

test('vmdk streamOptimized info: grain size, compression, markers', async () => {
  const dev = await openWith(vmdkFormat, 'stream.vmdk');
  try {
    const info = dev.info();
    assert.equal(info.format, 'vmdk');
    assert.equal(info.cluster_size, 65536);
    const fs = fsd(info);
    assert.equal(fs['grain_size'], 65536);
    const [e] = fs['extents'] as Record<string, unknown>[];
    assert.equal(e!['compressed'], true);
    assert.equal(e!['markers'], true);
  } finally {
    await dev.close();
  }
});

test('vmdk child with parent: unallocated grains read the parent, zeroed grains (GTE=1) read zeros', async () => {
  const dev = await openWith(vmdkFormat, 'child.vmdk');
  try {
    const info = dev.info();
    assert.equal(info.backing_filename, 'sparse.vmdk'); // as stored in parentFileNameHint
    assert.equal((info as { full_backing_filename?: string }).full_backing_filename, formatFixture('sparse.vmdk'));
    assert.equal(info.backing_format, 'vmdk');
    assert.equal(imageInfo(dev).backing_chain?.length, 2);
    assert.equal(typeof info.actual_size, 'number');
    assert.ok(info.actual_size < 1 << 20, 'child allocates little');
    assert.equal(fsd(info)['warnings'], undefined);
    assert.equal((fsd(info)['extents'] as Record<string, unknown>[])[0]!['zeroed_grain'], true);
    // the zero-written MiB at 16 MiB has data in the parent, zeros in the child
    assert.ok(!(await readAt(formatFixture("ref.raw"), 16 * MiB, MiB)).equals(Buffer.alloc(MiB)), 'fixture: parent has data there');
    assert.ok((await dev.read(16 * MiB, MiB)).equals(Buffer.alloc(MiB)));
    await assertWholeDisk(dev, 'child.raw');
    await assertRandomReads(dev, 'child.raw', 200, 3);
  } finally {
    await dev.close();
  }
});

/**
 * Sets the CID of a single-file sparse VMDK by editing its embedded descriptor as text: the
 * `CID=` line is replaced and the descriptor area (header descriptorOffset/descriptorSize, in
 * sectors) rewritten NUL-padded, as qemu's vmdk_write_cid does. qemu writes CIDs as unpadded
 * `%x`, so the old value is 1 to 8 digits long: an 8-byte overwrite can eat the line break and
 * glue `parentCID=` onto the CID line.
 */
async function setEmbeddedCid(path: string, cid: string): Promise<void> {
  const h = await readAt(path, 0, 512);
  const off = Number(h.readBigUInt64LE(28)) * 512;
  const len = Number(h.readBigUInt64LE(36)) * 512;
  const text = (await readAt(path, off, len)).toString('latin1').replace(/\0+$/, '');
  const edited = text.replace(/^CID=[0-9a-fA-F]+$/m, `CID=${cid}`);
  assert.notEqual(edited, text, `fixture: ${path} has a CID line`);
  assert.ok(edited.length <= len, 'the edited descriptor fits its area');
  const area = Buffer.alloc(len);
  area.write(edited, 'latin1');
  await patch(path, off, area);
}

test('vmdk child: a parent CID mismatch is a warning in info, reads still use the parent; backing:false leaves the parent closed', async () => {
  const s = await scratchCopy('child.vmdk');
  try {
    await copyFile(formatFixture('sparse.vmdk'), join(s.dir, 'sparse.vmdk'));
    const parent = join(s.dir, 'sparse.vmdk');
    // the child's parentCID, read from its descriptor text (qemu writes it unpadded)
    const childText = (await readAt(s.path, 512, 1024)).toString('latin1');
    const expected = /^parentCID=([0-9a-f]{1,8})$/m.exec(childText)?.[1];
    assert.ok(expected && parseInt(expected, 16) !== 0x0badc0de, 'fixture: the edit changes the parent CID');
    // the parent changed after the child was made (checked by hand: qemu-img info/check accept both
    // files; qemu-io refuses reads that reach the parent with EINVAL, guestkit warns and reads)
    await setEmbeddedCid(parent, '0badc0de');
    const p = await openWith(vmdkFormat, parent);
    assert.equal(fsd(p.info())['cid'], 0x0badc0de);
    assert.equal(fsd(p.info())['parent_cid'], 0xffffffff, 'the next line is intact');
    await p.close();
    const dev = await openWith(vmdkFormat, s.path);
    try {
      const want = `parent CID mismatch: ${parent} has CID 0badc0de, the child expects ${expected.padStart(8, '0')}`;
      const warnings = fsd(dev.info())['warnings'] as string[];
      assert.equal(warnings.length, 1);
      assert.ok(warnings[0]!.startsWith(want), warnings[0]);
      assert.ok(dev.backing, 'the parent is open');
      // grain 0 is unallocated in the child: its bytes come from the parent
      assert.ok((await dev.read(0, 4096)).equals(await readAt(formatFixture('child.raw'), 0, 4096)));
      assert.ok(!(await dev.read(0, 4096)).equals(Buffer.alloc(4096)), 'fixture: the parent has data there');
    } finally {
      await dev.close();
    }
    const alone = await openWith(vmdkFormat, s.path, { backing: false });
    assert.equal(alone.backing, undefined);
    assert.equal(fsd(alone.info())['warnings'], undefined, 'no parent opened, nothing compared');
    assert.equal(alone.info().backing_filename, 'sparse.vmdk');
    assert.equal((alone.info() as { full_backing_filename?: string }).full_backing_filename, parent);
    // without the parent, unallocated grains read as zeros
    assert.ok((await alone.read(0, 4096)).equals(Buffer.alloc(4096)));
    await alone.close();
  } finally {
    await s.cleanup();
  }
});

test('vmdk grain table pointer past end of file is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('sparse.vmdk');
  try {
    const gdSector = Number((await readAt(s.path, 56, 8)).readBigUInt64LE(0));
    const b = Buffer.alloc(4);
    b.writeUInt32LE(0x00fffff0);
    await patch(s.path, gdSector * 512 + 4, b);
    await assertCode(() => openWith(vmdkFormat, s.path), 'CORRUPT_IMAGE', /grain directory entry 1 .*past end of file/);
  } finally {
    await s.cleanup();
  }
});

test('vmdk grain pointer past end of file and grain directory past end are CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('sparse.vmdk');
  try {
    const gdSector = Number((await readAt(s.path, 56, 8)).readBigUInt64LE(0));
    const gt0 = (await readAt(s.path, gdSector * 512, 4)).readUInt32LE(0);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(0x00fffff0);
    await patch(s.path, gt0 * 512, b); // grain 0
    const dev = await openWith(vmdkFormat, s.path);
    await assertCode(() => dev.read(100, 10), 'CORRUPT_IMAGE', /grain 0 .*past end of file/);
    await dev.close();
    const big = Buffer.alloc(8);
    big.writeBigUInt64LE(0xffffffffn);
    await patch(s.path, 56, big);
    await assertCode(() => openWith(vmdkFormat, s.path), 'CORRUPT_IMAGE', /grain directory .*past end of file/);
  } finally {
    await s.cleanup();
  }
});

test('vmdk monolithicSparse truncated is CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('sparse.vmdk');
  try {
    await truncateTo(s.path, 8 * MiB);
    await assertCode(async () => {
      const dev = await openWith(vmdkFormat, s.path);
      try {
        await dev.read(0, dev.size);
      } finally {
        await dev.close();
      }
    }, 'CORRUPT_IMAGE', /past end of file/);
    await truncateTo(s.path, 300);
    await assertCode(() => openWith(vmdkFormat, s.path), 'CORRUPT_IMAGE');
  } finally {
    await s.cleanup();
  }
});

test('vmdk streamOptimized with the grain directory at the end: truncated file and a damaged compressed grain are CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('stream-footer.vmdk');
  try {
    assert.equal((await readAt(s.path, 56, 8)).readBigUInt64LE(0), 0xffffffffffffffffn, 'fixture: GD_AT_END in the header');
    // find grain 0's compressed data through the footer's grain directory
    const size = (await import('node:fs')).statSync(s.path).size;
    const gd = Number((await readAt(s.path, size - 1024 + 56, 8)).readBigUInt64LE(0));
    const gt = (await readAt(s.path, gd * 512, 4)).readUInt32LE(0);
    const g0 = (await readAt(s.path, gt * 512, 4)).readUInt32LE(0);
    await patch(s.path, g0 * 512 + 12, Buffer.from('garbage!garbage!'));
    const dev = await openWith(vmdkFormat, s.path);
    await assertCode(() => dev.read(0, 512), 'CORRUPT_IMAGE', /compressed grain 0 .*does not inflate/);
    await dev.close();
    await truncateTo(s.path, Math.floor(size / 2));
    await assertCode(() => openWith(vmdkFormat, s.path), 'CORRUPT_IMAGE', /footer/);
    await truncateTo(s.path, 2);
    await assertCode(() => openWith(vmdkFormat, s.path), 'CORRUPT_IMAGE', /truncated/);
  } finally {
    await s.cleanup();
  }
});

test('vmdk flat: a missing extent file is IMAGE_NOT_FOUND, a short one CORRUPT_IMAGE', async () => {
  const s = await scratchCopy('flat.vmdk');
  try {
    await assertCode(() => openWith(vmdkFormat, s.path), 'IMAGE_NOT_FOUND');
    await copyFile(formatFixture('flat-flat.vmdk'), join(s.dir, 'flat-flat.vmdk'));
    await truncateTo(join(s.dir, 'flat-flat.vmdk'), 10 * MiB);
    await assertCode(() => openWith(vmdkFormat, s.path), 'CORRUPT_IMAGE', /truncated/);
  } finally {
    await s.cleanup();
  }
});

test('vmdk probe: sparse magic and text descriptors', async () => {
  for (const n of ['sparse.vmdk', 'stream.vmdk', 'flat.vmdk', 'vmfs.vmdk', 'split-sparse/disk.vmdk']) {
    assert.ok(vmdkFormat.probe(await readAt(formatFixture(n), 0, 4096), Buffer.alloc(512), 0), n);
  }
  assert.ok(!vmdkFormat.probe(await readAt(formatFixture('ref.raw'), 0, 4096), Buffer.alloc(512), 0));
});

test('vmdk hand-written descriptors: a ZERO extent after a flat one; unsupported extent kinds are refused clearly', async () => {
  const s = await scratchCopy('flat-flat.vmdk');
  const { writeFile } = await import('node:fs/promises');
  const desc = (extents: string) =>
    `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="custom"\n\n${extents}\n\nddb.adapterType = "lsilogic"\n`;
  try {
    const p = join(s.dir, 'zero.vmdk');
    await writeFile(p, desc('RW 65536 FLAT "flat-flat.vmdk" 0\nRW 65536 ZERO'));
    const dev = await openWith(vmdkFormat, p);
    try {
      assert.equal(dev.size, 64 * MiB);
      assert.equal(fsd(dev.info())['adapter_type'], 'lsilogic');
      const at = 32 * MiB - 1000;
      const got = await dev.read(at, 3000);
      assert.ok(got.subarray(0, 1000).equals(await readAt(formatFixture('ref.raw'), at, 1000)));
      assert.ok(got.subarray(1000).equals(Buffer.alloc(2000)));
    } finally {
      await dev.close();
    }
    // a flat extent starting inside its file (offset in sectors)
    await writeFile(p, desc('RW 2048 FLAT "flat-flat.vmdk" 2048'));
    const off = await openWith(vmdkFormat, p);
    assert.ok((await off.read(0, 4096)).equals(await readAt(formatFixture('ref.raw'), MiB, 4096)));
    await off.close();
    for (const [ext, re] of [
      ['RW 2048 VMFSSPARSE "x-delta.vmdk"', /VMFSSPARSE extents are not supported/],
      ['RW 2048 VMFSRDM "x-rdm.vmdk"', /VMFSRDM extents are not supported/],
      ['NOACCESS 2048 FLAT "flat-flat.vmdk" 0', /NOACCESS/],
      ['RW 2048 WEIRD "flat-flat.vmdk"', /unknown VMDK extent type/],
    ] as const) {
      await writeFile(p, desc(ext));
      await assertCode(() => openWith(vmdkFormat, p), 'UNSUPPORTED_FORMAT', re);
    }
    await writeFile(p, desc(''));
    await assertCode(() => openWith(vmdkFormat, p), 'CORRUPT_IMAGE', /lists no extents/);
    // extents may not reach outside the descriptor's directory (an image must not read host files)
    for (const name of ['/etc/passwd', '../flat-flat.vmdk', 'sub/../../etc/passwd']) {
      await writeFile(p, desc(`RW 1 FLAT "${name}" 0`));
      await assertCode(() => openWith(vmdkFormat, p), 'PATH_NOT_ALLOWED', /outside the descriptor's directory/);
    }
  } finally {
    await s.cleanup();
  }
});
