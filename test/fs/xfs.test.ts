import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import type { BlockDevice } from '../../src/disk/types.js';
import { openFilesystem } from '../../src/fs/open.js';
import { Vfs } from '../../src/fs/vfs.js';
import { AgGeometry } from '../../src/fs/xfs/ag.js';
import { FMT_BTREE, FMT_EXTENTS, FMT_LOCAL } from '../../src/fs/xfs/inode.js';
import { XfsFileSystem } from '../../src/fs/xfs/index.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { compareTree } from '../helpers/tree-compare.js';
import { OUT, PatchedDevice, blkid, fixture, u32be } from './xfs-helpers.js';

/*
 * XFS fixtures come from `mkfs.xfs -p protofile` (build.sh). A protofile cannot express hard
 * links or names with spaces, so the compared source tree (tree-xfs) is make-tree.py's tree with
 * links/hard-b turned into a copy (nlink 1 on both sides) and the one spaced name renamed.
 */

const devices: BlockDevice[] = [];
after(async () => {
  for (const d of devices) await d.close();
});
async function dev(name: string): Promise<RawDevice> {
  const d = await RawDevice.open(fixture(name));
  devices.push(d);
  return d;
}
async function openXfs(d: BlockDevice): Promise<XfsFileSystem> {
  return (await openFilesystem(d, 'xfs')) as XfsFileSystem;
}
async function inodeOf(fs: XfsFileSystem, path: string) {
  const r = await new Vfs(fs).resolve(path, false);
  return fs.inode(r.ino);
}
async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGuestkitError(err, 'CORRUPT_IMAGE'), `expected CORRUPT_IMAGE, got ${String(err)}`);
    assert.match((err as Error).message, re);
    return true;
  });
}

for (const [img, label] of [
  ['xfs-v5.img', 'v5 (CRC, ftype)'],
  ['xfs-v4.img', 'v4 without ftype'],
  ['xfs-v4-ftype.img', 'v4 with ftype, 512-byte inodes'],
] as const) {
  test(`xfs ${label}: tree matches the source, label and UUID match blkid`, async () => {
    const fs = await openXfs(await dev(img));
    const rep = await compareTree(OUT + 'tree-xfs', new Vfs(fs));
    assert.deepEqual(rep.mismatches, []);
    assert.ok(rep.files > 5000 && rep.dirs > 70 && rep.links >= 10, JSON.stringify(rep));
    const ref = blkid(OUT + img);
    assert.equal(fs.info.type, 'xfs');
    assert.equal(fs.info.label, ref.LABEL);
    assert.equal(fs.info.uuid, ref.UUID);
    assert.deepEqual(fs.info.warnings, []);
    assert.equal(fs.info.version, img === 'xfs-v5.img' ? 5 : 4);
  });
}

test('xfs: free and total space agree with xfs_db', async () => {
  const fs = await openXfs(await dev('xfs-v5.img'));
  const out = execFileSync('xfs_db', ['-r', '-c', 'sb 0', '-c', 'p dblocks fdblocks blocksize', fixture('xfs-v5.img')], { encoding: 'utf8' });
  const f = Object.fromEntries([...out.matchAll(/(\w+) = (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  assert.equal(fs.info.totalBytes, f.dblocks! * f.blocksize!);
  assert.equal(fs.info.freeBytes, f.fdblocks! * f.blocksize!);
});

test('xfs: the fixture covers every directory form (short form, block, leaf, node with a bmbt fork)', async () => {
  const fs = await openXfs(await dev('xfs-v5.img'));
  assert.equal((await inodeOf(fs, '/links')).format, FMT_LOCAL);
  const block = await inodeOf(fs, '/many/d00');
  assert.equal(block.format, FMT_EXTENTS);
  assert.equal(block.size, 4096);
  const leaf = await inodeOf(fs, '/leafdir');
  assert.equal(leaf.format, FMT_EXTENTS);
  assert.ok(leaf.nextents >= 3);
  const node = await inodeOf(fs, '/hugedir');
  assert.equal(node.format, FMT_BTREE);
  const vfs = new Vfs(fs);
  assert.equal((await vfs.readdirNames('/hugedir')).length, 2500);
  assert.equal((await vfs.readdirNames('/leafdir')).length, 300);
  assert.equal(await vfs.readText('/hugedir/entry-with-a-longer-name-01234'), '1234\n');
  assert.equal(await vfs.exists('/hugedir/entry-with-a-longer-name-02500'), false);
});

test('xfs: v4 dir entries without ftype still give file types (by stat)', async () => {
  const fs = await openXfs(await dev('xfs-v4.img'));
  assert.equal(fs.sb.ftype, false);
  const raw = await fs.readdir(fs.rootIno);
  assert.ok(raw.every((e) => e.type === 'unknown'));
  const ents = await new Vfs(fs).readdir('/links');
  assert.equal(ents.find((e) => e.name === 'abs-dir')?.type, 'symlink');
  assert.equal(ents.find((e) => e.name === 'hard-a')?.type, 'file');
  // 207-byte target does not fit a 256-byte v4 inode: a remote symlink.
  assert.equal((await inodeOf(fs, '/links/long-target')).format, FMT_EXTENTS);
});

test('xfs fragmented image: multi-AG extents, bmbt B+tree fork with holes, sparse file, remote v5 symlink', async () => {
  const fs = await openXfs(await dev('xfs-frag.img'));
  const rep = await compareTree(OUT + 'tree-frag', new Vfs(fs));
  assert.deepEqual(rep.mismatches, []);
  assert.equal(rep.files, 3);
  const huge = await inodeOf(fs, '/huge.bin');
  assert.equal(huge.format, FMT_EXTENTS);
  assert.ok(huge.nextents >= 4, `huge.bin has ${huge.nextents} extents`);
  const holey = await inodeOf(fs, '/holey.bin');
  assert.equal(holey.format, FMT_BTREE);
  assert.ok(holey.nextents >= 60);
  assert.equal((await inodeOf(fs, '/remote-link')).format, FMT_EXTENTS);
  // Reads that straddle extent and hole boundaries.
  const vfs = new Vfs(fs);
  const whole = await vfs.readFile('/holey.bin');
  assert.deepEqual(await vfs.readRange('/holey.bin', 131072 - 100, 9000), whole.subarray(131072 - 100, 131072 + 8900));
  const sp = await vfs.readRange('/sparse.bin', 5 * 1024 * 1024 - 10, 30);
  assert.deepEqual(sp, Buffer.concat([Buffer.alloc(10), Buffer.from('middlemiddlemiddlemi')]));
});

test('xfs: an unwritten (preallocated) extent reads as zeros', async () => {
  const base = await dev('xfs-frag.img');
  const fs0 = await openXfs(base);
  const sp = await inodeOf(fs0, '/sparse.bin');
  assert.equal(sp.format, FMT_EXTENTS);
  const at = new AgGeometry(fs0.sb).inodeToByte(sp.ino) + 176; // first extent record of the data fork
  const first = (await base.read(at, 1))[0]!;
  const fs = await openXfs(new PatchedDevice(base, [[at, Buffer.from([first | 0x80])]]));
  const vfs = new Vfs(fs);
  const data = await vfs.readFile('/sparse.bin');
  assert.equal(data.length, 12 * 1024 * 1024);
  assert.ok(data.every((b) => b === 0));
});

test('xfs corrupted: bad superblock magic, absurd geometry', async () => {
  const base = await dev('xfs-v5.img');
  await rejects(openXfs(new PatchedDevice(base, [[0, Buffer.from('XFSX')]])), /bad magic/);
  await rejects(openXfs(new PatchedDevice(base, [[84, u32be(0)]])), /AG size/);
  await rejects(openXfs(new PatchedDevice(base, [[88, u32be(1_000_000)]])), /blocks in|claims/);
});

test('xfs corrupted: root inode and directory entries pointing past the end', async () => {
  const base = await dev('xfs-v5.img');
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(1n << 40n);
  await rejects(openXfs(new PatchedDevice(base, [[56, b]])), /outside the filesystem/);
  // A short-form entry's inode number (root dir: count, i8count, 4-byte parent, then entries).
  const fs0 = await openXfs(base);
  const root = await fs0.inode(fs0.rootIno);
  assert.equal(root.format, FMT_LOCAL);
  const rootAt = new AgGeometry(fs0.sb).inodeToByte(fs0.rootIno) + 176;
  const nameLen = root.dataFork[6]!;
  const inoAt = rootAt + 6 + 3 + nameLen + 1; // namelen, offset, name, ftype
  const fs = await openXfs(new PatchedDevice(base, [[inoAt, u32be(0xfff00000)]]));
  const first = (await fs.readdir(fs.rootIno))[0]!;
  await rejects(fs.stat(first.ino), /outside the filesystem/);
  // An inode whose magic is broken.
  await rejects(openXfs(new PatchedDevice(base, [[rootAt - 176, Buffer.from('XX')]])), /bad magic/);
});

test('xfs corrupted: broken directory block magic, absurd and looping bmbt', async () => {
  const base = await dev('xfs-v5.img');
  const fs0 = await openXfs(base);
  const leaf = await inodeOf(fs0, '/leafdir');
  const geo = new AgGeometry(fs0.sb);
  const firstBlock = leaf.dataFork.readBigUInt64BE(8) >> 21n | ((leaf.dataFork.readBigUInt64BE(0) & 0x1ffn) << 43n);
  const dirAt = geo.fsbToByte(Number(firstBlock), 'test');
  const fs1 = await openXfs(new PatchedDevice(base, [[dirAt, Buffer.from('XXXX')]]));
  await rejects(new Vfs(fs1).readdir('/leafdir'), /bad directory block magic/);

  const frag = await dev('xfs-frag.img');
  const fsF = await openXfs(frag);
  const holey = await inodeOf(fsF, '/holey.bin');
  const forkAt = new AgGeometry(fsF.sb).inodeToByte(holey.ino) + 176;
  const level = Buffer.alloc(2);
  level.writeUInt16BE(60);
  const fs2 = await openXfs(new PatchedDevice(frag, [[forkAt, level]]));
  await rejects(new Vfs(fs2).readFile('/holey.bin'), /absurd/);
  // Root claims two levels while its child is a leaf: the level check stops the descent.
  level.writeUInt16BE(2);
  const fs3 = await openXfs(new PatchedDevice(frag, [[forkAt, level]]));
  await rejects(new Vfs(fs3).readFile('/holey.bin'), /level/);
  // Two root pointers to the same block: a loop.
  const root = holey.dataFork;
  const maxRecs = Math.floor((root.length - 4) / 16);
  const ptr = root.subarray(4 + maxRecs * 8, 4 + maxRecs * 8 + 8);
  const two = Buffer.alloc(2);
  two.writeUInt16BE(2);
  const fs4 = await openXfs(new PatchedDevice(frag, [[forkAt + 2, two], [forkAt + 4 + maxRecs * 8 + 8, Buffer.from(ptr)]]));
  await rejects(new Vfs(fs4).readFile('/holey.bin'), /twice|loop|order/);
});

test('xfs: a log whose last record is not an unmount record gives a warning, not a replay', async () => {
  const base = await dev('xfs-v5.img');
  const fs0 = await openXfs(base);
  const logAt = new AgGeometry(fs0.sb).fsbToByte(fs0.sb.logStart, 'log');
  // Clear XLOG_UNMOUNT_TRANS in the op header of the unmount record mkfs wrote.
  const flags = (await base.read(logAt + 512 + 9, 1))[0]!;
  assert.equal(flags & 0x20, 0x20);
  const fs = await openXfs(new PatchedDevice(base, [[logAt + 512 + 9, Buffer.from([flags & ~0x20])]]));
  assert.equal(fs.info.warnings?.length, 1);
  assert.match(fs.info.warnings![0]!, /log is dirty/);
  assert.equal(await new Vfs(fs).readText('/etc/hostname'), 'fixture-host\n');
});
