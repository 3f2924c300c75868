import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import { newReadStats, type BlockDevice } from '../../src/disk/types.js';
import { FatFs } from '../../src/fs/fat/index.js';
import { openFilesystem } from '../../src/fs/open.js';
import { Vfs } from '../../src/fs/vfs.js';
import { probe } from '../../src/volume/probe.js';
import { compareTree } from '../helpers/tree-compare.js';
import { OUT, PatchedDevice, blkid, fixture, le, rejectsWith } from './ext4-fat-helpers.js';

/*
 * Fixtures: test/fixtures/fs-ext/build.sh (mkfs.vfat -F 12/16/32, then mcopy -s of a
 * make-tree.py --fat tree; /etc/hostname gets the read-only attribute with mattrib).
 */

const SRC = OUT + 'src-fat';
const devices: BlockDevice[] = [];
after(async () => {
  for (const d of devices) await d.close();
});
async function dev(name: string, stats = newReadStats()): Promise<RawDevice> {
  const d = await RawDevice.open(fixture(name), stats);
  devices.push(d);
  return d;
}
async function patched(name: string, patches: [number, Buffer][]): Promise<Vfs> {
  return new Vfs(await FatFs.open(new PatchedDevice(await dev(name), patches)));
}
/** Clusters of a file as mtools' mshowfat lists them ("<10610-12145>" runs). */
function clustersOf(img: string, path: string): number[] {
  const out = execFileSync('mshowfat', ['-i', fixture(img), `::${path}`], { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  const runs = [...out.matchAll(/<(\d+)(?:-(\d+))?>/g)].map((m) => [Number(m[1]), Number(m[2] ?? m[1])] as const);
  assert.ok(runs.length > 0, out);
  return runs.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
}
/** `fsck.fat -n -v`'s "N files, used/total clusters" line. */
function fsckClusters(img: string): { used: number; total: number } {
  let out: string;
  try {
    out = execFileSync('fsck.fat', ['-n', '-v', fixture(img)], { encoding: 'utf8', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  } catch (err) {
    out = String((err as { stdout?: string }).stdout ?? '');
  }
  const m = /(\d+)\/(\d+) clusters/.exec(out);
  assert.ok(m, out);
  return { used: Number(m[1]), total: Number(m[2]) };
}

const VARIANTS: [string, 12 | 16 | 32, string[]][] = [
  // FAT12 is small: only part of the tree was copied onto it.
  ['fat12.img', 12, ['deep', 'empty-dir', 'etc', 'many', 'names', 'unicode']],
  ['fat16.img', 16, readdirSync(SRC).sort()],
  ['fat32.img', 32, readdirSync(SRC).sort()],
];

for (const [img, bits, top] of VARIANTS) {
  test(`FAT${bits}: tree matches the source (long names, stored case); label, volume id and free space match blkid and fsck.fat`, async () => {
    const ref = blkid(fixture(img));
    const fs = (await openFilesystem(await dev(img), ref.TYPE!)) as FatFs;
    assert.equal(fs.bs.fatType, bits);
    assert.equal(fs.info.version, ref.VERSION);
    const vfs = new Vfs(fs);
    assert.deepEqual((await vfs.readdirNames('/')).sort(), top);
    let files = 0;
    for (const name of top) {
      const rep = await compareTree(`${SRC}/${name}`, vfs, `/${name}`, { modes: false, links: false, mtimes: true });
      assert.deepEqual(rep.mismatches, []);
      files += rep.files;
    }
    assert.ok(files >= (bits === 12 ? 300 : 600), `${files} files compared`);
    assert.equal(fs.info.type, 'vfat');
    assert.equal(fs.info.uuid, ref.UUID);
    assert.equal(fs.info.label, ref.LABEL);
    assert.equal(fs.info.labelBootSector, ref.LABEL_FATBOOT);
    const { used, total } = fsckClusters(img);
    assert.equal(fs.info.clusterCount, total);
    assert.equal(fs.info.freeBytes, (total - used) * fs.bs.clusterSize);
    assert.deepEqual(fs.info.warnings, []);
  });
}

test('FAT32 with an FSInfo that cannot be trusted: the free clusters counted over the whole FAT match fsck.fat', async () => {
  const raw = await dev('fat32.img');
  const boot = await raw.read(0, 512);
  const fsInfoAt = boot.readUInt16LE(48) * boot.readUInt16LE(11);
  // a broken lead signature: FSInfo is ignored and every FAT entry is read
  const fs = await FatFs.open(new PatchedDevice(raw, [[fsInfoAt, Buffer.from('XXXX')]]));
  const { used, total } = fsckClusters('fat32.img');
  assert.equal(fs.info.freeClusters, total - used);
});

test('FAT: modes as Linux vfat with umask 022 shows them, owners root, 2-second mtimes', async () => {
  const vfs = new Vfs(await FatFs.open(await dev('fat16.img')));
  assert.equal((await vfs.stat('/etc/os-release')).mode, 0o100755);
  assert.equal((await vfs.stat('/etc/hostname')).mode, 0o100555, 'read-only attribute drops the write bits');
  assert.equal((await vfs.stat('/etc')).mode, 0o40755);
  assert.equal((await vfs.stat('/')).mode, 0o40755);
  const st = await vfs.stat('/names/UPPER.TXT');
  assert.equal(st.uid, 0);
  assert.equal(st.gid, 0);
  assert.equal(st.mtimeMs, 1700000000 * 1000);
  await assert.rejects(vfs.readlink('/etc/hostname'), /EINVAL/);
});

test('FAT: lookups ignore case and accept 8.3 aliases; readdir keeps the stored case', async () => {
  const fs = await FatFs.open(await dev('fat32.img'));
  const vfs = new Vfs(fs);
  assert.equal(await vfs.readText('/ETC/HOSTNAME'), 'fixture-host\n');
  assert.equal(await vfs.readText('/names/a very long file name with spaces and mixed case.text'), 'long name\n');
  assert.equal(await vfs.readText('/names/AVERYL~1.TEX'), 'long name\n');
  assert.equal(await vfs.readText('/Names/Lower.TXT'), 'lower\n');
  const names = await vfs.readdirNames('/names');
  assert.ok(names.includes('lower.txt') && names.includes('UPPER.TXT'), names.join(','));
  // lower.txt has no long name: its case comes from the NT lowercase flags (0x08|0x10).
  const ino = (await vfs.resolve('/names/lower.txt', false)).ino;
  const raw = await (await dev('fat32.img')).read(ino * 32 - 32, 64);
  assert.notEqual(raw[32 + 11], 0x0f);
  assert.notEqual(raw[11], 0x0f, 'no LFN entry before lower.txt');
  assert.equal(raw[32 + 12]! & 0x18, 0x18);
});

test('FAT: a broken long name (checksum mismatch) falls back to the 8.3 name', async () => {
  const fs = await FatFs.open(await dev('fat16.img'));
  const ino = (await new Vfs(fs).resolve('/names/A Very Long File Name With Spaces And Mixed Case.Text', false)).ino;
  // The LFN slot right before the 8.3 entry holds part 1 and the checksum at byte 13.
  const lfnAt = ino * 32 - 32;
  const vfs = await patched('fat16.img', [[lfnAt + 13, Buffer.from([0x00])]]);
  const names = await vfs.readdirNames('/names');
  assert.ok(names.includes('AVERYL~1.TEX'), names.join(','));
  assert.ok(!names.some((n) => n.startsWith('A Very')));
  assert.equal(await vfs.readText('/names/averyl~1.tex'), 'long name\n');
});

test('FAT: a range read touches only its clusters and the FAT pages', async () => {
  const stats = newReadStats();
  const vfs = new Vfs(await FatFs.open(await dev('fat32.img', stats)));
  await vfs.stat('/large/big.bin');
  const before = stats.bytesRead;
  const got = await vfs.readRange('/large/big.bin', 2 * 1024 * 1024, 4096);
  assert.ok(got.equals(readFileSync(`${SRC}/large/big.bin`).subarray(2 * 1024 * 1024, 2 * 1024 * 1024 + 4096)));
  const used = stats.bytesRead - before;
  assert.ok(used <= 64 * 1024 + 4096 + 1, `${used} bytes read`);
});

test('FAT corrupt: BPB bytes per sector 0, sectors per cluster 3, FAT size 0', async () => {
  await rejectsWith(patched('fat16.img', [[11, le(2, 0)]]), 'CORRUPT_IMAGE', /bytes per sector 0 .*\(byte 11\)/);
  await rejectsWith(patched('fat16.img', [[13, Buffer.from([3])]]), 'CORRUPT_IMAGE', /sectors per cluster 3/);
  await rejectsWith(patched('fat32.img', [[36, le(4, 0)]]), 'CORRUPT_IMAGE', /FAT size is 0/);
  await rejectsWith(patched('fat16.img', [[22, le(2, 1)]]), 'CORRUPT_IMAGE', /FAT of 1 sectors cannot describe/);
});

test('FAT: probe and driver read one boot-sector parser: same volume id and boot label; blkid-plausible but unusable is vfat to the probe, CORRUPT_IMAGE to the driver', async () => {
  for (const img of ['fat12.img', 'fat16.img', 'fat32.img']) {
    const d = await dev(img);
    const p = await probe(d);
    const fs = await FatFs.open(d);
    assert.equal(p?.type, 'vfat');
    assert.equal(p?.uuid, fs.info.uuid);
    assert.equal(p?.version, `FAT${fs.bs.fatType}`);
    assert.equal(p?.block_size, fs.bs.bytesPerSector);
  }
  // a FAT16 BPB without root directory entries passes blkid's test, not the driver's
  const noRoot = new PatchedDevice(await dev('fat16.img'), [[17, le(2, 0)]]);
  assert.equal((await probe(noRoot))?.type, 'vfat');
  await rejectsWith(FatFs.open(noRoot), 'CORRUPT_IMAGE', /FAT16 volume without root directory entries \(byte 17\)/);
  // a media byte blkid refuses: not FAT to the probe
  assert.equal((await probe(new PatchedDevice(await dev('fat16.img'), [[21, Buffer.from([0x12])]])))?.type, undefined);
});

test('FAT corrupt: a looping cluster chain and a cluster past the end give CORRUPT_IMAGE, not a hang', async () => {
  for (const [img, width] of [['fat16.img', 2], ['fat32.img', 4]] as const) {
    const fs = await FatFs.open(await dev(img));
    const fatAt = fs.bs.fatOffset;
    const [c0, c1] = clustersOf(img, '/large/big.bin');
    // Second cluster's entry points back at the first: a loop.
    let vfs = await patched(img, [[fatAt + c1! * width, le(width, c0!)]]);
    await rejectsWith(vfs.readFile('/large/big.bin'), 'CORRUPT_IMAGE', new RegExp(`big.bin.*loops back to cluster ${c0}`));
    // First cluster's entry points past the last cluster.
    const past = fs.bs.clusterCount + 10;
    vfs = await patched(img, [[fatAt + c0! * width, le(width, past)]]);
    await rejectsWith(vfs.readFile('/large/big.bin'), 'CORRUPT_IMAGE', new RegExp(`cluster ${past} lies outside`));
    // A directory whose chain loops onto itself.
    const [d0] = clustersOf(img, '/hugedir');
    vfs = await patched(img, [[fatAt + d0! * width, le(width, d0!)]]);
    await rejectsWith(vfs.readdir('/hugedir'), 'CORRUPT_IMAGE', /hugedir.*loops back/);
  }
});

test('FAT corrupt: a file larger than its chain, an entry starting past the end', async () => {
  const fs = await FatFs.open(await dev('fat16.img'));
  const ino = (await new Vfs(fs).resolve('/etc/os-release', false)).ino;
  let vfs = await patched('fat16.img', [[ino * 32 + 28, le(4, 10_000_000)]]);
  await rejectsWith(vfs.readFile('/etc/os-release'), 'CORRUPT_IMAGE', /needs \d+ clusters but its chain ends after 1/);
  vfs = await patched('fat16.img', [[ino * 32 + 26, le(2, 0xfff0)]]);
  await rejectsWith(vfs.readFile('/etc/os-release'), 'CORRUPT_IMAGE', /cluster 65520 lies outside/);
});

test('FAT: deleted entries (0xE5 slots, with their long-name parts) are skipped', async () => {
  for (const img of ['fat12.img', 'fat16.img', 'fat32.img']) {
    const fs = await FatFs.open(await dev(img));
    const vfs = new Vfs(fs);
    assert.deepEqual((await vfs.readdirNames('/etc')).sort(), ['hostname', 'os-release']);
    // The slots are still there: mdel only marks them.
    const [c] = clustersOf(img, '/etc');
    const raw = await (await dev(img)).read(fs.bs.dataOffset + (c! - 2) * fs.bs.clusterSize, fs.bs.clusterSize);
    let deleted = 0;
    for (let p = 0; p < raw.length && raw[p] !== 0; p += 32) if (raw[p] === 0xe5) deleted++;
    assert.ok(deleted >= 2, `${img}: ${deleted} deleted slots in /etc`);
    assert.equal(await vfs.exists('/etc/A deleted file with a long name.txt'), false);
  }
});
