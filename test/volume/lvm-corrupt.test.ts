import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { GuestkitError, isGuestkitError } from '../../src/protocol/errors.js';
import { lvmCrc } from '../../src/volume/crc32.js';
import { readPvLabel } from '../../src/volume/lvm/label.js';
import { readMdaHeader, readMetadataText } from '../../src/volume/lvm/mda.js';
import { scanLvm } from '../../src/volume/lvm/scan.js';
import { SliceDevice } from '../../src/volume/slice.js';
import { readPartitionTable } from '../../src/volume/table.js';
import { PatchedDevice, openRaw } from './helpers.js';

async function openPvs(): Promise<{ a: BlockDevice; b: BlockDevice; close: () => Promise<void> }> {
  const d1 = await openRaw('lvm', 'disk1.img');
  const d2 = await openRaw('lvm', 'disk2.img');
  const p2 = (await readPartitionTable(d1))!.partitions.find((p) => p.number === 2)!;
  return {
    a: new SliceDevice(d1, p2.start, p2.size, '/dev/sda2'),
    b: d2,
    close: async () => {
      await d1.close();
      await d2.close();
    },
  };
}

/**
 * The PV with its metadata text replaced by `edit(text)`, written where the real copy is,
 * with the raw location's size/checksum and the header checksum recomputed — so only the
 * text itself is wrong, as if LVM had written it.
 */
async function withMetadata(base: BlockDevice, edit: (text: string) => string | Buffer): Promise<PatchedDevice> {
  const label = (await readPvLabel(base))!;
  const area = label.metadataAreas[0]!;
  const mda = await readMdaHeader(base, area);
  const loc = mda.locns[0]!;
  const text = (await readMetadataText(base, mda))!;
  const edited = edit(text);
  const body = Buffer.concat([typeof edited === 'string' ? Buffer.from(edited) : edited, Buffer.alloc(1)]);
  assert.ok(loc.offset + body.length <= mda.size);
  const hdr = Buffer.from(await base.read(area.offset, 512));
  hdr.writeBigUInt64LE(BigInt(body.length), 40 + 8);
  hdr.writeUInt32LE(lvmCrc(body), 40 + 16);
  hdr.writeUInt32LE(lvmCrc(hdr.subarray(4)), 0);
  return new PatchedDevice(base).patch(area.offset, hdr).patch(area.offset + loc.offset, body);
}

test('LVM corrupt: garbage metadata text on every PV → no VG, typed warnings naming the line, no crash', async () => {
  const { a, b, close } = await openPvs();
  try {
    const garbage = (t: string) => t.replace('physical_volumes {', 'physical_volumes { = = ]');
    const scan = await scanLvm([await withMetadata(a, garbage), await withMetadata(b, garbage)]);
    assert.equal(scan.vgs.length, 0);
    assert.equal(scan.pvs.length, 2);
    assert.equal(scan.warnings.length, 2);
    for (const w of scan.warnings) assert.match(w, /LVM metadata: .* at line \d+/);
  } finally {
    await close();
  }
});

test('LVM corrupt: garbage on one PV → the VG comes from the other copy', async () => {
  const { a, b, close } = await openPvs();
  try {
    const scan = await scanLvm([a, await withMetadata(b, () => '\u0001\u0002{{{{ "unterminated')]);
    assert.equal(scan.vgs.length, 1);
    assert.equal(scan.vgs[0]!.lvs.length, 5);
    assert.equal(scan.warnings.length, 1);
    assert.match(scan.warnings[0]!, /unterminated string/);
  } finally {
    await close();
  }
});

test('LVM: the copy with the highest seqno wins', async () => {
  const { a, b, close } = await openPvs();
  try {
    const newer = await withMetadata(b, (t) => t.replace(/seqno = (\d+)/, (_m, n) => `seqno = ${Number(n) + 1}`).replace('lin-ear {', 'renamed {'));
    for (const order of [[a, newer], [newer, a]]) {
      const vg = (await scanLvm(order)).vgs[0]!;
      assert.ok(vg.lvs.some((l) => l.name === 'renamed'));
      assert.ok(!vg.lvs.some((l) => l.name === 'lin-ear'));
    }
  } finally {
    await close();
  }
});

test('LVM corrupt: a segment pointing past its PV → that LV unavailable (CORRUPT_IMAGE) with a warning; others readable', async () => {
  const { a, b, close } = await openPvs();
  try {
    // lin-ear's only stripe is ("pv0", 0); move it beyond pe_count, then beyond the device with pe_count raised too.
    const pastCount = (t: string) => t.replace(/stripes = \[\n"pv0", 0\n\]/, 'stripes = [\n"pv0", 35\n]');
    const pastDevice = (t: string) => pastCount(t).replace('pe_count = 39', 'pe_count = 99999').replace('"pv0", 35', '"pv0", 90000');
    for (const [edit, re] of [[pastCount, /which has 39/], [pastDevice, /past the end of \/dev\/sda2/]] as const) {
      const scan = await scanLvm([await withMetadata(a, edit), await withMetadata(b, edit)]);
      const lvs = scan.vgs[0]!.lvs;
      const lin = lvs.find((l) => l.name === 'lin-ear')!;
      assert.ok(isGuestkitError(lin.error, 'CORRUPT_IMAGE'), String(lin.error));
      assert.match(lin.error!.message, re);
      assert.ok(scan.warnings.some((w) => re.test(w)));
      await assert.rejects(lin.dev.read(0, 512), (e) => isGuestkitError(e, 'CORRUPT_IMAGE'));
      const split = lvs.find((l) => l.name === 'split')!;
      assert.equal((await split.dev.read(1024, 1024)).readUInt16LE(56), 0xef53);
    }
  } finally {
    await close();
  }
});

test('LVM corrupt: a damaged label or metadata area header is a warning, never a crash', async () => {
  const { a, b, close } = await openPvs();
  try {
    const label = (await readPvLabel(a))!;
    const badLabel = new PatchedDevice(a).patch(label.sector * 512 + 40, Buffer.from('XXXX'));
    const badMda = new PatchedDevice(b).patch(4096 + 30, Buffer.from([0xff]));
    const scan = await scanLvm([badLabel, badMda]);
    assert.equal(scan.vgs.length, 0);
    assert.match(scan.warnings.join('\n'), /bad checksum/);
    assert.match(scan.warnings.join('\n'), /metadata area header checksum mismatch/);
  } finally {
    await close();
  }
});

test('LVM corrupt: randomly mutated metadata text (valid checksums) only ever gives typed errors', async () => {
  const { a, b, close } = await openPvs();
  try {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    for (let i = 0; i < 60; i++) {
      const mutate = (t: string) => {
        const buf = Buffer.from(t);
        const n = 1 + Math.floor(rnd() * 6);
        for (let k = 0; k < n; k++) buf[Math.floor(rnd() * buf.length)] = ' {}[]=,"#\\0123456789azpv-'.charCodeAt(Math.floor(rnd() * 26));
        return buf;
      };
      const ma = await withMetadata(a, mutate);
      const mb = await withMetadata(b, mutate);
      const scan = await scanLvm([ma, mb]);
      for (const vg of scan.vgs) {
        for (const lv of vg.lvs) {
          await lv.dev.read(0, Math.min(lv.size, 4096)).catch((e: unknown) => assert.ok(e instanceof GuestkitError, String(e)));
        }
      }
    }
  } finally {
    await close();
  }
});

test('LVM: thin, RAID, mirror segments and old-style snapshots are listed but refused with UNSUPPORTED_FORMAT naming the type', async () => {
  const { a, b, close } = await openPvs();
  try {
    // Real metadata with segment types changed as lvconvert would leave them (no device-mapper here to make them).
    const edit = (t: string) =>
      t
        .replace(/(onb \{[\s\S]*?type = )"striped"/, '$1"raid1"')
        .replace(/(split \{[\s\S]*?type = )"striped"/, '$1"thin"')
        .replace(
          'logical_volumes {',
          'logical_volumes {\nsnapshot0 {\nid = "snap00-0000-0000-0000-0000-0000-000000"\nstatus = ["READ"]\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 2\ntype = "snapshot"\nchunk_size = 8\norigin = "lin-ear"\ncow_store = "gap"\n}\n}\n',
        );
    const scan = await scanLvm([await withMetadata(a, edit), await withMetadata(b, edit)]);
    const lvs = scan.vgs[0]!.lvs;
    assert.ok(!lvs.some((l) => l.name === 'snapshot0'), 'hidden LVs are not listed');
    for (const [name, type] of [['onb', 'raid1'], ['split', 'thin'], ['gap', 'snapshot']]) {
      const lv = lvs.find((l) => l.name === name)!;
      assert.ok(isGuestkitError(lv.error, 'UNSUPPORTED_FORMAT'), name);
      assert.match(lv.error!.message, new RegExp(`"${type}"`));
      assert.equal(lv.error!.details?.['segment_type'], type);
    }
    // The origin of a snapshot holds the current data itself (dm's snapshot-origin reads straight through).
    const origin = lvs.find((l) => l.name === 'lin-ear')!;
    assert.equal(origin.error, undefined);
    assert.equal((await origin.dev.read(1024, 1024)).readUInt16LE(56), 0xef53);
  } finally {
    await close();
  }
});
