import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { openImage } from '../../src/disk/open.js';
import { inspect, type Inspection } from '../../src/inspect/index.js';
import { GuestSession } from '../../src/inspect/session.js';
import { type GuestkitError, isGuestkitError } from '../../src/protocol/errors.js';
import { bitlockerVolumeError, parseBitlockerHeader, parseFveMetadata, readBitlockerMetadata } from '../../src/volume/bitlocker.js';
import { SliceDevice } from '../../src/volume/slice.js';
import { readPartitionTable } from '../../src/volume/table.js';
import { fixture } from '../helpers/fixtures.js';

// bitlocker.qcow2 (test/fixtures/windows/build.sh): a GPT disk made by sgdisk with an ESP (mkfs.vfat),
// a clean NTFS C: (mkntfs, ntfs-3g) holding a Windows tree, and two BitLocker volumes. No Debian tool
// writes BitLocker, so those two are the one hand-built fixture: mkbitlocker.py writes the volume
// header and FVE metadata blocks as libbde's format specification lays them out, and the build
// checks them with blkid, cryptsetup bitlkDump (whose output these tests compare against) and bdeinfo.

let r: Inspection;
before(async () => {
  r = await inspect({ disks: [fixture('windows', 'bitlocker.qcow2')] });
});

/** cryptsetup's words for the protection types, as our ids. */
const CRYPTSETUP: Record<string, string> = {
  'VMK protected with TPM': 'tpm',
  'VMK protected with TPM and PIN': 'tpm_pin',
  'VMK protected with startup key': 'startup_key',
  'VMK protected with recovery passphrase': 'recovery_password',
  'VMK protected with passphrase': 'password',
  'VMK protected with clear key': 'clear_key',
};

function bitlkDump(name: string): { guid: string; description: string; protectors: string[]; mode: string } {
  const text = readFileSync(fixture('windows', `bitlocker-${name}.bitlkdump`), 'utf8');
  const field = (f: string) => new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const protectors = [...text.matchAll(/^\s*Protection:\s*(.*)$/gm)].map((m) => CRYPTSETUP[m[1]!.trim()] ?? m[1]!);
  return { guid: field('GUID'), description: field('Description'), protectors, mode: `${field('Cipher name')}-${field('Cipher mode')}` };
}

test('BitLocker volumes are listed as encrypted (ENCRYPTED) with their key protectors; the clean volumes are inspected', () => {
  const byDev = new Map(r.filesystems.map((f) => [f.device, f]));
  assert.deepEqual(
    r.filesystems.map((f) => [f.device, f.type, f.role ?? null, f.error?.code ?? null]),
    [
      ['/dev/sda1', 'vfat', 'data', null],
      ['/dev/sda2', 'ntfs', 'windows-root', null],
      ['/dev/sda3', 'BitLocker', null, 'ENCRYPTED'],
      ['/dev/sda4', 'BitLocker', null, 'ENCRYPTED'],
    ],
  );
  const os = byDev.get('/dev/sda3')!.error!;
  assert.equal(os.phase, 'disk_inspection');
  assert.equal(os.recoverable, false);
  assert.deepEqual(os.details, {
    encryption: 'BitLocker',
    version: '2',
    volume_id: bitlkDump('os').guid,
    encryption_method: 'aes-xts-128',
    key_protectors: ['tpm_pin', 'recovery_password'],
    description: 'WIN-SRV2019-01 D: 11/28/2023',
  });
  assert.deepEqual(byDev.get('/dev/sda4')!.error!.details!.key_protectors, ['password', 'recovery_password', 'startup_key']);
  assert.match(os.message, /^\/dev\/sda3: BitLocker-encrypted volume \(key protectors: tpm_pin, recovery_password\)/);
  assert.ok(r.warnings.includes(os.message), 'said among the inspection warnings too');

  // inspection of the other volumes went on: the Windows root on the clean NTFS volume
  assert.equal(r.operating_systems.length, 1);
  const w = r.operating_systems[0]!;
  assert.equal(w.root, '/dev/sda2');
  assert.equal(w.pretty_name, 'Windows Server 2019 Standard');
  assert.equal(w.osinfo, 'win2k19');
  assert.ok(w.applications!.length > 0 && w.services!.length > 0);
});

test('the metadata agrees with cryptsetup bitlkDump: volume GUID, description, protectors in order, cipher', async () => {
  const img = await openImage(fixture('windows', 'bitlocker.qcow2'));
  try {
    const t = (await readPartitionTable(new SliceDevice(img, 0, img.size, '/dev/sda')))!;
    for (const [num, name] of [[3, 'os'], [4, 'data']] as const) {
      const p = t.partitions.find((x) => x.number === num)!;
      const dev = new SliceDevice(img, p.start, p.size, `/dev/sda${num}`);
      const header = parseBitlockerHeader(await dev.read(0, 512))!;
      assert.equal(header.version, 2);
      assert.equal(header.togo, false);
      assert.equal(header.metadataOffsets.length, 3);
      const meta = (await readBitlockerMetadata(dev, header))!;
      const dump = bitlkDump(name);
      assert.equal(meta.volumeId, dump.guid, name);
      assert.equal(meta.description, dump.description, name);
      assert.deepEqual(meta.keyProtectors, dump.protectors, name);
      assert.equal(dump.mode, 'aes-xts-plain64');
      assert.equal(meta.encryptionMethod, 'aes-xts-128');
      // the three blocks are copies: each one parses to the same metadata
      for (const off of header.metadataOffsets) assert.deepEqual(parseFveMetadata(await dev.read(off, 65536)), meta);
    }
  } finally {
    await img.close();
  }
});

test('damaged FVE metadata: other copies are used, then the volume is still ENCRYPTED without protectors; damage never crashes', async () => {
  const img = await openImage(fixture('windows', 'bitlocker.qcow2'));
  try {
    const t = (await readPartitionTable(new SliceDevice(img, 0, img.size, '/dev/sda')))!;
    const p = t.partitions.find((x) => x.number === 3)!;
    const dev = new SliceDevice(img, p.start, p.size, '/dev/sda3');
    const header = parseBitlockerHeader(await dev.read(0, 512))!;
    const block = await dev.read(header.metadataOffsets[0]!, 65536);
    const good = parseFveMetadata(block);
    // an unreadable first block: the second copy answers
    const withBadFirst = { ...header, metadataOffsets: [dev.size - 10, ...header.metadataOffsets.slice(1)] };
    assert.deepEqual(await readBitlockerMetadata(dev, withBadFirst), good);
    assert.equal(await readBitlockerMetadata(dev, { ...header, metadataOffsets: [] }), null);
    // no readable metadata: still ENCRYPTED, saying the protectors are unknown
    const e = bitlockerVolumeError('/dev/sda3', {}, '2');
    assert.equal(e.code, 'ENCRYPTED');
    assert.match(e.message, /^\/dev\/sda3: BitLocker-encrypted volume \(its FVE metadata could not be read\)/);
    assert.deepEqual(e.details, { encryption: 'BitLocker', version: '2' });

    // seeded damage to one block (bounded: 300 cases): a typed error or a result, never a crash or hang
    let seed = 19;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(block.subarray(0, 4096));
      for (let n = 0; n < 1 + (i % 8); n++) b[rnd() % 512] = rnd() & 0xff;
      const cut = i % 5 === 0 ? b.subarray(0, rnd() % 512) : b;
      try {
        const m = parseFveMetadata(cut);
        assert.ok(m.keyProtectors.length <= 64);
      } catch (err) {
        assert.ok(isGuestkitError(err, 'CORRUPT_IMAGE'), String(err));
      }
    }
  } finally {
    await img.close();
  }
});

test('volume headers: Vista (EB 52 90, metadata cluster at 56), To Go (MSWIN4.1 + GUID at 424), NTFS and FAT are not BitLocker', () => {
  // The Vista and To Go layouts are built here from the spec's tables (no tool writes them either).
  const vista = Buffer.alloc(512);
  vista.write('eb5290', 0, 'hex');
  vista.write('-FVE-FS-', 3, 'latin1');
  vista.writeUInt16LE(512, 11);
  vista[13] = 8;
  vista.writeBigUInt64LE(0x1234n, 56);
  assert.deepEqual(parseBitlockerHeader(vista), { version: 1, togo: false, metadataOffsets: [0x1234 * 4096] });

  const togo = Buffer.alloc(512);
  togo.write('eb5890', 0, 'hex');
  togo.write('MSWIN4.1', 3, 'latin1');
  togo.write('3bd66749292ed84a8399f6a339e3d001', 424, 'hex');
  togo.writeBigUInt64LE(0x2000000n, 440);
  togo.writeBigUInt64LE(0x3000000n, 448);
  togo.writeBigUInt64LE(0x4000000n, 456);
  assert.deepEqual(parseBitlockerHeader(togo), { version: 2, togo: true, metadataOffsets: [0x2000000, 0x3000000, 0x4000000] });
  // a FAT32 volume formatted by Windows also says MSWIN4.1: without the BitLocker GUID it is not To Go
  togo.fill(0, 424, 440);
  assert.equal(parseBitlockerHeader(togo), null);

  const ntfs = Buffer.alloc(512);
  ntfs.write('NTFS    ', 3, 'latin1');
  assert.equal(parseBitlockerHeader(ntfs), null);
  assert.equal(parseBitlockerHeader(Buffer.alloc(100)), null);
});

test('reading files of a BitLocker volume (ls, cat) fails with ENCRYPTED and its protectors, the clean volume opens', async () => {
  const s = await GuestSession.open([fixture('windows', 'bitlocker.qcow2')]);
  try {
    await assert.rejects(s.deviceView('/dev/sda4'), (err: unknown) => {
      assert.ok(isGuestkitError(err, 'ENCRYPTED'));
      assert.deepEqual((err as GuestkitError).details?.key_protectors, ['password', 'recovery_password', 'startup_key']);
      return true;
    });
    const c = await s.deviceView('/dev/sda2');
    assert.ok((await c.readdirNames('/Windows/System32/config')).includes('SOFTWARE'));
  } finally {
    await s.close();
  }
});
