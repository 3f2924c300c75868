import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMbrSector, readMbr } from '../../src/volume/mbr.js';
import { probe } from '../../src/volume/probe.js';
import { SliceDevice } from '../../src/volume/slice.js';
import { readPartitionTable } from '../../src/volume/table.js';
import { PatchedDevice, expectedProbe, openRaw, pickProbe, readBlkid, readJson, u32le } from './helpers.js';

interface SfdiskPart {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
}
const sfdisk = () => readJson<{ partitiontable: { id: string; sectorsize: number; partitions: SfdiskPart[] } }>('mbr', 'sfdisk.json').partitiontable;

test('MBR: 3 primaries + extended with 3 logicals: numbering, offsets, sizes, types, boot flag equal sfdisk --json', async () => {
  const dev = await openRaw('mbr', 'disk.img');
  try {
    const t = await readPartitionTable(dev);
    assert.ok(t);
    assert.equal(t.scheme, 'mbr');
    assert.equal(t.sectorSize, 512);
    const sf = sfdisk();
    assert.equal(t.id, sf.id);
    assert.deepEqual(t.warnings, []);
    const want = sf.partitions.map((p) => ({
      number: Number(/(\d+)$/.exec(p.node)![1]),
      start: p.start * 512,
      size: p.size * 512,
      type: p.type,
      bootable: p.bootable === true,
    }));
    assert.deepEqual(
      t.partitions.map((p) => ({ number: p.number, start: p.start, size: p.size, type: p.type, bootable: p.bootable })),
      want,
    );
    assert.deepEqual(t.partitions.map((p) => p.number), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(t.partitions[3]!.extended, true);
    assert.deepEqual(t.partitions.filter((p) => p.logical).map((p) => p.number), [5, 6, 7]);
    assert.equal(t.partitions[0]!.partuuid, `${sf.id.slice(2)}-01`);
    assert.equal(t.partitions[4]!.partuuid, `${sf.id.slice(2)}-05`);
    assert.equal(t.partitions[0]!.type_name, 'Linux');
    assert.equal(t.partitions[1]!.type_name, 'W95 FAT32 (LBA)');
    assert.equal(t.partitions[2]!.type_name, 'Linux swap / Solaris');
  } finally {
    await dev.close();
  }
});

test('MBR: each partition probes as blkid -p saw the filesystem written into it', async () => {
  const dev = await openRaw('mbr', 'disk.img');
  try {
    const t = (await readPartitionTable(dev))!;
    for (const n of [1, 2, 3, 5, 6, 7]) {
      const p = t.partitions.find((x) => x.number === n)!;
      const got = await probe(new SliceDevice(dev, p.start, p.size, `p${n}`));
      assert.deepEqual(pickProbe(got), expectedProbe(readBlkid('mbr', `p${n}.blkid`)), `partition ${n}`);
    }
  } finally {
    await dev.close();
  }
});

test('MBR: a filesystem boot sector (FAT/NTFS/exFAT) is not taken for a partition table', async () => {
  for (const n of ['fat12', 'fat32', 'ntfs', 'exfat', 'ext4', 'lvm2pv']) {
    const dev = await openRaw('probe', `${n}.img`);
    assert.equal(await readPartitionTable(dev), null, n);
    await dev.close();
  }
});

/** Sector of the EBR that follows `ebr` (its link entry is relative to the extended start). */
async function ebrChain(dev: PatchedDevice | Awaited<ReturnType<typeof openRaw>>): Promise<number[]> {
  const m = parseMbrSector(await dev.read(0, 512))!;
  const ext = m.entries[3]!;
  const out = [ext.startLba];
  for (let i = 0; i < 10; i++) {
    const e = parseMbrSector(await dev.read(out[out.length - 1]! * 512, 512))!;
    if (e.entries[1]!.type === 0) break;
    out.push(ext.startLba + e.entries[1]!.startLba);
  }
  return out;
}

test('MBR corrupt: an EBR chain looping back on itself ends with a warning, logicals before it stay', async () => {
  const base = await openRaw('mbr', 'disk.img');
  try {
    const chain = await ebrChain(base);
    assert.equal(chain.length, 3);
    // Point the last EBR's link back at the first EBR (relative offset 0).
    const dev = new PatchedDevice(base).patch(chain[2]! * 512 + 446 + 16 + 4, Buffer.from([0x05])).patch(chain[2]! * 512 + 446 + 16 + 8, Buffer.concat([u32le(0), u32le(1)]));
    const t = (await readPartitionTable(dev))!;
    assert.deepEqual(t.partitions.map((p) => p.number), [1, 2, 3, 4, 5, 6, 7]);
    assert.ok(t.warnings.some((w) => /loops back/.test(w)), t.warnings.join('\n'));
    // An EBR linking to itself.
    const self = new PatchedDevice(base).patch(chain[0]! * 512 + 446 + 16 + 8, u32le(0));
    const t2 = (await readPartitionTable(self))!;
    assert.deepEqual(t2.partitions.map((p) => p.number), [1, 2, 3, 4, 5]);
    assert.ok(t2.warnings.some((w) => /loops back/.test(w)));
  } finally {
    await base.close();
  }
});

test('MBR corrupt: partitions past the end of the disk are truncated or dropped with warnings', async () => {
  const base = await openRaw('mbr', 'disk.img');
  try {
    const total = base.size / 512;
    // p2 grows past the end; p3 starts past the end.
    const dev = new PatchedDevice(base).patch(446 + 16 + 12, u32le(0xffffff00)).patch(446 + 32 + 8, u32le(total + 100));
    const t = (await readMbr(dev, parseMbrSector(await dev.read(0, 512))!))!;
    const p2 = t.partitions.find((p) => p.number === 2)!;
    assert.equal(p2.start + p2.size, base.size);
    assert.equal(t.partitions.find((p) => p.number === 3), undefined);
    assert.equal(t.warnings.length, 2, t.warnings.join('\n'));
    assert.match(t.warnings.join('\n'), /truncated/);
    assert.match(t.warnings.join('\n'), /past the end of the disk/);
  } finally {
    await base.close();
  }
});

test('MBR corrupt: an EBR past the end of the disk or without signature loses only what follows', async () => {
  const base = await openRaw('mbr', 'disk.img');
  try {
    const chain = await ebrChain(base);
    const bad = new PatchedDevice(base).patch(chain[1]! * 512 + 510, Buffer.from([0, 0]));
    const t = (await readPartitionTable(bad))!;
    assert.deepEqual(t.partitions.map((p) => p.number), [1, 2, 3, 4, 5]);
    assert.match(t.warnings.join('\n'), /no valid signature/);
    const far = new PatchedDevice(base).patch(chain[0]! * 512 + 446 + 16 + 8, u32le(0x7fffffff));
    const t2 = (await readPartitionTable(far))!;
    assert.deepEqual(t2.partitions.map((p) => p.number), [1, 2, 3, 4, 5]);
    assert.match(t2.warnings.join('\n'), /past the end of the disk/);
  } finally {
    await base.close();
  }
});

test('MBR: a sector that is not an MBR is refused without error', async () => {
  assert.equal(parseMbrSector(Buffer.alloc(512)), null);
  assert.equal(parseMbrSector(Buffer.alloc(100)), null);
  const dev = await openRaw('probe', 'zeros.img');
  assert.equal(await readPartitionTable(dev), null);
  await dev.close();
});
