import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import { newReadStats, type BlockDevice } from '../../src/disk/types.js';
import { ExtFs } from '../../src/fs/ext4/index.js';
import { mapExtents } from '../../src/fs/ext4/extent.js';
import { INODE_FLAGS } from '../../src/fs/ext4/inode.js';
import { openFilesystem } from '../../src/fs/open.js';
import { Vfs } from '../../src/fs/vfs.js';
import { compareTree } from '../helpers/tree-compare.js';
import { OUT, PatchedDevice, blkid, debugfs, dumpe2fs, fileBlocks, fixture, inodeOffset, le, rejectsWith } from './ext4-fat-helpers.js';

/*
 * Fixtures: test/fixtures/fs-ext/build.sh (mke2fs -d from make-tree.py's tree, then e2fsck -fD so
 * large directories are htrees). Corrupted variants patch bytes of those images in the read path.
 */

const SRC = OUT + 'src';
const devices: BlockDevice[] = [];
after(async () => {
  for (const d of devices) await d.close();
});
async function dev(name: string, stats = newReadStats()): Promise<RawDevice> {
  const d = await RawDevice.open(fixture(name), stats);
  devices.push(d);
  return d;
}
async function patched(name: string, patches: [number, Buffer][]): Promise<PatchedDevice> {
  return new PatchedDevice(await dev(name), patches);
}
async function inodeAt(fs: ExtFs, path: string) {
  return fs.inode((await new Vfs(fs).resolve(path, false)).ino);
}
function superU32(name: string, off: number): number {
  return readFileSync(fixture(name)).subarray(1024, 2048).readUInt32LE(off);
}

/** Compares every top-level directory of the source tree; the root also holds lost+found. */
async function compareAll(fs: ExtFs) {
  const vfs = new Vfs(fs);
  const top = readdirSync(SRC).sort();
  assert.deepEqual((await vfs.readdirNames('/')).sort(), [...top, 'lost+found'].sort());
  const total = { files: 0, dirs: 0, links: 0, mismatches: [] as string[] };
  for (const name of top) {
    const rep = await compareTree(`${SRC}/${name}`, vfs, `/${name}`, { owners: true, mtimes: true });
    total.files += rep.files;
    total.dirs += rep.dirs;
    total.links += rep.links;
    total.mismatches.push(...rep.mismatches);
  }
  return total;
}

const VARIANTS: [string, string, (fs: ExtFs) => Promise<void>][] = [
  ['ext4.img', 'ext4 defaults (64bit, extents, flex_bg, metadata_csum), htree directory', async (fs) => {
    assert.equal(fs.sb.descSize, 64);
    const huge = await inodeAt(fs, '/hugedir');
    assert.ok(huge.flags & INODE_FLAGS.INDEX, 'hugedir is a dir_index htree');
    assert.equal((await new Vfs(fs).readdir('/hugedir')).length, 2500);
  }],
  ['ext4-no64.img', 'ext4 with 32-byte group descriptors', async (fs) => assert.equal(fs.sb.descSize, 32)],
  ['ext4-noextent.img', 'ext4 without extents (indirect blocks)', async (fs) => {
    assert.equal((await inodeAt(fs, '/large/big.bin')).flags & INODE_FLAGS.EXTENTS, 0);
  }],
  ['ext3.img', 'ext3 (journal, indirect blocks, htree)', async (fs) => {
    assert.ok((await inodeAt(fs, '/hugedir')).flags & INODE_FLAGS.INDEX);
  }],
  ['ext3-1k.img', 'ext3 with 1 KiB blocks (double indirect with holes, 128-byte inodes)', async (fs) => {
    const big = await inodeAt(fs, '/large/big.bin');
    assert.notEqual(big.iblock.readUInt32LE(13 * 4), 0, 'big.bin uses the double indirect block');
    assert.equal(fs.sb.inodeSize, 128);
  }],
  ['ext2.img', 'ext2', async (fs) => assert.equal(fs.info.type, 'ext2')],
  ['ext4-inline.img', 'ext4 inline_data (files and directories in the inode)', async (fs) => {
    assert.ok((await inodeAt(fs, '/etc/hostname')).flags & INODE_FLAGS.INLINE_DATA);
    assert.ok((await inodeAt(fs, '/etc')).flags & INODE_FLAGS.INLINE_DATA);
  }],
  ['ext4-1k.img', 'ext4 with 1 KiB blocks (depth-2 extent tree)', async (fs) => {
    const big = await inodeAt(fs, '/large/big.bin');
    assert.equal(big.iblock.readUInt16LE(6), 2, 'extent tree depth');
  }],
  ['ext4-metabg.img', 'ext4 meta_bg without resize_inode', async (fs) => {
    assert.ok(fs.sb.featureNames.includes('meta_bg'));
    assert.ok(fs.sb.groupCount > fs.sb.blockSize / fs.sb.descSize, 'more than one meta group');
  }],
  ['ext4-bigalloc.img', 'ext4 bigalloc (16 KiB clusters)', async (fs) => assert.equal(fs.sb.clusterSize, 16384)],
  ['ext4-manygroups.img', 'ext4 with 256 block groups (sparse 1 GiB)', async (fs) => assert.ok(fs.sb.groupCount >= 256)],
  ['ext4-64k.img', 'ext4 with 64 KiB blocks', async (fs) => assert.equal(fs.sb.blockSize, 65536)],
];

for (const [img, label, extra] of VARIANTS) {
  test(`ext ${label}: tree matches the source; info matches dumpe2fs -h and blkid -p`, async () => {
    const ref = blkid(fixture(img));
    const fs = (await openFilesystem(await dev(img), ref.TYPE!)) as ExtFs;
    const rep = await compareAll(fs);
    assert.deepEqual(rep.mismatches, []);
    assert.ok(rep.files > 5500 && rep.dirs >= 70 && rep.links === 10, JSON.stringify(rep));
    const d = dumpe2fs(fixture(img));
    assert.equal(fs.info.type, ref.TYPE);
    assert.equal(fs.info.uuid, ref.UUID);
    assert.equal(fs.info.label, ref.LABEL);
    assert.equal(fs.info.label, d['Filesystem volume name']);
    assert.equal(fs.info.uuid, d['Filesystem UUID']);
    assert.equal(fs.info.blockSize, Number(d['Block size']));
    assert.equal(fs.info.blocksCount, Number(d['Block count']));
    assert.equal(fs.info.freeBlocks, Number(d['Free blocks']));
    assert.equal(fs.info.freeBytes, Number(d['Free blocks']) * Number(d['Block size']));
    assert.equal(fs.info.inodesCount, Number(d['Inode count']));
    assert.equal(fs.info.freeInodes, Number(d['Free inodes']));
    assert.deepEqual(fs.info.warnings, []);
    await extra(fs);
  });
}

test('ext: stat carries owners, nanosecond-capable times, nlink and modes from the inode', async () => {
  const fs = await ExtFs.open(await dev('ext4.img'));
  const vfs = new Vfs(fs);
  const st = await vfs.lstat('/modes/setuid');
  assert.equal(st.mode, 0o104755);
  assert.equal(st.mtimeMs, 1700000000 * 1000);
  assert.equal((await vfs.lstat('/links/hard-a')).nlink, 2);
  assert.equal((await vfs.stat('/links/abs-dir')).isDirectory(), true);
  assert.equal(await vfs.readlink('/links/long-target'), 'x'.repeat(200) + '/target');
  assert.equal(await vfs.readText('/links/rel-up'), readFileSync(`${SRC}/etc/os-release`, 'utf8'));
});

test('ext: a 4 KiB read in a large sparse file touches only the blocks it needs', async () => {
  for (const img of ['ext4.img', 'ext3.img', 'ext4-1k.img']) {
    const stats = newReadStats();
    const fs = await ExtFs.open(await dev(img, stats));
    const vfs = new Vfs(fs);
    await vfs.lstat('/large/sparse.bin');
    const before = stats.bytesRead;
    const tail = await vfs.readRange('/large/sparse.bin', 20 * 1024 * 1024, 3000);
    assert.equal(tail.toString(), 'end'.repeat(1000));
    const hole = await vfs.readRange('/large/sparse.bin', 10 * 1024 * 1024, 4096);
    assert.ok(hole.equals(Buffer.alloc(4096)), 'holes read as zeros');
    const mid = await vfs.readRange('/large/big.bin', 2 * 1024 * 1024, 4096);
    assert.ok(mid.equals(readFileSync(`${SRC}/large/big.bin`).subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + 4096)));
    const used = stats.bytesRead - before;
    assert.ok(used <= 64 * 1024, `${img}: ${used} bytes read for two 4 KiB ranges`);
  }
});

test('ext: a journal that needs recovery is read anyway, with a warning', async () => {
  const fs = await ExtFs.open(await dev('ext4-recover.img'));
  assert.match((fs.info.warnings ?? []).join('\n'), /flagged as needing journal recovery, but its journal holds no committed transactions/);
  assert.equal(await new Vfs(fs).readText('/etc/hostname'), 'fixture-host\n');
  const dirty = await ExtFs.open(await patched('ext4.img', [[1024 + 0x3a, le(2, 0x3)]]));
  assert.match((dirty.info.warnings ?? []).join('\n'), /marked as having errors/);
});

test('ext: an encrypted (fscrypt) file is refused with ENCRYPTED, the rest reads', async () => {
  const fs = await ExtFs.open(await dev('ext4-encrypt.img'));
  const vfs = new Vfs(fs);
  assert.ok(fs.sb.featureNames.includes('encrypt'));
  assert.equal((await vfs.stat('/hostname')).size, 13);
  await rejectsWith(vfs.readFile('/hostname'), 'ENCRYPTED', /encrypted/);
  assert.match((await vfs.readText('/os-release'))!, /Fixture Linux/);
});

test('ext: incompatible features are refused by name', async () => {
  const incompat = superU32('ext4.img', 0x60);
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1024 + 0x60, le(4, incompat | 0x1000)]])), 'UNSUPPORTED_FORMAT', /dirdata/);
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1024 + 0x60, le(4, incompat | 0x800)]])), 'UNSUPPORTED_FORMAT', /incompat bit 0x800/);
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1024 + 0x60, le(4, incompat | 0x8)]])), 'UNSUPPORTED_FORMAT', /journal device/);
});

test('ext corrupt: bad superblock magic, absurd inode size, absurd block size', async () => {
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1080, le(2, 0x1234)]])), 'CORRUPT_IMAGE', /magic 0x1234 at byte 1080/);
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1024 + 0x58, le(2, 3000)]])), 'CORRUPT_IMAGE', /inode size 3000/);
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1024 + 0x18, le(4, 40)]])), 'CORRUPT_IMAGE', /block size/);
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[1024 + 0x20, le(4, 0)]])), 'CORRUPT_IMAGE', /blocks per group 0/);
});

test('ext corrupt: a group descriptor whose inode table lies past the end', async () => {
  // Group 0 (the root's): opening fails.
  await rejectsWith(ExtFs.open(await patched('ext4.img', [[4096 + 8, le(4, 0xfffff000)]])), 'CORRUPT_IMAGE', /group descriptor 0 .*inode table at block 4294963200/);
  // Another group: the filesystem opens, the files whose inodes live there fail.
  const img = 'ext4-manygroups.img';
  const fs0 = await ExtFs.open(await dev(img));
  const ino = (await new Vfs(fs0).lstat('/many/d07/f00007.bin')).ino;
  const g = Math.floor((ino - 1) / fs0.sb.inodesPerGroup);
  assert.ok(g > 0, `inode ${ino} is in group ${g}`);
  const fs = await ExtFs.open(await patched(img, [[4096 + g * 64 + 8, le(4, 0x7ffffff0)]]));
  const vfs = new Vfs(fs);
  assert.equal(await vfs.readText('/etc/hostname'), 'fixture-host\n');
  await rejectsWith(vfs.lstat('/many/d07/f00007.bin'), 'CORRUPT_IMAGE', new RegExp(`group descriptor ${g} .*outside`));
});

test('ext corrupt: extent header magic, absurd depth, a looping index node', async () => {
  const at = inodeOffset(fixture('ext4.img'), '/large/big.bin', 4096) + 0x28;
  const open = async (img: string, p: [number, Buffer][]) => new Vfs(await ExtFs.open(await patched(img, p)));
  await rejectsWith((await open('ext4.img', [[at, le(2, 0xbeef)]])).readFile('/large/big.bin'), 'CORRUPT_IMAGE', /inode \d+: extent node in inode i_block: header magic 0xbeef/);
  await rejectsWith((await open('ext4.img', [[at + 6, le(2, 9)]])).readFile('/large/big.bin'), 'CORRUPT_IMAGE', /depth 9 exceeds 5/);
  // ext4-1k's big.bin is a depth-2 tree: point its level-1 index node at itself.
  const ex = debugfs(fixture('ext4-1k.img'), 'ex /large/big.bin');
  const m = /^\s*0\/\s*2\s+1\/\s*1\s+\d+\s+-\s+\d+\s+(\d+)/m.exec(ex);
  assert.ok(m, ex.slice(0, 300));
  const node = Number(m[1]);
  const vfs = await open('ext4-1k.img', [[node * 1024 + 12 + 4, le(4, node)]]);
  await rejectsWith(vfs.readFile('/large/big.bin'), 'CORRUPT_IMAGE', new RegExp(`block ${node}: depth 1 where 0 was expected`));
  // An extent pointing past the end of the filesystem.
  await rejectsWith((await open('ext4.img', [[at + 12 + 8, le(4, 0x7ffffff0)]])).readFile('/large/big.bin'), 'CORRUPT_IMAGE', /outside the filesystem/);
});

test('ext corrupt: index entries sharing one child (a DAG, not a tree) are walked in linear time', async () => {
  // 4 → 84 → 84 index entries that all name the same next node: walked without clamping
  // each child to its index's span this reads 4·84·84 leaves (depth 5 would be 4·84^4).
  const img = fixture('ext4-1k.img');
  const at = inodeOffset(img, '/large/big.bin', 1024) + 0x28;
  const ex = debugfs(img, 'ex /large/big.bin');
  const leaf = Number(/^\s*1\/\s*2\s+1\/\s*\d+\s+\d+\s+-\s+\d+\s+(\d+)/m.exec(ex)?.[1]);
  const data: number[] = [];
  for (const m of ex.matchAll(/^\s*2\/\s*2\s+\d+\/\s*\d+\s+\d+\s+-\s+\d+\s+(\d+)\s+-\s+(\d+)/gm)) {
    for (let b = Number(m[1]); b <= Number(m[2]) && data.length < 2; b++) data.push(b);
  }
  assert.ok(leaf > 0 && data.length === 2, ex.slice(0, 300));
  const node = (depth: number, size: number, count: number, child: number) => {
    const b = Buffer.alloc(size);
    b.writeUInt16LE(0xf30a, 0);
    b.writeUInt16LE(count, 2);
    b.writeUInt16LE((size - 12) / 12, 4);
    b.writeUInt16LE(depth, 6);
    for (let i = 0; i < count; i++) {
      b.writeUInt32LE(i, 12 + i * 12);
      b.writeUInt32LE(child, 12 + i * 12 + 4);
    }
    return b;
  };
  const [d2, d1] = data as [number, number];
  const root = node(3, 60, 4, d2);
  const device = await patched('ext4-1k.img', [
    [at, root],
    [d2 * 1024, node(2, 1024, 84, d1)],
    [d1 * 1024, node(1, 1024, 84, leaf)],
  ]);
  let nodeReads = 0;
  const ctx = {
    blockSize: 1024,
    blocksCount: device.size / 1024,
    firstDataBlock: 1,
    readMeta: (b: number) => (nodeReads++, device.read(b * 1024, 1024)),
  };
  const runs = await mapExtents(ctx, 0, root, 0, 3072);
  assert.ok(nodeReads <= 4 + 2 * 84 + 84, `${nodeReads} index/leaf node reads for a 3072-block file`);
  for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.lblk >= runs[i - 1]!.lblk + runs[i - 1]!.len, 'runs ascend without overlap');
  // The whole file still reads (as whatever the damaged tree maps), without hanging.
  const got = await new Vfs(await ExtFs.open(device)).readFile('/large/big.bin');
  assert.equal(got.length, 3 * 1024 * 1024);
});

test('ext corrupt: indirect pointers past the end', async () => {
  const at = inodeOffset(fixture('ext3.img'), '/large/big.bin', 4096) + 0x28;
  const vfs = new Vfs(await ExtFs.open(await patched('ext3.img', [[at + 12 * 4, le(4, 0x7ffffff0)]])));
  await rejectsWith(vfs.readFile('/large/big.bin'), 'CORRUPT_IMAGE', /indirect block .*outside/);
});

test('ext corrupt: directory rec_len 0, past the block, inode number out of range', async () => {
  const blk = fileBlocks(fixture('ext4.img'), '/etc')[0]!;
  const open = async (p: [number, Buffer][]) => new Vfs(await ExtFs.open(await patched('ext4.img', p)));
  await rejectsWith((await open([[blk * 4096 + 4, le(2, 0)]])).readdir('/etc'), 'CORRUPT_IMAGE', /directory inode \d+, block 0, entry at byte 0: rec_len 0/);
  await rejectsWith((await open([[blk * 4096 + 4, le(2, 8192)]])).readdir('/etc'), 'CORRUPT_IMAGE', /rec_len 8192 runs past the end/);
  await rejectsWith((await open([[blk * 4096 + 24, le(4, 0x7fffffff)]])).readdir('/etc'), 'CORRUPT_IMAGE', /inode number 2147483647 exceeds/);
});

test('ext corrupt: inode i_extra_isize larger than the inode', async () => {
  const at = inodeOffset(fixture('ext4.img'), '/etc/hostname', 4096);
  const vfs = new Vfs(await ExtFs.open(await patched('ext4.img', [[at + 0x80, le(2, 0x400)]])));
  await rejectsWith(vfs.stat('/etc/hostname'), 'CORRUPT_IMAGE', /i_extra_isize 1024/);
});

test('ext: inline-data symlinks (61–120 bytes, in the inode xattr area), fast and slow symlinks', async () => {
  const fs = await ExtFs.open(await dev('ext4-inline-small.img'));
  const vfs = new Vfs(fs);
  for (const [name, target] of [
    ['inline-target-100', '/' + 'y'.repeat(99)],
    ['inline-target-61', '/' + 'z'.repeat(60)],
  ] as const) {
    assert.ok((await inodeAt(fs, `/links/${name}`)).flags & INODE_FLAGS.INLINE_DATA, `${name} is an inline-data symlink`);
    assert.equal(await vfs.readlink(`/links/${name}`), target);
  }
  assert.equal(await vfs.readlink('/links/long-target'), 'x'.repeat(200) + '/target');
  assert.equal(await vfs.readlink('/links/rel-file'), 'hard-a');
  const rep = await compareTree(`${OUT}src-small/links`, vfs, '/links', { owners: true });
  assert.deepEqual(rep.mismatches, []);
});

test('ext: casefold filesystems match names ignoring case in +F directories only', async () => {
  const fs = await ExtFs.open(await dev('ext4-casefold.img'));
  const vfs = new Vfs(fs);
  assert.equal(fs.info.casefold, true);
  assert.match((fs.info.warnings ?? []).join('\n'), /casefold/);
  assert.equal(await vfs.readText('/names/upper.txt'), 'upper\n');
  assert.equal(await vfs.readText('/NAMES/Upper.TXT'), undefined, 'the root directory is not casefolded');
  assert.ok((await vfs.readdirNames('/names')).includes('UPPER.TXT'), 'readdir keeps the stored case');
  assert.equal(await vfs.readText('/etc/HOSTNAME'), undefined);
});

test('ext: a sparse 5 GiB file (64-bit size; triple indirect on ext3) reads its far end without reading the hole', async () => {
  for (const img of ['ext4-hugefile.img', 'ext3-hugefile.img']) {
    const stats = newReadStats();
    const fs = await ExtFs.open(await dev(img, stats));
    const vfs = new Vfs(fs);
    const st = await vfs.stat('/huge.bin');
    assert.equal(st.size, 5 * 2 ** 30 + 12);
    if (img.startsWith('ext3')) assert.notEqual((await inodeAt(fs, '/huge.bin')).iblock.readUInt32LE(14 * 4), 0, 'uses the triple indirect block');
    const before = stats.bytesRead;
    assert.equal((await vfs.readRange('/huge.bin', 5 * 2 ** 30, 100)).toString(), 'tail-at-5GiB');
    assert.equal((await vfs.readRange('/huge.bin', 0, 4)).toString(), 'head');
    assert.ok((await vfs.readRange('/huge.bin', 3 * 2 ** 30, 65536)).equals(Buffer.alloc(65536)));
    assert.ok(stats.bytesRead - before <= 8 * 4096, `${img}: ${stats.bytesRead - before} bytes read`);
    await assert.rejects(vfs.readFile('/huge.bin'), /EFBIG/);
  }
});

test('ext: an unwritten (preallocated) extent reads as zeros', async () => {
  // Set the "uninitialized" bit (length + 32768) on os-release's only extent.
  const at = inodeOffset(fixture('ext4.img'), '/etc/os-release', 4096) + 0x28;
  const clean = new Vfs(await ExtFs.open(await dev('ext4.img')));
  const size = (await clean.stat('/etc/os-release')).size;
  const raw = (await (await dev('ext4.img')).read(at + 12 + 4, 2)).readUInt16LE(0);
  assert.equal(raw, 1, 'one initialized block');
  const vfs = new Vfs(await ExtFs.open(await patched('ext4.img', [[at + 12 + 4, le(2, 32768 + 1)]])));
  const data = await vfs.readFile('/etc/os-release');
  assert.equal(data.length, size);
  assert.ok(data.equals(Buffer.alloc(size)));
});

for (const [img, hostname] of [
  ['ext4-journal.img', 'journal'],
  ['ext4-journal-csum.img', 'journal-host\n'],
] as const) {
  test(`ext: journal recovery in memory (${img}): committed transactions apply, revoked and uncommitted ones do not`, async () => {
    const ref = img.replace('.img', '-replayed.img');
    const truth = (p: string) => debugfs(fixture(ref), `cat ${p}`);
    assert.equal(truth('/etc/hostname'), hostname, 'e2fsprogs replay result');
    const fs = await ExtFs.open(await dev(img));
    const vfs = new Vfs(fs);
    assert.match((fs.info.warnings ?? []).join('\n'), /journal recovery: 3 committed transaction\(s\) \(\d+ blocks\) applied in memory/);
    for (const p of ['/etc/hostname', '/etc/os-release', '/names/lower.txt']) assert.equal(await vfs.readText(p), truth(p), p);
    // Everything else reads the same as from the image e2fsprogs replayed.
    const replayed = new Vfs(await ExtFs.open(await dev(ref)));
    for (const top of readdirSync(`${OUT}src-small`)) {
      const rep = await compareTree(`${OUT}src-small/${top}`, vfs, `/${top}`, { owners: true });
      const expected = await compareTree(`${OUT}src-small/${top}`, replayed, `/${top}`, { owners: true });
      assert.deepEqual(rep.mismatches, expected.mismatches, top);
    }
    // Without replay the image shows the pre-crash state, and says so.
    const stale = await ExtFs.open(await dev(img), {}, { replayJournal: false });
    assert.equal(await new Vfs(stale).readText('/etc/hostname'), 'fixture-host\n');
    assert.match((stale.info.warnings ?? []).join('\n'), /not replayed/);
  });
}

test('ext: a damaged journal is not replayed; the filesystem still opens, with a warning', async () => {
  const fs0 = await ExtFs.open(await dev('ext4-journal.img'));
  const runs = await fs0.mapBlocks(await fs0.inode(8), 0, 1);
  const jsb = runs[0]!.pblk * 4096;
  const fs = await ExtFs.open(await patched('ext4-journal.img', [[jsb, Buffer.from([0xde, 0xad, 0xbe, 0xef])]]));
  assert.match((fs.info.warnings ?? []).join('\n'), /could not be replayed \(.*journal superblock: magic 0xdeadbeef/);
  assert.equal(await new Vfs(fs).readText('/etc/hostname'), 'fixture-host\n');
});

test('ext: nanosecond timestamps with epoch bits, and 32-bit owners from the high halves', async () => {
  const at = inodeOffset(fixture('ext4.img'), '/etc/hostname', 4096);
  const extra = ((123_456_789 << 2) | 1) >>> 0; // 123.456789 ms, epoch bit 1 (+2^32 s)
  const fs = await ExtFs.open(
    await patched('ext4.img', [
      [at + 0x88, le(4, extra)],
      [at + 0x78, le(2, 0x0001)],
      [at + 0x7a, le(2, 0x0002)],
      [at + 0x02, le(2, 1000)],
    ]),
  );
  const st = await new Vfs(fs).stat('/etc/hostname');
  assert.equal(st.mtimeMs, (1700000000 + 2 ** 32) * 1000 + 123);
  assert.equal(st.uid, 0x10000 + 1000);
  assert.equal(st.gid, 0x20000);
});
