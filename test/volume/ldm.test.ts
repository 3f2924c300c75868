import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { openFilesystem } from '../../src/fs/open.js';
import { Vfs } from '../../src/fs/vfs.js';
import { inspect } from '../../src/inspect/index.js';
import { enumerateVolumes, type VolumeEntry } from '../../src/volume/enumerate.js';
import { parseDatabase, scanLdm } from '../../src/volume/ldm/index.js';
import { readPartitionTable } from '../../src/volume/table.js';
import { FIX, PatchedDevice, openRaw, readBlkid } from './helpers.js';

// Dynamic disks built by test/fixtures/ldm/build.sh (mkldm.py) and read back there by ldmtool.
const LDM = join(FIX, '..', 'ldm');
const ldmPath = (...p: string[]) => join(LDM, ...p);
const json = (...p: string[]) => JSON.parse(readFileSync(ldmPath(...p), 'utf8')) as Record<string, unknown>;
const SECTOR = 512;

async function open(set: string, files: string[]): Promise<{ disks: BlockDevice[]; close: () => Promise<void> }> {
  const disks: BlockDevice[] = [];
  for (const f of files) disks.push(await openRaw('..', 'ldm', set, f));
  return { disks, close: async () => void (await Promise.all(disks.map((d) => d.close()))) };
}

async function sha256Of(dev: BlockDevice): Promise<string> {
  const h = createHash('sha256');
  for (let off = 0; off < dev.size; off += 1 << 20) h.update(await dev.read(off, Math.min(1 << 20, dev.size - off)));
  return h.digest('hex');
}

const byDevice = (devs: VolumeEntry[]) => Object.fromEntries(devs.map((d) => [d.device, d]));
const vol = (group: string, name: string) => `/dev/mapper/ldm_vol_${group}_${name}`;

for (const set of ['group', 'windows']) {
  test(`${set}: the disk group, its disks and volumes are what ldmtool reports`, async () => {
    const dg = json(set, 'ldmtool', 'diskgroup.json') as { name: string; guid: string; volumes: string[]; disks: string[] };
    const files = dg.disks.map((_d, i) => `d${i + 1}.img`);
    const { disks, close } = await open(set, files);
    try {
      const cands = [];
      for (const dev of disks) cands.push({ dev, table: (await readPartitionTable(dev))! });
      const scan = await scanLdm(cands);
      assert.equal(scan.groups.length, 1);
      const g = scan.groups[0]!;
      assert.equal(g.name, dg.name);
      assert.equal(g.guid, dg.guid);
      assert.deepEqual(
        g.volumes.map((v) => v.name),
        dg.volumes,
      );
      assert.deepEqual(
        g.disks.map((d) => d.name),
        dg.disks,
      );
      for (const [i, name] of dg.disks.entries()) {
        const d = json(set, 'ldmtool', `${name}.json`);
        const m = g.members.find((x) => x.name === name)!;
        assert.equal(m.guid, d['guid']);
        assert.equal(d['present'], true);
        assert.equal(d['device'], files[i]);
        assert.equal(m.device, disks[i]!.name);
        assert.equal(m.dataStart, d['data-start'], name);
      }
      for (const name of dg.volumes) {
        const want = json(set, 'ldmtool', `${name}.json`);
        const o = scan.volumes.find((v) => v.name === name)!;
        const ours: Record<string, unknown> = {
          name: o.name,
          guid: o.guid,
          type: o.type === 'raid5' ? 'RAID5' : o.type,
          size: o.size / SECTOR,
          'chunk-size': o.chunkSize,
          ...(o.hint ? { hint: o.hint } : {}),
          partitions: o.partitions,
        };
        assert.deepEqual(ours, want, name);
      }
    } finally {
      await close();
    }
  });
}

test('group: every readable volume holds the mkfs image byte for byte, probed as blkid probed the image', async () => {
  const { disks, close } = await open('group', ['d1.img', 'd2.img', 'd3.img']);
  try {
    const e = await enumerateVolumes(disks);
    const d = byDevice(e.devices);
    for (const name of ['Volume1', 'Volume2', 'Volume3', 'Volume4']) {
      const v = d[vol('WIN-LDM1Dg0', name)]!;
      assert.equal(v.kind, 'ldm');
      assert.equal(v.error, undefined);
      assert.equal(await sha256Of(v.dev), readFileSync(ldmPath('group', `${name}.sha256`), 'utf8').trim(), name);
      const b = readBlkid('..', 'ldm', 'group', `${name}.blkid`);
      assert.equal(v.probe?.type, b['TYPE'], name);
      assert.equal(v.probe?.label, b['LABEL'], name);
      assert.equal(v.probe?.uuid, b['UUID'], name);
    }
    assert.deepEqual(d[vol('WIN-LDM1Dg0', 'Volume3')]?.ldm, {
      group: 'WIN-LDM1Dg0',
      group_guid: (json('group', 'ldmtool', 'diskgroup.json') as { guid: string }).guid,
      name: 'Volume3',
      guid: (json('group', 'ldmtool', 'Volume3.json') as { guid: string }).guid,
      type: 'striped',
      disks: ['Disk2', 'Disk3'],
    });
    assert.equal(d[vol('WIN-LDM1Dg0', 'Volume1')]?.ldm?.hint, 'E:');
  } finally {
    await close();
  }
});

test('group: the dynamic disks\' own partitions (0x42, LDM metadata/data) are listed but not probed; RAID-5 is refused by name', async () => {
  const { disks, close } = await open('group', ['d1.img', 'd2.img', 'd3.img']);
  try {
    const e = await enumerateVolumes(disks);
    const d = byDevice(e.devices);
    assert.deepEqual(
      e.devices.map((x) => x.device),
      [
        '/dev/sda',
        '/dev/sda1',
        '/dev/sdb',
        '/dev/sdb1',
        '/dev/sdb2',
        '/dev/sdb3',
        '/dev/sdc',
        '/dev/sdc1',
        ...['Volume1', 'Volume2', 'Volume3', 'Volume4', 'Volume5'].map((v) => vol('WIN-LDM1Dg0', v)),
      ],
    );
    for (const p of ['/dev/sda1', '/dev/sdb1', '/dev/sdb3', '/dev/sdc1']) assert.equal(d[p]?.probe, null, p);
    assert.equal(d['/dev/sda1']?.partition?.type, '42');
    const r5 = d[vol('WIN-LDM1Dg0', 'Volume5')]!;
    assert.equal(r5.error?.code, 'UNSUPPORTED_FORMAT');
    assert.match(r5.error?.message ?? '', /RAID-5/);
    assert.equal(r5.ldm?.type, 'raid5');
    assert.equal(r5.size, 8192 * SECTOR);
    await assert.rejects(r5.dev.read(0, 512), (err: unknown) => err instanceof Error && /RAID-5/.test(err.message));
    // the entry carries the error (inspection reports it with the device), not the scan warnings
    assert.deepEqual(e.warnings, []);
  } finally {
    await close();
  }
});

test('group without Disk3: the striped volume is a typed IMAGE_NOT_FOUND, the mirror is read from its other plex with a warning, the rest is intact', async () => {
  const { disks, close } = await open('group', ['d1.img', 'd2.img']);
  try {
    const e = await enumerateVolumes(disks);
    const d = byDevice(e.devices);
    const striped = d[vol('WIN-LDM1Dg0', 'Volume3')]!;
    assert.equal(striped.error?.code, 'IMAGE_NOT_FOUND');
    assert.deepEqual(striped.ldm?.missing_disks, ['Disk3']);
    assert.equal(striped.probe, null);
    const mirror = d[vol('WIN-LDM1Dg0', 'Volume4')]!;
    assert.equal(mirror.error, undefined);
    assert.deepEqual(mirror.ldm?.missing_disks, ['Disk3']);
    assert.equal(await sha256Of(mirror.dev), readFileSync(ldmPath('group', 'Volume4.sha256'), 'utf8').trim());
    assert.ok(e.warnings.some((w) => /Volume4: LDM mirror is degraded, disk Disk3 .* read from the plex on Disk1/.test(w)), e.warnings.join('\n'));
    assert.equal(d[vol('WIN-LDM1Dg0', 'Volume2')]?.probe?.label, 'SPANNED');
  } finally {
    await close();
  }
  // only the third disk: the mirror's plex there is enough
  const only3 = await open('group', ['d3.img']);
  try {
    const d = byDevice((await enumerateVolumes(only3.disks)).devices);
    assert.equal(await sha256Of(d[vol('WIN-LDM1Dg0', 'Volume4')]!.dev), readFileSync(ldmPath('group', 'Volume4.sha256'), 'utf8').trim());
    assert.deepEqual(d[vol('WIN-LDM1Dg0', 'Volume1')]?.ldm?.missing_disks, ['Disk1']);
  } finally {
    await only3.close();
  }
});

test('group: the NTFS and FAT filesystems on the volumes are listed by their own readers', async () => {
  const { disks, close } = await open('group', ['d1.img', 'd2.img', 'd3.img']);
  try {
    const d = byDevice((await enumerateVolumes(disks)).devices);
    for (const [name, type] of [
      ['Volume1', 'ntfs'],
      ['Volume2', 'vfat'],
      ['Volume3', 'ntfs'],
      ['Volume4', 'vfat'],
    ] as const) {
      const v = d[vol('WIN-LDM1Dg0', name)]!;
      const fs = new Vfs(await openFilesystem(v.dev, type), v.device);
      assert.ok(Array.isArray(await fs.readdir('/')), name);
    }
  } finally {
    await close();
  }
});

test('windows: a Windows guest whose C: is a simple dynamic volume; D: (striped) and E: (mirrored) get their letters from MountedDevices', async () => {
  const r = await inspect({ disks: [ldmPath('windows', 'd1.img'), ldmPath('windows', 'd2.img')] });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.operating_systems.length, 1);
  const os = r.operating_systems[0]!;
  assert.equal(os.type, 'windows');
  assert.equal(os.root, vol('WIN-LDM2Dg0', 'Volume1'));
  assert.equal(os.product_name, 'Windows Server 2019 Standard');
  assert.deepEqual(os.drive_mappings, {
    C: vol('WIN-LDM2Dg0', 'Volume1'),
    D: vol('WIN-LDM2Dg0', 'Volume2'),
    E: vol('WIN-LDM2Dg0', 'Volume3'),
  });
  const fs = Object.fromEntries(r.filesystems.map((f) => [f.device, f]));
  assert.equal(fs[vol('WIN-LDM2Dg0', 'Volume1')]?.type, 'ntfs');
  assert.equal(fs[vol('WIN-LDM2Dg0', 'Volume2')]?.label, 'Data');
  assert.equal(fs[vol('WIN-LDM2Dg0', 'Volume3')]?.label, 'MIRROR');
});

/** d1.img of the group, with its database area (the last 1 MiB) and PRIVHEAD offsets. */
async function groupDisk1(): Promise<{ dev: BlockDevice; config: number }> {
  const dev = await openRaw('..', 'ldm', 'group', 'd1.img');
  return { dev, config: dev.size - 2048 * SECTOR };
}

test('damaged databases are warnings with the disk named, never a crash; the disks and partitions are still listed', async () => {
  const cases: [string, (p: PatchedDevice, config: number) => void, RegExp][] = [
    ['PRIVHEAD signature', (p) => p.patch(6 * SECTOR, Buffer.from('XXXXXXXX')), /no LDM PRIVHEAD signature/],
    ['PRIVHEAD disk GUID', (p) => p.patch(6 * SECTOR + 48, Buffer.from('not-a-guid\0')), /disk GUID "not-a-guid" is not a GUID/],
    ['database past the end', (p) => p.patch(6 * SECTOR + 299, Buffer.from('00000000ffffff00', 'hex')), /LDM database .* lies outside the disk/],
    ['TOCBLOCK', (p, c) => p.patch(c + 2 * SECTOR, Buffer.from('NOTATOC!')), /no LDM TOCBLOCK/],
    ['VMDB', (p, c) => p.patch(c + 17 * SECTOR, Buffer.from('VMDX')), /no LDM VMDB/],
    ['VBLK size', (p, c) => p.patch(c + 17 * SECTOR + 8, Buffer.from('00000004', 'hex')), /VBLK size 4 is not plausible/],
    ['volume count', (p, c) => p.patch(c + 17 * SECTOR + 133, Buffer.from('00000009', 'hex')), /announces 9 volume records but holds 5/],
    ['VBLK entry number', (p, c) => p.patch(c + 17 * SECTOR + 512 + 12, Buffer.from('00050002', 'hex')), /entry 5 of 2/],
    ['record type', (p, c) => p.patch(c + 17 * SECTOR + 512 + 19, Buffer.from([0x4f])), /unknown VBLK type 15/],
    // the first record's name length runs past its VBLK
    ['record field', (p, c) => p.patch(c + 17 * SECTOR + 512 + 26, Buffer.from([0xff])), /record ends inside a field/],
    ['truncated image', (p) => p.truncate(40 << 20), /lies outside the disk|past the end/],
  ];
  for (const [what, damage, re] of cases) {
    const { dev, config } = await groupDisk1();
    try {
      const p = new PatchedDevice(dev);
      damage(p, config);
      const e = await enumerateVolumes([p]);
      assert.ok(
        e.warnings.some((w) => re.test(w)),
        `${what}: ${e.warnings.join('\n')}`,
      );
      assert.ok(e.devices.some((x) => x.device === '/dev/sda'), what);
      assert.ok(!e.devices.some((x) => x.kind === 'ldm'), what);
    } finally {
      await dev.close();
    }
  }
});

test('a partition placed past the end of its disk makes only its volume unreadable (CORRUPT_IMAGE)', async () => {
  const { dev, config } = await groupDisk1();
  try {
    // the first partition record (Disk1-01 of Volume1): its start becomes huge
    const db = await dev.read(config, 2048 * SECTOR);
    const parsed = parseDatabase(db, SECTOR, 'd1');
    assert.ok(parsed.records.some((r) => r.kind === 'partition'));
    let at = -1;
    for (let off = 17 * SECTOR + 512; off < db.length; off += 128) {
      if ((db[off + 19]! & 0x0f) === 3) {
        at = off;
        break;
      }
    }
    assert.ok(at > 0);
    // body: id (varint), name (varstring), 12 bytes, then the 8-byte start
    const body = at + 24;
    const nameLen = db[body + 1 + db[body]!]!;
    const startOff = body + 1 + db[body]! + 1 + nameLen + 12;
    const p = new PatchedDevice(dev).patch(config + startOff, Buffer.from('0000000100000000', 'hex'));
    const e = await enumerateVolumes([p]);
    const d = byDevice(e.devices);
    assert.equal(d[vol('WIN-LDM1Dg0', 'Volume1')]?.error?.code, 'CORRUPT_IMAGE');
    assert.match(d[vol('WIN-LDM1Dg0', 'Volume1')]?.error?.message ?? '', /Disk1-01 .* lies past the end/);
    assert.equal(d[vol('WIN-LDM1Dg0', 'Volume4')]?.error, undefined);
  } finally {
    await dev.close();
  }
});

test('a record split over two VBLKs, stored out of order, is assembled; ldmtool reads the same disk the same way', async () => {
  const src = ldmPath('group', 'd1.img');
  const img = Buffer.from(readFileSync(src));
  const config = img.length - 2048 * SECTOR;
  const vmdb = config + 17 * SECTOR;
  const size = 128;
  // the volume record of Volume1 and the first free slot after the records
  let volAt = -1;
  let free = -1;
  for (let off = vmdb + 512; off + size <= img.length; off += size) {
    if (img.toString('latin1', off, off + 4) !== 'VBLK') {
      free = off;
      break;
    }
    if (volAt < 0 && (img[off + 19]! & 0x0f) === 1) volAt = off;
  }
  assert.ok(volAt > 0 && free > 0);
  // entry 0 (the record's start) moves to the free slot, entry 1 (zeros) takes its place
  img.copy(img, free, volAt, volAt + size);
  img.writeUInt16BE(0, free + 12);
  img.writeUInt16BE(2, free + 14);
  img.fill(0, volAt + 16, volAt + size);
  img.writeUInt16BE(1, volAt + 12);
  img.writeUInt16BE(2, volAt + 14);
  img.writeUInt32BE(img.readUInt32BE(vmdb + 4) + 1, vmdb + 4);
  const dir = mkdtempSync(join(tmpdir(), 'guestkit-ldm-'));
  try {
    const file = join(dir, 'd1.img');
    writeFileSync(file, img);
    const guid = (json('group', 'ldmtool', 'diskgroup.json') as { guid: string }).guid;
    const theirs = JSON.parse(execFileSync('ldmtool', ['-d', file, 'show', 'volume', guid, 'Volume1'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    assert.deepEqual(theirs, json('group', 'ldmtool', 'Volume1.json'));
    const { RawDevice } = await import('../../src/disk/raw.js');
    const dev = await RawDevice.open(file);
    try {
      const d = byDevice((await enumerateVolumes([dev])).devices);
      const v = d[vol('WIN-LDM1Dg0', 'Volume1')]!;
      assert.equal(v.error, undefined);
      assert.equal(v.ldm?.guid, theirs.guid);
      assert.equal(await sha256Of(v.dev), readFileSync(ldmPath('group', 'Volume1.sha256'), 'utf8').trim());
    } finally {
      await dev.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a member whose database has another committed sequence is left out with a warning, as libldm does', async () => {
  const { disks, close } = await open('group', ['d1.img', 'd2.img', 'd3.img']);
  try {
    const d3 = disks[2]!;
    const config = d3.size - 2048 * SECTOR;
    const stale = new PatchedDevice(d3).patch(config + 17 * SECTOR + 117, Buffer.from('0000000000000006', 'hex'));
    const e = await enumerateVolumes([disks[0]!, disks[1]!, stale]);
    assert.ok(e.warnings.some((w) => /^\/dev\/sdc: LDM disk group .* is inconsistent \(committed sequence 6, group has 7\); disk ignored$/.test(w)), e.warnings.join('\n'));
    const d = byDevice(e.devices);
    assert.equal(d[vol('WIN-LDM1Dg0', 'Volume3')]?.error?.code, 'IMAGE_NOT_FOUND');
    assert.equal(d[vol('WIN-LDM1Dg0', 'Volume1')]?.probe?.label, 'Simple');
  } finally {
    await close();
  }
});
