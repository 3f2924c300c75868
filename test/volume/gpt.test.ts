import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { crc32 } from '../../src/volume/crc32.js';
import { readGpt } from '../../src/volume/gpt.js';
import type { PartitionTable } from '../../src/volume/partition.js';
import { probe } from '../../src/volume/probe.js';
import { SliceDevice } from '../../src/volume/slice.js';
import { readPartitionTable } from '../../src/volume/table.js';
import { PatchedDevice, expectedProbe, fix, openRaw, pickProbe, readBlkid, readJson, u32le } from './helpers.js';

interface SfdiskPart {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid: string;
  name?: string;
  attrs?: string;
}
type Sfdisk = { partitiontable: { id: string; sectorsize: number; firstlba: number; lastlba: number; partitions: SfdiskPart[] } };

/** `sgdisk -i N` fields. */
function sgdiskInfo(dir: string, n: number): { typeGuid: string; unique: string; first: number; last: number; attrs: string; name: string } {
  const s = readFileSync(fix(dir, `sgdisk-i${n}.txt`), 'utf8');
  const m = (re: RegExp) => re.exec(s)![1]!;
  return {
    typeGuid: m(/Partition GUID code: (\S+)/),
    unique: m(/Partition unique GUID: (\S+)/),
    first: Number(m(/First sector: (\d+)/)),
    last: Number(m(/Last sector: (\d+)/)),
    attrs: m(/Attribute flags: ([0-9A-F]+)/),
    name: m(/Partition name: '(.*)'/),
  };
}

function checkAgainstSfdisk(t: PartitionTable, sf: Sfdisk['partitiontable']): void {
  assert.equal(t.scheme, 'gpt');
  assert.equal(t.sectorSize, sf.sectorsize);
  assert.equal(t.id, sf.id);
  assert.equal(t.firstUsableLba, sf.firstlba);
  assert.equal(t.lastUsableLba, sf.lastlba);
  assert.deepEqual(
    t.partitions.map((p) => ({ number: p.number, start: p.start, size: p.size, type: p.type, uuid: p.partuuid, name: p.name })),
    sf.partitions.map((p) => ({
      number: Number(/(\d+)$/.exec(p.node)![1]),
      start: p.start * sf.sectorsize,
      size: p.size * sf.sectorsize,
      type: p.type,
      uuid: p.uuid,
      name: p.name ?? '',
    })),
  );
}

const TYPE_NAMES = [
  'EFI System', 'BIOS boot', 'Linux root (x86-64)', 'Linux home', 'Linux swap', 'Linux LVM',
  'Microsoft basic data', 'Microsoft reserved', 'Windows recovery environment', 'Linux filesystem',
];

test('GPT (sgdisk): offsets, sizes, type GUIDs, PARTUUIDs, names equal sfdisk --json; attributes equal sgdisk -i', async () => {
  const dev = await openRaw('gpt', 'disk.img');
  try {
    const t = (await readPartitionTable(dev))!;
    checkAgainstSfdisk(t, readJson<Sfdisk>('gpt', 'sfdisk.json').partitiontable);
    assert.deepEqual(t.warnings, []);
    assert.equal(t.usedBackup, undefined);
    assert.equal(t.partitions.length, 10);
    for (const p of t.partitions) {
      const i = sgdiskInfo('gpt', p.number);
      assert.equal(p.type_guid, i.typeGuid);
      assert.equal(p.partuuid, i.unique);
      assert.equal(p.start, i.first * 512);
      assert.equal(p.size, (i.last - i.first + 1) * 512);
      assert.equal(p.attributes, i.attrs, `attributes of ${p.number}`);
      assert.equal(p.name, i.name);
      assert.equal(p.scheme, 'gpt');
    }
    assert.deepEqual(t.partitions.map((p) => p.type_name), TYPE_NAMES);
    assert.equal(t.partitions[3]!.name, 'home données');
    assert.equal(t.partitions[2]!.bootable, true);
    assert.equal(t.partitions[0]!.bootable, false);
    assert.equal(t.partitions[6]!.attributes, '9000000000000000');
    assert.equal(t.partitions[8]!.attributes, '0000000000000001');
    assert.match(readFileSync(fix('gpt', 'sgdisk-p.txt'), 'utf8'), new RegExp(`Disk identifier \\(GUID\\): ${t.id}`));
  } finally {
    await dev.close();
  }
});

test('GPT: filesystems in partitions probe as blkid -p saw them', async () => {
  const dev = await openRaw('gpt', 'disk.img');
  try {
    const t = (await readPartitionTable(dev))!;
    for (const n of [1, 3]) {
      const p = t.partitions[n - 1]!;
      assert.deepEqual(pickProbe(await probe(new SliceDevice(dev, p.start, p.size, `p${n}`))), expectedProbe(readBlkid('gpt', `p${n}.blkid`)));
    }
  } finally {
    await dev.close();
  }
});

test('GPT: primary header smashed → the backup is used, with a warning', async () => {
  const dev = await openRaw('gpt', 'noprimary.img');
  try {
    const t = (await readPartitionTable(dev))!;
    checkAgainstSfdisk(t, readJson<Sfdisk>('gpt', 'sfdisk.json').partitiontable);
    assert.equal(t.usedBackup, true);
    assert.equal(t.warnings.length, 1);
    assert.match(t.warnings[0]!, /primary GPT is damaged.*backup GPT at LBA 98303/);
  } finally {
    await dev.close();
  }
});

test('GPT: both headers smashed → CORRUPT_IMAGE', async () => {
  const dev = await openRaw('gpt', 'noheaders.img');
  try {
    await assert.rejects(readPartitionTable(dev), (e) => isGuestkitError(e, 'CORRUPT_IMAGE') && /no GPT header/.test(e.message));
  } finally {
    await dev.close();
  }
});

test('GPT: primary entry array CRC mismatch → the backup is used, with a warning naming the CRC', async () => {
  const dev = await openRaw('gpt', 'badentries.img');
  try {
    const t = (await readPartitionTable(dev))!;
    checkAgainstSfdisk(t, readJson<Sfdisk>('gpt', 'sfdisk.json').partitiontable);
    assert.equal(t.usedBackup, true);
    assert.match(t.warnings.join('\n'), /entry array.*CRC32 mismatch/);
  } finally {
    await dev.close();
  }
});

/** Rewrites header fields of the GPT header at `lba` and recomputes its CRC, so only the field is wrong. */
async function patchHeader(base: BlockDevice, dev: PatchedDevice, lba: number, field: number, value: Buffer): Promise<void> {
  const hdr = Buffer.from(await base.read(lba * 512, 512));
  value.copy(hdr, field);
  const size = hdr.readUInt32LE(12);
  hdr.writeUInt32LE(0, 16);
  hdr.writeUInt32LE(crc32(hdr.subarray(0, size)), 16);
  dev.patch(lba * 512, hdr.subarray(0, size));
}

test('GPT corrupt: an absurd entry count (1e9) with a valid header CRC is refused; backup used, or CORRUPT_IMAGE when both', async () => {
  const base = await openRaw('gpt', 'disk.img');
  try {
    const last = base.size / 512 - 1;
    const one = new PatchedDevice(base);
    await patchHeader(base, one, 1, 80, u32le(1e9));
    const t = await readGpt(one);
    assert.equal(t.usedBackup, true);
    assert.equal(t.partitions.length, 10);
    assert.match(t.warnings[0]!, /implausibly large/);
    const both = new PatchedDevice(base);
    await patchHeader(base, both, 1, 80, u32le(1e9));
    await patchHeader(base, both, last, 80, u32le(1e9));
    await assert.rejects(readGpt(both), (e) => isGuestkitError(e, 'CORRUPT_IMAGE') && /both GPT copies are damaged/.test(e.message));
  } finally {
    await base.close();
  }
});

test('GPT corrupt: a partition past the end of the disk is truncated or dropped with a warning', async () => {
  const base = await openRaw('gpt', 'disk.img');
  try {
    const entries = Buffer.from(await base.read(2 * 512, 128 * 128));
    const total = BigInt(base.size / 512);
    entries.writeBigUInt64LE(total + 5n, 9 * 128 + 40); // p10 ends past the disk
    entries.writeBigUInt64LE(total + 5n, 8 * 128 + 32); // p9 starts past it
    entries.writeBigUInt64LE(total + 9n, 8 * 128 + 40);
    const dev = new PatchedDevice(base).patch(2 * 512, entries);
    await patchHeader(base, dev, 1, 88, u32le(crc32(entries)));
    const t = await readGpt(dev);
    assert.equal(t.usedBackup, undefined);
    assert.deepEqual(t.partitions.map((p) => p.number), [1, 2, 3, 4, 5, 6, 7, 8, 10]);
    const p10 = t.partitions[8]!;
    assert.equal(p10.start + p10.size, base.size);
    assert.match(t.warnings.join('\n'), /partition 10 .*truncated/);
    assert.match(t.warnings.join('\n'), /partition 9 starts .*ignored/);
  } finally {
    await base.close();
  }
});

test('GPT with 4096-byte logical sectors (sgdisk on a 4K loop device) equals sfdisk --json', async () => {
  const dev = await openRaw('gpt4k', 'disk.img');
  try {
    const t = (await readPartitionTable(dev))!;
    const sf = readJson<Sfdisk>('gpt4k', 'sfdisk.json').partitiontable;
    assert.equal(sf.sectorsize, 4096);
    checkAgainstSfdisk(t, sf);
    assert.deepEqual(t.partitions.map((p) => p.name), ['first', 'esp']);
    const p = t.partitions[0]!;
    assert.deepEqual(pickProbe(await probe(new SliceDevice(dev, p.start, p.size, 'p1'))), expectedProbe(readBlkid('gpt4k', 'p1.blkid')));
  } finally {
    await dev.close();
  }
});

test('GPT 4K: primary smashed → backup at the last 4 KiB sector', async () => {
  const base = await openRaw('gpt4k', 'disk.img');
  try {
    const dev = new PatchedDevice(base).patch(4096, Buffer.alloc(4096));
    const t = (await readPartitionTable(dev))!;
    assert.equal(t.sectorSize, 4096);
    assert.equal(t.usedBackup, true);
    assert.deepEqual(t.partitions.map((p) => p.name), ['first', 'esp']);
  } finally {
    await base.close();
  }
});
