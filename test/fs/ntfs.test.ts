import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import { openFilesystem } from '../../src/fs/open.js';
import { NtfsFileSystem, openNtfs } from '../../src/fs/ntfs/ntfs.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { compareTree } from '../helpers/tree-compare.js';

const OUT = join(REPO, 'test', 'fixtures', 'out', 'fs-ntfs') + '/';
const TREE_IMG = `${OUT}tree.img`;
const SPECIAL_IMG = `${OUT}special.img`;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { maxBuffer: 256 << 20 });
/** ntfscat is the reference reader (libntfs-3g). */
const ntfscat = (img: string, path: string, stream?: string) => run('ntfscat', stream ? ['-n', stream, img, path] : [img, path]);

let treeDev: RawDevice;
let specialDev: RawDevice;
let tree: NtfsFileSystem;
let special: NtfsFileSystem;
let tv: Vfs;
let sv: Vfs;

before(async () => {
  treeDev = await RawDevice.open(TREE_IMG);
  specialDev = await RawDevice.open(SPECIAL_IMG);
  tree = await openNtfs(treeDev);
  special = await openNtfs(specialDev);
  tv = new Vfs(tree);
  sv = new Vfs(special);
});
after(async () => {
  await treeDev.close();
  await specialDev.close();
});

test('ntfs: the whole make-tree.py tree matches the host copy (contents, links, hard links, mtimes)', async () => {
  // NTFS (ntfs-3g without a user mapping) holds no POSIX modes or owners: modes and owners are not compared.
  const rep = await compareTree(`${OUT}tree`, tv, '/', { nameCase: 'exact', modes: false, owners: false, links: true, mtimes: true });
  assert.deepEqual(rep.mismatches, []);
  assert.ok(rep.files > 2900, `files ${rep.files}`);
  assert.ok(rep.links >= 10, `links ${rep.links}`);
  assert.ok(rep.dirs > 70, `dirs ${rep.dirs}`);
});

test('ntfs: info matches blkid -p (label, serial) and the volume geometry', async () => {
  for (const [img, fs] of [
    [TREE_IMG, tree],
    [SPECIAL_IMG, special],
  ] as const) {
    const blk = (tag: string) => run('blkid', ['-p', '-o', 'value', '-s', tag, img]).toString('utf8').trim();
    assert.equal(fs.info.type, 'ntfs');
    assert.equal(fs.info.label, blk('LABEL'));
    assert.equal(fs.info.uuid, blk('UUID'));
    assert.equal(fs.info.blockSize, 4096);
    assert.equal(fs.info.version, '3.1');
    assert.ok((fs.info.freeBytes ?? 0) > 0 && (fs.info.usedBytes ?? 0) > 0);
    assert.equal(fs.info.freeBytes! + fs.info.usedBytes!, fs.info.totalBytes);
  }
  assert.equal(tree.info.uuid, '0123456789ABCDEF');
  assert.equal(tree.info.label, 'GUESTKIT NTFS');
  assert.equal(special.info.label, 'Spécial');
});

test('ntfs: free space agrees with ntfsinfo', () => {
  const txt = run('ntfsinfo', ['-m', TREE_IMG]).toString();
  const free = Number(/Free Clusters:\s+(\d+)/.exec(txt)?.[1]);
  assert.ok(free > 0, txt);
  assert.equal(tree.info.freeBytes, free * 4096);
});

test('ntfs: opens through the filesystem registry', async () => {
  const fs = await openFilesystem(treeDev, 'ntfs');
  assert.equal(fs.info.uuid, '0123456789ABCDEF');
  assert.equal(await new Vfs(fs).readText('/etc/hostname'), 'fixture-host\n');
});

test('ntfs: lookup is case-insensitive through $UpCase, readdir keeps stored names', async () => {
  assert.equal(await tv.readText('/HUGEDIR/ENTRY-WITH-A-LONGER-NAME-01234'), '1234\n');
  assert.equal(await tv.readText('/Etc/HostName'), 'fixture-host\n');
  // É / Ü / Ï need the Unicode table, not just ASCII folding
  assert.equal(await tv.readText('/UNICODE/CAFÉ.TXT'), 'café.txt\n');
  assert.equal(await tv.readText('/unicode/ÜNÏCÖDÉ-ÑAME'), 'Ünïcödé-ñame\n');
  assert.equal(await tv.readText('/names/upper.txt'), 'upper\n');
  assert.equal(await tv.exists('/names/upper.txt.'), false);
  assert.deepEqual((await tv.readdirNames('/names')).sort(), ['A Very Long File Name With Spaces And Mixed Case.Text', 'UPPER.TXT', 'lower.txt', 'multi.dot.name.tar.gz']);
  const ino = await tree.lookup(tree.rootIno, 'ETC');
  assert.equal(ino, await tree.lookup(tree.rootIno, 'etc'));
  assert.equal(await tree.lookup(tree.rootIno, 'etc2'), undefined);
});

test('ntfs: a big directory ($INDEX_ALLOCATION B-tree) lists and looks up every entry', async () => {
  const st = await tree.stat((await tv.lstat('/hugedir')).ino);
  assert.ok(st.size > 4096 * 10, `index allocation ${st.size}`);
  const names = await tv.readdirNames('/hugedir');
  assert.equal(names.length, 2500);
  assert.equal(new Set(names).size, 2500);
  const dir = (await tv.lstat('/hugedir')).ino;
  for (let i = 0; i < 2500; i += 7) {
    const name = `entry-with-a-longer-name-${String(i).padStart(5, '0')}`;
    const ino = await tree.lookup(dir, i % 2 ? name.toUpperCase() : name);
    assert.ok(ino !== undefined, name);
    assert.equal((await tree.read(ino, 0, 100)).toString(), `${i}\n`);
  }
  assert.equal(await tree.lookup(dir, 'entry-with-a-longer-name-02500'), undefined);
  assert.equal(await tree.lookup(dir, 'entry-with-a-longer-name-0000'), undefined);
});

test('ntfs: ntfsls and ntfscat agree on a sample', async () => {
  for (const dir of ['/', '/names', '/links', '/many/d07']) {
    const ref = run('ntfsls', ['-p', dir, TREE_IMG]).toString('utf8').split('\n').filter((n) => n && n !== '.' && n !== '..');
    assert.deepEqual((await tv.readdirNames(dir)).sort(), ref.sort(), dir);
  }
  for (const f of ['/large/big.bin', '/many/d03/f00003.bin', '/etc/os-release']) {
    assert.equal(sha(await tv.readFile(f)), sha(ntfscat(TREE_IMG, f)), f);
  }
});

test('ntfs: stat carries NTFS times, a 0777-style mode and hard-link counts', async () => {
  const st = await tv.stat('/links/hard-a');
  assert.equal(st.mtimeMs, 1700000000000);
  assert.equal(st.atimeMs, 1700000000000);
  assert.equal(st.nlink, 2);
  assert.equal(st.ino, (await tv.stat('/links/hard-b')).ino);
  assert.equal(st.mode & 0o7777, 0o777);
  assert.equal((await tv.stat('/etc')).mode & 0o7777, 0o777);
  assert.ok(st.birthtimeMs! > 1.7e12);
  const ro = await sv.stat('/readonly.txt');
  assert.equal(ro.mode & 0o7777, 0o555);
  assert.equal(await sv.readText('/readonly.txt'), 'read only\n');
});

test('ntfs: LZNT1-compressed files read like ntfscat', async () => {
  for (const f of ['text.txt', 'random.bin', 'mixed.bin', 'small.txt']) {
    const info = run('ntfsinfo', ['-F', `/compressed/${f}`, SPECIAL_IMG]).toString();
    const data = await sv.readFile(`/compressed/${f}`);
    assert.equal(sha(data), sha(ntfscat(SPECIAL_IMG, `/compressed/${f}`)), f);
    if (f !== 'small.txt') {
      // the fixture really is compressed (attribute flag 0x0001) and text.txt really shrank
      assert.match(info, /\$DATA[\s\S]*Attribute flags:\s+0x0001/, f);
    }
  }
  const text = await sv.readText('/compressed/text.txt');
  assert.equal(text!.split('\n')[12345], 'line 012345 the quick brown fox jumps over the lazy dog');
  const info = run('ntfsinfo', ['-F', '/compressed/text.txt', SPECIAL_IMG]).toString();
  assert.ok(Number(/Compressed size:\s+(\d+)/.exec(info)?.[1]) < text!.length / 4, info);
  // ranged reads across compression-unit boundaries
  const all = await sv.readFile('/compressed/mixed.bin');
  for (const [o, l] of [[65530, 20], [131071, 65538], [0, 1], [all.length - 5, 100], [200000, 300000]] as const) {
    assert.deepEqual(await sv.readRange('/compressed/mixed.bin', o, l), all.subarray(o, o + l), `${o}+${l}`);
  }
});

test('ntfs: a heavily fragmented file whose runlist spans extension records', async () => {
  const ino = (await sv.stat('/frag/fragmented.bin')).ino;
  assert.ok((await special.dataRunCount(ino)) > 100);
  assert.match(run('ntfsinfo', ['-F', '/frag/fragmented.bin', SPECIAL_IMG]).toString(), /\$ATTRIBUTE_LIST/);
  const data = await sv.readFile('/frag/fragmented.bin');
  assert.equal(data.length, 250 * 4096 + 1234);
  assert.equal(sha(data), sha(ntfscat(SPECIAL_IMG, '/frag/fragmented.bin')));
  assert.deepEqual(await sv.readRange('/frag/fragmented.bin', 4090, 9000), data.subarray(4090, 13090));
  assert.equal((await sv.readdirNames('/frag/mft-growth')).length, 300);
  assert.equal(await sv.readText('/frag/mft-growth/file-299'), '299\n');
});

test('ntfs: a file with 80 names ($FILE_NAME attributes via $ATTRIBUTE_LIST)', async () => {
  const names = await sv.readdirNames('/many');
  assert.equal(names.length, 80);
  const st = await sv.stat('/many/base.txt');
  assert.equal(st.nlink, 80);
  for (const n of names) assert.equal((await sv.lstat(`/many/${n}`)).ino, st.ino);
  assert.equal(await sv.readText('/many/LINK-WITH-A-LONG-NAME-TO-FILL-THE-RECORD-42.TXT'), 'one file, eighty names\n');
});

test('ntfs: sparse file with initialized size below data size reads zeros past it', async () => {
  const info = run('ntfsinfo', ['-F', '/sparse.bin', SPECIAL_IMG]).toString();
  assert.ok(Number(/Initialized size:\s+(\d+)/.exec(info)?.[1]) < 10 * 1024 * 1024, info);
  const data = await sv.readFile('/sparse.bin');
  assert.equal(data.length, 10 * 1024 * 1024);
  assert.equal(data.subarray(5000000, 5000013).toString(), 'in the middle');
  assert.equal(sha(data), sha(ntfscat(SPECIAL_IMG, '/sparse.bin')));
  assert.equal((await sv.readRange('/sparse.bin', 9 * 1024 * 1024, 4096)).equals(Buffer.alloc(4096)), true);
  const big = await tv.readFile('/large/sparse.bin');
  assert.equal(big.subarray(0, 5).toString(), 'start');
  assert.equal(big.subarray(20 * 1024 * 1024, 20 * 1024 * 1024 + 3).toString(), 'end');
});

test('ntfs: Windows symlinks and junctions are symlinks with guest-path targets', async () => {
  assert.equal(await sv.readlink('/reparse/abs-link'), '/target/file.txt');
  assert.equal(await sv.readlink('/reparse/rel-link'), '../target/file.txt');
  assert.equal(await sv.readlink('/reparse/junction'), '/target/sub');
  for (const p of ['/reparse/abs-link', '/reparse/rel-link', '/reparse/junction']) assert.equal((await sv.lstat(p)).type, 'symlink', p);
  assert.equal(await sv.readText('/reparse/abs-link'), 'target file\n');
  assert.equal(await sv.readText('/reparse/rel-link'), 'target file\n');
  assert.equal(await sv.realpath('/reparse/junction'), '/target/sub');
  const types = Object.fromEntries((await sv.readdir('/reparse')).map((e) => [e.name, e.type]));
  assert.deepEqual(types, { 'abs-link': 'symlink', 'rel-link': 'symlink', junction: 'symlink' });
  // ntfs-3g's own (Interix) symlinks
  assert.equal(await tv.readlink('/links/long-target'), 'x'.repeat(200) + '/target');
});

test('ntfs: alternate data streams are listed in stat and readable', async () => {
  const st = await special.stat((await sv.stat('/ads.txt')).ino);
  assert.deepEqual([...(st.streams ?? [])].sort(), ['Zone.Identifier', 'extra']);
  assert.equal(await sv.readText('/ads.txt'), 'main stream\n');
  assert.equal((await special.readStream(st.ino, 'extra', 0, 100)).toString(), ntfscat(SPECIAL_IMG, '/ads.txt', 'extra').toString());
  assert.equal((await special.readStream(st.ino, 'Zone.Identifier', 0, 100)).toString(), '[ZoneTransfer]');
  assert.equal((await special.stat((await sv.stat('/sparse.bin')).ino)).streams, undefined);
});

test('ntfs: DOS 8.3 aliases are hidden in readdir but resolve in lookup', async () => {
  const root = await sv.readdirNames('/');
  assert.ok(root.includes('Long File Name.text'));
  assert.ok(!root.includes('LONGFI~1.TEX'));
  assert.deepEqual(run('ntfsls', ['-x', '-p', '/', SPECIAL_IMG]).toString().split('\n').filter((n) => n === 'LONGFI~1.TEX'), ['LONGFI~1.TEX']);
  const long = await sv.stat('/Long File Name.text');
  assert.equal((await sv.stat('/LONGFI~1.TEX')).ino, long.ino);
  assert.equal((await sv.stat('/longfi~1.tex')).ino, long.ino);
  assert.equal(long.nlink, 1);
  assert.equal(await sv.readText('/LONGFI~1.TEX'), 'long and short\n');
  // system files stay hidden from listings but exist
  assert.ok(!root.some((n) => n.startsWith('$')));
  assert.equal((await sv.lstat('/$MFT')).ino, 0);
});

test('ntfs: errors are Node-shaped', async () => {
  await assert.rejects(tv.readFile('/etc'), { code: 'EISDIR' });
  await assert.rejects(tv.readdir('/etc/hostname'), { code: 'ENOTDIR' });
  await assert.rejects(tv.stat('/etc/hostname/x'), { code: 'ENOTDIR' });
  await assert.rejects(tv.stat('/nope'), { code: 'ENOENT' });
  await assert.rejects(tv.readlink('/etc/hostname'), { code: 'EINVAL' });
  await assert.rejects(tv.stat('/links/loop-a'), { code: 'ELOOP' });
  await assert.rejects(tv.readFile('/large/big.bin', { maxBytes: 1000 }), { code: 'EFBIG' });
});

test('ntfs: a fragmented $MFT whose runlist continues in extension records (record 0 $ATTRIBUTE_LIST)', async () => {
  const img = `${OUT}mftfrag.img`;
  const info = run('ntfsinfo', ['-v', '-i', '0', img]).toString();
  assert.match(info, /\$ATTRIBUTE_LIST \(0x20\) from mft record 0/);
  assert.ok(Number(/Total runs: (\d+)/.exec(info)?.[1]) > 150, 'the fixture $MFT is fragmented');
  const dev = await RawDevice.open(img);
  try {
    const fs = await openNtfs(dev);
    assert.ok((await fs.dataRunCount(0)) > 150);
    const vfs = new Vfs(fs);
    const entries = await vfs.readdir('/tiny');
    assert.equal(entries.length, 9000);
    // inode numbers agree with ntfsls for every file, and the last files (in the last MFT runs) read back
    const ref = new Map(
      run('ntfsls', ['-i', '-p', '/tiny', img])
        .toString()
        .split('\n')
        .map((l) => /^\s*(\d+)\s+(\S+)$/.exec(l))
        .filter((m) => m !== null && m[2] !== '.')
        .map((m) => [m![2]!, Number(m![1])]),
    );
    assert.equal(ref.size, 9000);
    for (const e of entries) assert.equal(e.ino, ref.get(e.name), e.name);
    for (const k of [0, 4500, 8999]) assert.equal(await vfs.readText(`/tiny/t${String(k).padStart(5, '0')}`), `${k}\n`);
  } finally {
    await dev.close();
  }
});

test('ntfs: WOF (CompactOS) files refuse to read with UNSUPPORTED_FORMAT instead of giving zeros', async () => {
  const st = await special.stat((await sv.lstat('/wof.bin')).ino);
  assert.equal(st.type, 'file');
  assert.equal(st.size, 10000);
  assert.deepEqual(st.streams, ['WofCompressedData']);
  await assert.rejects(sv.readFile('/wof.bin'), (e: unknown) => e instanceof GuestkitError && e.code === 'UNSUPPORTED_FORMAT' && /WOF/.test(e.message));
});

test('ntfs: 512-byte clusters and 64 KiB clusters with 4 KiB sectors and 4 KiB MFT records', async () => {
  for (const [name, cluster, record] of [
    ['c512', 512, 1024],
    ['c64k', 65536, 4096],
  ] as const) {
    const img = `${OUT}${name}.img`;
    const dev = await RawDevice.open(img);
    try {
      const fs = await openNtfs(dev);
      assert.equal(fs.info.blockSize, cluster, name);
      assert.equal(fs.info.mftRecordSize, record, name);
      const vfs = new Vfs(fs);
      const names = await vfs.readdirNames('/dir');
      const ref = run('ntfsls', ['-p', '/dir', img]).toString('utf8').split('\n').filter((n) => n && n !== '.');
      assert.deepEqual(names.sort(), ref.sort(), name);
      assert.equal(names.length, 800);
      for (const i of [0, 1, 399, 799]) {
        assert.equal(await vfs.readText(`/DIR/file number ${String(i).padStart(4, '0')}.TXT`), `${i}\n`.repeat(i % 50), `${name} ${i}`);
      }
      assert.equal(sha(await vfs.readFile('/random.bin')), sha(ntfscat(img, '/random.bin')), name);
      if (cluster <= 4096) {
        assert.match(run('ntfsinfo', ['-F', '/compressed/text.txt', img]).toString(), /\$DATA[\s\S]*Attribute flags:\s+0x0001/);
        assert.equal(sha(await vfs.readFile('/compressed/text.txt')), sha(ntfscat(img, '/compressed/text.txt')), name);
      }
    } finally {
      await dev.close();
    }
  }
});
