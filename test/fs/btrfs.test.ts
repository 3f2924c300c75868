import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import type { BlockDevice } from '../../src/disk/types.js';
import { BtrfsFileSystem } from '../../src/fs/btrfs/index.js';
import { btrfsNameHash } from '../../src/fs/btrfs/name-hash.js';
import { lzo1xDecompress } from '../../src/fs/btrfs/lzo.js';
import { openFilesystem, type FsOpenOptions } from '../../src/fs/open.js';
import { Vfs } from '../../src/fs/vfs.js';
import { crc32c } from '../../src/util/crc32c.js';
import { isGuestkitError, type ErrorCode } from '../../src/protocol/errors.js';
import { compareTree } from '../helpers/tree-compare.js';
import { OUT, PatchedDevice, blkid, fixture } from './xfs-helpers.js';

const devices: BlockDevice[] = [];
after(async () => {
  for (const d of devices) await d.close();
});
async function dev(name: string): Promise<RawDevice> {
  const d = await RawDevice.open(fixture(name));
  devices.push(d);
  return d;
}
async function open(d: BlockDevice, opts: FsOpenOptions = {}): Promise<BtrfsFileSystem> {
  return (await openFilesystem(d, 'btrfs', opts)) as BtrfsFileSystem;
}
async function rejects(p: Promise<unknown>, re: RegExp, code: ErrorCode = 'CORRUPT_IMAGE'): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGuestkitError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match((err as Error).message, re);
    return true;
  });
}
function dumpTree(img: string): string {
  return execFileSync('btrfs', ['inspect-internal', 'dump-tree', '-t', 'fs', fixture(img)], { encoding: 'utf8', maxBuffer: 256 << 20 });
}

test('btrfs name hash', () => {
  // DIR_ITEM key offset of "default" as btrfs-progs dump-tree prints it (fixture btrfs-sub.img).
  assert.equal(btrfsNameHash(Buffer.from('default')), 2378154706);
});

for (const [img, compression] of [
  ['btrfs-plain.img', 0],
  ['btrfs-zlib.img', 1],
  ['btrfs-lzo.img', 2],
  ['btrfs-zstd.img', 3],
] as const) {
  test(`btrfs ${img}: tree matches the source (hard links too), label and UUID match blkid`, async () => {
    const fs = await open(await dev(img));
    const rep = await compareTree(OUT + 'tree', new Vfs(fs));
    assert.deepEqual(rep.mismatches, []);
    assert.ok(rep.files > 5000 && rep.dirs > 70 && rep.links >= 10, JSON.stringify(rep));
    const ref = blkid(OUT + img);
    assert.equal(fs.info.type, 'btrfs');
    assert.equal(fs.info.label, ref.LABEL);
    assert.equal(fs.info.uuid, ref.UUID);
    assert.deepEqual(fs.info.warnings, []);
    assert.equal(fs.info.subvolid, 5);
    // The image really holds extents of this compression type (btrfs-progs' own view).
    const n = (dumpTree(img).match(new RegExp(`compression ${compression} `, 'g')) ?? []).length;
    if (compression) assert.ok(n > 50, `${n} extents with compression ${compression}`);
  });
}

test('btrfs: free/used bytes follow the superblock', async () => {
  const fs = await open(await dev('btrfs-plain.img'));
  const out = execFileSync('btrfs', ['inspect-internal', 'dump-super', fixture('btrfs-plain.img')], { encoding: 'utf8' });
  const used = Number(/bytes_used\s+(\d+)/.exec(out)![1]);
  const total = Number(/total_bytes\s+(\d+)/.exec(out)![1]);
  assert.equal(fs.info.usedBytes, used);
  assert.equal(fs.info.totalBytes, total);
  assert.equal(fs.info.freeBytes, total - used);
});

test('btrfs subvolumes: default subvolume, subvol=, subvolid=, nested subvolume crossing', async () => {
  const d = await dev('btrfs-sub.img');
  // Default: "@" (set with mkfs --subvol default:@); nested "@/nested" appears as a directory.
  const def = await open(d);
  assert.notEqual(def.info.subvolid, 5);
  let rep = await compareTree(OUT + 'tree-sub/@', new Vfs(def));
  assert.deepEqual(rep.mismatches, []);
  assert.ok(rep.files > 5000);
  const vfs = new Vfs(def);
  const nested = await vfs.stat('/nested');
  const inner = await vfs.stat('/nested/inner.txt');
  assert.ok(nested.isDirectory());
  assert.ok(nested.ino >= 2 ** 52 && inner.ino >= 2 ** 52 && nested.ino !== inner.ino, `${nested.ino} ${inner.ino}`);
  assert.equal(await vfs.readText('/nested/inner.txt'), 'nested file\n');
  assert.equal((await vfs.stat('/nested/inner.txt')).ino, inner.ino);

  const top = await open(d, { subvolid: 5 });
  assert.deepEqual((await new Vfs(top).readdirNames('/')).sort(), ['@', '@home']);
  rep = await compareTree(OUT + 'tree-sub', new Vfs(top));
  assert.deepEqual(rep.mismatches, []);

  const home = await open(d, { subvol: '/@home' });
  rep = await compareTree(OUT + 'tree-sub/@home', new Vfs(home));
  assert.deepEqual(rep.mismatches, []);
  assert.equal(rep.files, 1);
  const byId = await open(d, { subvolid: home.info.subvolid as number });
  assert.equal(await new Vfs(byId).readText('/user/notes.txt'), 'home file\n');
  const nest = await open(d, { subvol: '@/nested' });
  assert.deepEqual(await new Vfs(nest).readdirNames('/'), ['inner.txt']);

  await rejects(open(d, { subvol: '@/etc' }), /not a subvolume/, 'NOT_FOUND');
  await rejects(open(d, { subvol: 'missing' }), /does not exist/, 'NOT_FOUND');
  await rejects(open(d, { subvolid: 4242 }), /no subvolume/, 'NOT_FOUND');
});

/** Stats and lists every inode reachable from `ino` (touches every fs-tree leaf). */
async function walkAll(fs: BtrfsFileSystem, ino: number): Promise<void> {
  for (const e of await fs.readdir(ino)) {
    const st = await fs.stat(e.ino);
    if (st.type === 'directory') await walkAll(fs, e.ino);
    else if (st.type === 'file') await fs.read(e.ino, 0, 1);
  }
}

/** The primary superblock with `edit` applied and its checksum recomputed. */
async function superPatch(d: BlockDevice, edit: (b: Buffer) => void): Promise<[number, Buffer]> {
  const b = Buffer.from(await d.read(0x10000, 4096));
  edit(b);
  b.writeUInt32LE(crc32c(b.subarray(32)), 0);
  return [0x10000, b];
}
const KILL_MIRROR: [number, Buffer] = [0x4000000 + 64, Buffer.from('XXXXXXXX')];

test('btrfs superblocks: a broken primary falls back to the mirror; all broken is CORRUPT_IMAGE', async () => {
  const d = await dev('btrfs-plain.img');
  const fs = await open(new PatchedDevice(d, [[0x10000 + 64, Buffer.from('XXXXXXXX')]]));
  assert.equal(await new Vfs(fs).readText('/etc/hostname'), 'fixture-host\n');
  const flipped = await open(new PatchedDevice(d, [[0x10000 + 500, Buffer.from([0x55])]])); // checksum mismatch
  assert.equal(flipped.info.label, 'btrplain');
  await rejects(open(new PatchedDevice(d, [[0x10000 + 64, Buffer.from('XXXXXXXX')], KILL_MIRROR])), /bad magic/);
});

test('btrfs corrupted: missing chunk mapping, absurd and looping tree levels', async () => {
  const d = await dev('btrfs-plain.img');
  // Root tree pointer to a logical address no chunk maps.
  await rejects(open(new PatchedDevice(d, [await superPatch(d, (b) => b.writeBigUInt64LE(1n << 45n, 80)), KILL_MIRROR])), /no chunk maps logical address/);
  // Empty bootstrap chunk array.
  await rejects(open(new PatchedDevice(d, [await superPatch(d, (b) => b.writeUInt32LE(0, 160)), KILL_MIRROR])), /sys_chunk_array is empty/);
  // Absurd root level in the superblock, then in a tree block header.
  await rejects(open(new PatchedDevice(d, [await superPatch(d, (b) => b.writeUInt8(60, 198)), KILL_MIRROR])), /level above 7/);
  const fs = await open(d);
  const out = dumpTree('btrfs-plain.img');
  const m = /^node (\d+) level (\d+) items/m.exec(out)!;
  const rootLogical = Number(m[1]);
  assert.ok(Number(m[2]) >= 1, 'fs tree root is an internal node');
  const chunks = (fs as unknown as { vol: { chunks: { map(l: number, w: string): { physical: number } } } }).vol.chunks;
  const phys = chunks.map(rootLogical, 'test').physical;
  // Both DUP copies are patched the same way through the one mapping the reader uses.
  await rejects(open(new PatchedDevice(d, [[phys + 100, Buffer.from([40])]])), /level 40, expected/);
  // A child pointer back to the root itself: a loop, stopped by the level check.
  const self = Buffer.alloc(8);
  self.writeBigUInt64LE(BigInt(rootLogical));
  const fsLoop = await open(new PatchedDevice(d, [[phys + 101 + 33 * 2 + 17, self]]));
  await rejects(walkAll(fsLoop, fsLoop.rootIno), /level \d+, expected|outside the range/);
});

test('btrfs corrupted: compressed extents that do not decode', async () => {
  for (const [img, re] of [
    ['btrfs-zlib.img', /does not decode/],
    ['btrfs-lzo.img', /lzo/],
    ['btrfs-zstd.img', /zstd|does not decode/],
  ] as const) {
    const d = await dev(img);
    const fs0 = await open(d);
    const vfs0 = new Vfs(fs0);
    const ino = (await vfs0.stat('/large/big.bin')).ino;
    const ext = await (fs0 as unknown as { fileExtents(l: { tree: number; oid: number }): Promise<{ compression: number; diskBytenr: number }[]> }).fileExtents({ tree: 5, oid: ino });
    const e = ext.find((x) => x.compression !== 0)!;
    assert.ok(e, `${img}: big.bin has a compressed extent`);
    const chunks = (fs0 as unknown as { vol: { chunks: { map(l: number, w: string): { physical: number } } } }).vol.chunks;
    const phys = chunks.map(e.diskBytenr, 'test').physical;
    const garbage = Buffer.alloc(64, 0xa5);
    garbage.writeUInt32LE(60, 0); // lzo: a plausible total length, then nonsense
    const fs = await open(new PatchedDevice(d, [[phys, garbage]]));
    await rejects(new Vfs(fs).readFile('/large/big.bin'), re);
  }
});

test('lzo1x decoder: output bounds and truncated input are CORRUPT_IMAGE', () => {
  // 0x11 0 0 is the end-of-stream marker; "abc" as a leading literal run (first byte 17+3).
  assert.deepEqual(lzo1xDecompress(Buffer.from([20, 0x61, 0x62, 0x63, 0x11, 0, 0]), 16), Buffer.from('abc'));
  assert.throws(() => lzo1xDecompress(Buffer.from([20, 0x61, 0x62, 0x63, 0x11, 0, 0]), 2), /output overrun/);
  assert.throws(() => lzo1xDecompress(Buffer.from([20, 0x61]), 16), /past input/);
  assert.throws(() => lzo1xDecompress(Buffer.from([20, 0x61, 0x62, 0x63, 0x40, 0x09]), 64), /before start/);
});
