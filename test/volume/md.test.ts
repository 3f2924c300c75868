import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { openFilesystem } from '../../src/fs/open.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestkitError, isGuestkitError } from '../../src/protocol/errors.js';
import { enumerateVolumes, type VolumeEntry } from '../../src/volume/enumerate.js';
import { findMdSuperblock, levelName, mdadmUuid, mdProbeResult } from '../../src/volume/md/index.js';
import { offset090, offset10 } from '../../src/volume/md/superblock.js';
import { FIX, PatchedDevice, openRaw, readBlkid } from './helpers.js';

/** test/fixtures/out/md, built by test/fixtures/md/build.sh. */
const MD = join(FIX, '..', 'md');
const mdPath = (...p: string[]) => join(MD, ...p);

function members(name: string): string[] {
  const out: string[] = [];
  for (let i = 1; i <= 8; i++) if (existsSync(mdPath(name, `m${i}.img`))) out.push(`m${i}.img`);
  return out;
}

/** `mdadm --examine` output as key → value ("Raid Level" → "raid1"). */
function examine(name: string, member: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(mdPath(name, `${member}.examine`), 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z][A-Za-z ]*?)\s+:\s(.*)$/.exec(line);
    if (m && !(m[1]! in out)) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

async function openMembers(name: string): Promise<BlockDevice[]> {
  const devs: BlockDevice[] = [];
  for (const m of members(name)) devs.push(await openRaw('..', 'md', name, m));
  return devs;
}

async function closeAll(devs: BlockDevice[]): Promise<void> {
  for (const d of devs) await d.close();
}

const ARRAYS = ['raid1-v1.2', 'raid1-v1.1', 'raid1-v1.0', 'raid1-v0.90', 'raid0-v1.2', 'raid0-v0.90', 'linear-v1.2', 'linear-v0.90', 'raid1-degraded', 'raid5-v1.2', 'raid10-v1.2', 'raid6-v1.2', 'raid4-v0.90'];

test('every member superblock reads as mdadm --examine and blkid report it', async () => {
  let checked = 0;
  for (const name of ARRAYS) {
    for (const m of members(name)) {
      const dev = await openRaw('..', 'md', name, m);
      try {
        const sb = await findMdSuperblock(dev, true);
        assert.ok(sb, `${name}/${m}: no superblock found`);
        const x = examine(name, m);
        const where = `${name}/${m}`;
        assert.equal(x['Version'], sb.version === '0.90' ? '0.90.03' : sb.version, where);
        assert.equal(x['Raid Level'], levelName(sb.level), where);
        assert.equal(Number(x['Raid Devices']), sb.raidDisks, where);
        assert.equal(BigInt(x['Events']!), sb.events, where);
        assert.equal(x['Checksum'], `${sb.checksum.toString(16)} - correct`, where);
        if (sb.version === '0.90') {
          assert.equal(x['UUID'], mdadmUuid(sb), where);
          assert.equal(Number(x['Preferred Minor']), sb.preferredMinor, where);
          if (sb.componentSize) assert.equal(Number(x['Used Dev Size']!.split(' ')[0]) * 1024, sb.componentSize, where);
        } else {
          assert.equal(x['Array UUID'], mdadmUuid(sb), where);
          assert.equal(x['Name'], sb.name, where);
          assert.equal(x['Super Offset'], `${sb.superOffset / 512} sectors`, where);
          if (sb.version !== '1.0') assert.equal(x['Data Offset'], `${sb.dataOffset / 512} sectors`, where);
          assert.equal(x['Device Role'], `Active device ${String(sb.role)}`, where);
          assert.equal(Number(x['Avail Dev Size']!.split(' ')[0]) * 512, sb.dataSize, where);
          if (sb.level === 1) assert.equal(Number(x['Array Size']!.split(' ')[0]) * 1024, sb.componentSize, where);
          if (x['Chunk Size']) assert.equal(x['Chunk Size'], `${sb.chunkBytes / 1024}K`, where);
        }
        // blkid -p on the member file
        const b = readBlkid('..', 'md', name, m.replace(/\.img$/, '.blkid'));
        const p = mdProbeResult(sb);
        assert.equal(b['TYPE'], p.type, where);
        assert.equal(b['UUID'], p.uuid, where);
        assert.equal(b['LABEL'], p.label, where);
        if (b['UUID_SUB']) assert.equal(b['UUID_SUB'], p.uuid_sub, where);
        checked++;
      } finally {
        await dev.close();
      }
    }
  }
  assert.ok(checked >= 32, `${checked} members checked`);
});

test('end-of-device superblock offsets follow md_p.h (0.90: last 64 KiB block; 1.0: 8 KiB from the end, 4 KiB aligned)', () => {
  assert.equal(offset090(12 * 1024 * 1024), 12 * 1024 * 1024 - 65536);
  assert.equal(offset090(12 * 1024 * 1024 + 1000), 12 * 1024 * 1024 - 65536);
  assert.equal(offset10(12 * 1024 * 1024), 12 * 1024 * 1024 - 8192);
  assert.equal(offset10(12 * 1024 * 1024 + 4608), 12 * 1024 * 1024 - 4096);
});

async function assembled(name: string): Promise<{ devs: BlockDevice[]; md: VolumeEntry; warnings: string[] }> {
  const devs = await openMembers(name);
  const e = await enumerateVolumes(devs);
  const md = e.devices.find((d) => d.kind === 'md');
  assert.ok(md, `${name}: no md array among ${e.devices.map((d) => d.device).join(', ')}`);
  return { devs, md, warnings: e.warnings };
}

async function sha256Of(dev: BlockDevice, len: number): Promise<string> {
  const h = createHash('sha256');
  for (let off = 0; off < len; off += 1 << 20) h.update(await dev.read(off, Math.min(1 << 20, len - off)));
  return h.digest('hex');
}

/** The array's ext4 (made by mkfs.ext4 -d) reads back byte for byte, and its files match the tree's sha256. */
async function checkData(name: string, md: VolumeEntry): Promise<void> {
  const size = Number(readFileSync(mdPath(name, 'payload.size'), 'utf8'));
  assert.ok(md.size >= size, `${name}: array ${md.size} bytes, payload ${size}`);
  assert.equal(await sha256Of(md.dev, size), readFileSync(mdPath(name, 'payload.sha256'), 'utf8').trim(), `${name}: array data`);
  const b = readBlkid('..', 'md', name, 'payload.blkid');
  assert.equal(md.probe?.type, 'ext4');
  assert.equal(md.probe?.uuid, b['UUID']);
  const vfs = new Vfs(await openFilesystem(md.dev, 'ext4'), md.device);
  for (const line of readFileSync(mdPath(name, 'files.sha256'), 'utf8').trim().split('\n')) {
    const [sum, file] = line.split(/\s+/);
    const data = await vfs.readFile(`/${file}`);
    assert.equal(createHash('sha256').update(data).digest('hex'), sum, `${name}: /${file}`);
  }
}

for (const name of ['raid1-v1.2', 'raid1-v1.1', 'raid1-v1.0', 'raid1-v0.90', 'raid0-v1.2', 'raid0-v0.90', 'linear-v1.2', 'linear-v0.90']) {
  test(`${name}: assembled as /dev/md127, members marked linux_raid_member, data and files read back`, async () => {
    const { devs, md, warnings } = await assembled(name);
    try {
      assert.equal(md.device, '/dev/md127');
      assert.deepEqual(warnings, []);
      const level = name.split('-')[0]!;
      assert.equal(md.md?.level, level);
      assert.equal(md.md?.members.length, devs.length);
      assert.ok(md.md?.members.every((m) => m !== null));
      const x = examine(name, 'm1.img');
      if (x['Name']) assert.deepEqual(md.aliases, [`/dev/md/${x['Name'].replace(/^.*:/, '')}`]);
      else assert.deepEqual(md.aliases, [`/dev/md${x['Preferred Minor']}`]);
      // raid1: the array is the component size mdadm reports.
      if (level === 'raid1') assert.equal(md.size, Number((x['Array Size'] ?? x['Used Dev Size'])!.split(' ')[0]) * 1024);
      await checkData(name, md);
    } finally {
      await closeAll(devs);
    }
  });
}

test('md on LVM: LVs hostvg/mda and hostvg/mdb are RAID1 members (1.1); the array is assembled after the LVM scan and reads back', async () => {
  const disk = await openRaw('..', 'md', 'md-on-lvm', 'disk.img');
  try {
    const e = await enumerateVolumes([disk]);
    assert.deepEqual(e.warnings, []);
    const byName = Object.fromEntries(e.devices.map((d) => [d.device, d]));
    for (const lv of ['/dev/hostvg/mda', '/dev/hostvg/mdb']) {
      assert.equal(byName[lv]?.probe?.type, 'linux_raid_member', lv);
      assert.equal(byName[lv]?.probe?.label, 'guestkit:onlv');
    }
    const md = byName['/dev/md127']!;
    assert.equal(md.kind, 'md');
    assert.deepEqual(md.aliases, ['/dev/md/onlv']);
    assert.deepEqual(md.md?.members, ['/dev/hostvg/mda', '/dev/hostvg/mdb']);
    assert.equal(md.md?.version, '1.1');
    await checkData('md-on-lvm', md);
  } finally {
    await disk.close();
  }
});

test('raid1-degraded: read from the one member left, with a warning naming the missing role', async () => {
  const { devs, md, warnings } = await assembled('raid1-degraded');
  try {
    assert.equal(examine('raid1-degraded', 'm1.img')['Array State']!.split(' ')[0], 'A.');
    assert.equal(md.md?.degraded, true);
    assert.deepEqual(md.md?.members, ['/dev/sda', null]);
    assert.ok(warnings.some((w) => /md127.*degraded.*1 of 2.*missing role 1/.test(w)), warnings.join('\n'));
    await checkData('raid1-degraded', md);
  } finally {
    await closeAll(devs);
  }
});

for (const [name, level] of [
  ['raid5-v1.2', 'raid5'],
  ['raid10-v1.2', 'raid10'],
  ['raid6-v1.2', 'raid6'],
  ['raid4-v0.90', 'raid4'],
] as const) {
  test(`${name}: listed by name, refused with UNSUPPORTED_FORMAT naming ${level}`, async () => {
    const { devs, md, warnings } = await assembled(name);
    try {
      assert.equal(md.md?.level, level);
      assert.equal(md.error?.code, 'UNSUPPORTED_FORMAT');
      assert.match(md.error!.message, new RegExp(`md ${level} array is not supported`));
      assert.equal(md.error?.details?.['level'], level);
      assert.ok(warnings.some((w) => w.includes(level)));
      await assert.rejects(md.dev.read(0, 512), (e: unknown) => isGuestkitError(e, 'UNSUPPORTED_FORMAT'));
    } finally {
      await closeAll(devs);
    }
  });
}

test('raid0 with a member missing is listed and unreadable (IMAGE_NOT_FOUND), linear likewise', async () => {
  for (const name of ['raid0-v1.2', 'linear-v0.90']) {
    const devs = await openMembers(name);
    try {
      const e = await enumerateVolumes(devs.slice(1));
      const md = e.devices.find((d) => d.kind === 'md')!;
      assert.equal(md.error?.code, 'IMAGE_NOT_FOUND', name);
      assert.deepEqual(md.error?.details?.['missing_roles'], [0]);
    } finally {
      await closeAll(devs);
    }
  }
});

test('a raid1 member whose event count is behind is stale: not used, with a warning', async () => {
  const devs = await openMembers('raid1-v1.2');
  try {
    // Re-read m2's superblock with a lower event count (and a checksum mdadm would accept).
    const sb = Buffer.from(await devs[1]!.read(4096, 4096));
    sb.writeBigUInt64LE(16n, 200);
    sb.writeUInt32LE(sb.readUInt32LE(216) - 1, 216);
    const stale = new PatchedDevice(devs[1]!).patch(4096, sb);
    const e = await enumerateVolumes([devs[0]!, stale]);
    const md = e.devices.find((d) => d.kind === 'md')!;
    assert.deepEqual(md.md?.members, ['/dev/sda', null]);
    assert.equal(md.md?.degraded, true);
    assert.ok(e.warnings.some((w) => /\/dev\/sdb is stale \(events 16 < 17\)/.test(w)), e.warnings.join('\n'));
  } finally {
    await closeAll(devs);
  }
});

test('guests without md pay nothing: partitions holding a filesystem are not probed at their ends', async () => {
  const base = await openRaw('gpt', 'disk.img');
  const offsets: number[] = [];
  const counting: BlockDevice = { name: base.name, size: base.size, read: (o, l) => (offsets.push(o), base.read(o, l)), close: () => base.close() };
  try {
    const e = await enumerateVolumes([counting]);
    const withFs = e.devices.filter((d) => d.kind === 'partition' && d.probe && d.probe.usage === 'filesystem');
    assert.ok(withFs.length >= 2);
    for (const d of withFs) {
      const start = d.partition!.start;
      for (const at of [offset10(d.size), offset090(d.size)]) assert.ok(!offsets.includes(start + at), `${d.device}: md end probe at ${at}`);
    }
    assert.ok(e.devices.every((d) => d.probe?.type !== 'linux_raid_member'));
  } finally {
    await base.close();
  }
});

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
}

test('fuzz: mutated superblocks of every version give arrays, warnings or typed errors, never a crash', async () => {
  const rnd = rng(20);
  for (const name of ['raid1-v1.2', 'raid1-v1.1', 'raid1-v1.0', 'raid1-v0.90', 'raid0-v1.2', 'linear-v1.2']) {
    const devs = await openMembers(name);
    try {
      const sb = (await findMdSuperblock(devs[0]!, true))!;
      const len = sb.version === '0.90' ? 4096 : 256 + 2 * devs.length;
      const orig = await devs[0]!.read(sb.superOffset, len);
      for (let i = 0; i < 60; i++) {
        const b = Buffer.from(orig);
        const n = 1 + Math.floor(rnd() * 6);
        for (let k = 0; k < n; k++) b[Math.floor(rnd() * len)] = [0, 0xff, 0x80, 0x7f, 1][Math.floor(rnd() * 5)]!;
        // Half the time fix the checksum so the damage reaches the field checks.
        if (rnd() < 0.5) fixChecksum(b, sb.version === '0.90');
        const bad = new PatchedDevice(devs[0]!).patch(sb.superOffset, b);
        try {
          await findMdSuperblock(bad, true);
        } catch (e) {
          assert.ok(e instanceof GuestkitError, `untyped error: ${String((e as Error)?.stack ?? e)}`);
        }
        const e = await enumerateVolumes([bad, ...devs.slice(1)]);
        for (const d of e.devices) {
          if (d.kind !== 'md') continue;
          await d.dev.read(0, Math.min(4096, d.size)).catch((err: unknown) => assert.ok(err instanceof GuestkitError, String(err)));
        }
      }
    } finally {
      await closeAll(devs);
    }
  }
});

function fixChecksum(b: Buffer, v090: boolean): void {
  const at = v090 ? 38 * 4 : 216;
  const len = v090 ? 4096 : 256 + 2 * Math.min(b.readUInt32LE(220), (b.length - 256) / 2);
  let s = 0n;
  let i = 0;
  for (; i + 4 <= len; i += 4) if (i !== at) s += BigInt(b.readUInt32LE(i));
  if (i + 2 <= len) s += BigInt(b.readUInt16LE(i));
  b.writeUInt32LE(Number(((s & 0xffffffffn) + (s >> 32n)) & 0xffffffffn), at);
}

test('two arrays named alike (from two hosts): /dev/md127 and /dev/md126, the name alias only for the first', async () => {
  const a = await openMembers('raid1-v1.2');
  const b = await openMembers('raid1-v1.1');
  try {
    // raid1-v1.1's superblock (at 0) renamed to "otherhost:r12", its checksum made right again.
    const renamed = [];
    for (const d of b) {
      const sb = Buffer.from(await d.read(0, 256 + 2 * 2));
      sb.fill(0, 32, 64);
      sb.write('otherhost:r12', 32, 'latin1');
      fixChecksum(sb, false);
      renamed.push(new PatchedDevice(d).patch(0, sb));
    }
    const e = await enumerateVolumes([...a, ...renamed]);
    const mds = e.devices.filter((d) => d.kind === 'md');
    assert.deepEqual(
      mds.map((d) => [d.device, d.aliases ?? [], d.md?.name]),
      [
        ['/dev/md127', ['/dev/md/r12'], 'guestkit:r12'],
        ['/dev/md126', [], 'otherhost:r12'],
      ],
    );
  } finally {
    await closeAll(a);
    await closeAll(b);
  }
});
