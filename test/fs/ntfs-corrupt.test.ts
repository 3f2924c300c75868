import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';
import { PatchedDevice } from '../helpers/patched-device.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawDevice } from '../../src/disk/raw.js';
import type { BlockDevice } from '../../src/disk/types.js';
import { FsError } from '../../src/fs/errors.js';
import { AT, parseAttributes } from '../../src/fs/ntfs/attribute.js';
import { parseAttributeList } from '../../src/fs/ntfs/attribute-list.js';
import { openNtfs } from '../../src/fs/ntfs/ntfs.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestkitError } from '../../src/protocol/errors.js';

const OUT = join(REPO, 'test', 'fixtures', 'out', 'fs-ntfs') + '/';

let tree: RawDevice;
let special: RawDevice;
before(async () => {
  tree = await RawDevice.open(`${OUT}tree.img`);
  special = await RawDevice.open(`${OUT}special.img`);
});
after(async () => {
  await tree.close();
  await special.close();
});

const isCorrupt = (err: unknown) => err instanceof GuestkitError && err.code === 'CORRUPT_IMAGE';

/** Device offset of MFT record `recNo`, and its on-disk bytes with fixups applied (for locating fields). */
async function record(dev: BlockDevice, recNo: number) {
  const fs = await openNtfs(dev);
  const off = (await fs.attributeDeviceOffset(0, AT.DATA, '', recNo * 1024))!;
  const raw = await dev.read(off, 1024);
  const fixed = Buffer.from(raw);
  const usa = fixed.readUInt16LE(4);
  fixed.writeUInt16LE(fixed.readUInt16LE(usa + 2), 510);
  fixed.writeUInt16LE(fixed.readUInt16LE(usa + 4), 1022);
  const attrs = parseAttributes(fixed, fixed.readUInt16LE(20), fixed.readUInt32LE(24), recNo);
  /** Offset of a sub-buffer of `fixed` within the record. */
  const at = (b: Buffer) => b.byteOffset - fixed.byteOffset;
  return { fs, off, attrs, at };
}

async function inoOf(dev: BlockDevice, path: string): Promise<number> {
  return (await new Vfs(await openNtfs(dev)).lstat(path)).ino;
}

test('ntfs corrupt: bad boot sectors are CORRUPT_IMAGE', async () => {
  const cases: [string, number, number[]][] = [
    ['OEM id', 3, [...Buffer.from('EXFAT   ')]],
    ['bytes per sector', 0x0b, [3, 0]],
    ['sectors per cluster', 0x0d, [3]],
    ['no 0x55AA', 510, [0, 0]],
    ['$MFT past the volume', 0x30, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]],
    ['volume larger than the device', 0x28, [0, 0, 0, 0, 0, 1, 0, 0]],
    ['absurd MFT record size (127 clusters)', 0x40, [0x7f]],
    ['absurd MFT record size (2^32 bytes)', 0x40, [0xe0]],
    ['MFT record size 512', 0x40, [0xf7]],
    ['absurd index block size', 0x44, [0x7f]],
  ];
  for (const [what, off, bytes] of cases) {
    await assert.rejects(openNtfs(new PatchedDevice(tree).patch(off, bytes)), isCorrupt, what);
  }
  await assert.rejects(openNtfs(new PatchedDevice(tree).patch(0, Buffer.alloc(512))), isCorrupt, 'zeroed');
});

test('ntfs corrupt: an MFT record with a broken update sequence is CORRUPT_IMAGE', async () => {
  const ino = await inoOf(tree, '/etc/hostname');
  const { off } = await record(tree, ino);
  const dev = new PatchedDevice(tree).patch(off + 1022, [0x12, 0x34]);
  const vfs = new Vfs(await openNtfs(dev));
  await assert.rejects(vfs.stat('/etc/hostname'), isCorrupt);
  assert.equal(await vfs.readText('/etc/os-release'), (await new Vfs(await openNtfs(tree)).readText('/etc/os-release')));
  // record 0 ($MFT itself) torn: the copy in $MFTMirr is used, with a warning; both torn: cannot open
  const r0 = await record(tree, 0);
  const mirr = (await r0.fs.attributeDeviceOffset(1, AT.DATA, '', 0))!;
  const torn0 = await openNtfs(new PatchedDevice(tree).patch(r0.off + 510, [0xaa, 0xbb]));
  assert.ok(torn0.info.warnings?.some((w) => w.includes('$MFTMirr')), JSON.stringify(torn0.info.warnings));
  assert.equal(await new Vfs(torn0).readText('/etc/hostname'), 'fixture-host\n');
  await assert.rejects(openNtfs(new PatchedDevice(tree).patch(r0.off + 510, [0xaa, 0xbb]).patch(mirr + 510, [0xaa, 0xbb])), isCorrupt);
  // a record whose magic is BAAD (chkdsk's mark for a bad record)
  await assert.rejects(new Vfs(await openNtfs(new PatchedDevice(tree).patch(off, [...Buffer.from('BAAD')]))).stat('/etc/hostname'), isCorrupt);
});

test('ntfs corrupt: a runlist pointing past the volume is CORRUPT_IMAGE', async () => {
  const ino = await inoOf(tree, '/large/big.bin');
  const { off, attrs, at } = await record(tree, ino);
  const data = attrs.find((a) => a.type === AT.DATA && !a.resident);
  assert.ok(data && !data.resident);
  const mp = data.mappingPairs;
  const lenBytes = mp[0]! & 0xf;
  const offBytes = mp[0]! >> 4;
  assert.ok(offBytes >= 2, `run header 0x${mp[0]!.toString(16)}`);
  const far = [...Array(offBytes - 1).fill(0xff), 0x7f];
  const dev = new PatchedDevice(tree).patch(off + at(mp) + 1 + lenBytes, far);
  await assert.rejects(new Vfs(await openNtfs(dev)).readFile('/large/big.bin'), isCorrupt);
  // a run header whose byte counts run past the attribute
  const dev2 = new PatchedDevice(tree).patch(off + at(mp), [0x88]);
  await assert.rejects(new Vfs(await openNtfs(dev2)).readFile('/large/big.bin'), isCorrupt);
});

test('ntfs corrupt: attribute lists that loop or cross-link are CORRUPT_IMAGE, never a hang', async () => {
  const ino = await inoOf(special, '/many/base.txt');
  const { fs, off, attrs, at } = await record(special, ino);
  const list = attrs.find((a) => a.type === AT.ATTRIBUTE_LIST);
  assert.ok(list, 'the fixture has an $ATTRIBUTE_LIST');
  // 80 names make the list itself non-resident; handle either placement
  const listOff = list.resident ? off + at(list.value) : (await fs.attributeDeviceOffset(ino, AT.ATTRIBUTE_LIST, '', 0))!;
  const value = list.resident ? list.value : await special.read(listOff, Number(list.dataSize));
  const entries = parseAttributeList(value, 'list');
  // locate the first entry living in an extension record
  let eoff = 0;
  let k = 0;
  for (; entries[k]!.recNo === ino; k++) eoff += value.readUInt16LE(eoff + 4);
  const base = listOff + eoff;
  // (a) names the root directory: a base record, not one of ours
  const a = new PatchedDevice(special).patch(base + 16, [5, 0, 0, 0, 0, 0, 5, 0]);
  await assert.rejects(new Vfs(await openNtfs(a)).stat('/many/base.txt'), isCorrupt);
  // (b) names the file itself for an attribute that is not there
  const b = new PatchedDevice(special).patch(base + 16, [ino & 0xff, (ino >> 8) & 0xff, 0, 0]);
  await assert.rejects(new Vfs(await openNtfs(b)).stat('/many/base.txt'), isCorrupt);
  // (c) an entry length of 0 would make a naive parser spin forever
  const c = new PatchedDevice(special).patch(base + 4, [0, 0]);
  await assert.rejects(new Vfs(await openNtfs(c)).stat('/many/base.txt'), isCorrupt);
  // (d) the extension record claims another base record (a loop back through record 5)
  const extOff = (await (await openNtfs(special)).attributeDeviceOffset(0, AT.DATA, '', entries[k]!.recNo * 1024))!;
  const d = new PatchedDevice(special).patch(extOff + 32, [5, 0, 0, 0, 0, 0]);
  await assert.rejects(new Vfs(await openNtfs(d)).stat('/many/base.txt'), isCorrupt);
});

test('ntfs corrupt: an index block with a bad magic is CORRUPT_IMAGE', async () => {
  const fs = await openNtfs(tree);
  const dir = await inoOf(tree, '/hugedir');
  const blockOff = (await fs.attributeDeviceOffset(dir, AT.INDEX_ALLOCATION, '$I30', 0))!;
  assert.equal((await tree.read(blockOff, 4)).toString('latin1'), 'INDX');
  const dev = new PatchedDevice(tree).patch(blockOff, [...Buffer.from('XXXX')]);
  const vfs = new Vfs(await openNtfs(dev));
  await assert.rejects(vfs.readdir('/hugedir'), isCorrupt);
  // lookups through the broken block fail typed; others still work
  let failed = 0;
  for (let i = 0; i < 2500; i += 50) {
    try {
      await vfs.stat(`/hugedir/entry-with-a-longer-name-${String(i).padStart(5, '0')}`);
    } catch (err) {
      assert.ok(isCorrupt(err), String(err));
      failed++;
    }
  }
  assert.ok(failed > 0 && failed < 50, `failed ${failed}`);
  // a torn index block (update sequence mismatch)
  const torn = new PatchedDevice(tree).patch(blockOff + 1022, [0x55, 0x66]);
  await assert.rejects(new Vfs(await openNtfs(torn)).readdir('/hugedir'), isCorrupt);
});

test('ntfs corrupt: random damage to metadata gives typed errors, never a crash or hang', async () => {
  const fs = await openNtfs(special);
  const mftOff = (await fs.attributeDeviceOffset(0, AT.DATA, '', 0))!;
  const dirIno = await inoOf(special, '/compressed');
  const targets = [mftOff, mftOff + 5 * 1024, mftOff + dirIno * 1024, mftOff + 64 * 1024];
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let typed = 0;
  for (let iter = 0; iter < 300; iter++) {
    const dev = new PatchedDevice(special);
    for (let n = 0; n < 4; n++) {
      const base = targets[Math.floor(rnd() * targets.length)]!;
      dev.patch(base + Math.floor(rnd() * 1024), [Math.floor(rnd() * 256)]);
    }
    try {
      const vfs = new Vfs(await openNtfs(dev));
      for (const p of ['/', '/compressed', '/many', '/reparse']) {
        for (const e of await vfs.readdir(p)) {
          const path = `${p === '/' ? '' : p}/${e.name}`;
          const st = await vfs.lstat(path);
          if (st.isFile()) await vfs.readFile(path, { maxBytes: 4 << 20 }).catch((err) => (err instanceof FsError && err.code === 'EFBIG' ? null : Promise.reject(err)));
        }
      }
    } catch (err) {
      assert.ok(err instanceof GuestkitError || err instanceof FsError, `iteration ${iter}: ${(err as Error).stack}`);
      typed++;
    }
  }
  assert.ok(typed > 30, `only ${typed} of 300 damaged images were noticed`);
});

test('ntfs corrupt: an unreadable $UpCase falls back to simple upper-casing with a warning', async () => {
  const { off } = await record(tree, 10);
  const fs = await openNtfs(new PatchedDevice(tree).patch(off, [...Buffer.from('BAAD')]));
  const vfs = new Vfs(fs);
  assert.equal(await vfs.readText('/ETC/HOSTNAME'), 'fixture-host\n');
  assert.equal(await vfs.readText('/UNICODE/CAFÉ.TXT'), 'café.txt\n');
  assert.ok(fs.info.warnings?.some((w) => w.includes('$UpCase')), JSON.stringify(fs.info.warnings));
});
