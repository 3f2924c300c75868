import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { BlockDevice } from '../../src/disk/types.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { readPvLabel } from '../../src/volume/lvm/label.js';
import { readMdaHeader, readMetadataText } from '../../src/volume/lvm/mda.js';
import { scanLvm } from '../../src/volume/lvm/scan.js';
import { SliceDevice } from '../../src/volume/slice.js';
import { readPartitionTable } from '../../src/volume/table.js';
import { fix, openRaw, readJson } from './helpers.js';

interface LvsSeg {
  lv_name: string;
  lv_uuid: string;
  lv_size: string;
  segtype: string;
  seg_start_pe: string;
  seg_size_pe: string;
  stripes: string;
  stripe_size: string;
  seg_pe_ranges: string;
}
interface PvsRow {
  pv_name: string;
  pv_uuid: string;
  pe_start: string;
  vg_name: string;
  vg_uuid: string;
  vg_extent_size: string;
}
const lvs = () => readJson<{ report: { seg: LvsSeg[] }[] }>('lvm', 'lvs.json').report[0]!.seg;
const pvs = () => readJson<{ report: { pv: PvsRow[] }[] }>('lvm', 'pvs.json').report[0]!.pv;
const shas = () =>
  Object.fromEntries(
    readFileSync(fix('lvm', 'fs.sha256'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [h, f] = l.split(/\s+/);
        return [f!.replace(/\.fs$/, ''), h!];
      }),
  );

/** PV A is partition 2 of disk1 (GPT); PV B is the whole of disk2. */
async function openPvs(): Promise<{ a: BlockDevice; b: BlockDevice; close: () => Promise<void> }> {
  const d1 = await openRaw('lvm', 'disk1.img');
  const d2 = await openRaw('lvm', 'disk2.img');
  const t = (await readPartitionTable(d1))!;
  const p2 = t.partitions.find((p) => p.number === 2)!;
  return {
    a: new SliceDevice(d1, p2.start, p2.size, '/dev/sda2'),
    b: d2,
    close: async () => {
      await d1.close();
      await d2.close();
    },
  };
}

async function sha256Of(dev: BlockDevice, chunk: number): Promise<string> {
  const h = createHash('sha256');
  for (let off = 0; off < dev.size; off += chunk) h.update(await dev.read(off, Math.min(chunk, dev.size - off)));
  return h.digest('hex');
}

test('LVM: PV labels and VG match pvs (UUIDs, pe_start, extent size)', async () => {
  const { a, b, close } = await openPvs();
  try {
    const want = pvs();
    for (const [dev, name] of [[a, 'PVA'], [b, 'PVB']] as const) {
      const label = (await readPvLabel(dev))!;
      const row = want.find((r) => r.pv_name === name)!;
      assert.equal(label.pvUuid, row.pv_uuid);
      assert.equal(label.dataAreas[0]!.offset, Number(row.pe_start));
      assert.equal(label.deviceSize, dev.size);
    }
    const scan = await scanLvm([a, b]);
    assert.deepEqual(scan.warnings, []);
    assert.equal(scan.vgs.length, 1);
    const vg = scan.vgs[0]!;
    assert.equal(vg.name, want[0]!.vg_name);
    assert.equal(vg.uuid, want[0]!.vg_uuid);
    assert.equal(vg.extentSize, Number(want[0]!.vg_extent_size));
    assert.deepEqual(vg.pvs.map((p) => p.uuid).sort(), want.map((r) => r.pv_uuid).sort());
    assert.ok(vg.pvs.every((p) => p.dev));
  } finally {
    await close();
  }
});

test('LVM: LVs (linear, striped -i2, two non-contiguous segments, on the second PV) match lvs --segments', async () => {
  const { a, b, close } = await openPvs();
  try {
    const vg = (await scanLvm([a, b])).vgs[0]!;
    const segs = lvs();
    const names = [...new Set(segs.map((s) => s.lv_name))].sort();
    assert.deepEqual(vg.lvs.map((l) => l.name).sort(), names);
    for (const lv of vg.lvs) {
      const mine = segs.filter((s) => s.lv_name === lv.name);
      assert.equal(lv.uuid, mine[0]!.lv_uuid);
      assert.equal(lv.size, Number(mine[0]!.lv_size));
      assert.deepEqual(lv.segtypes.map(() => 'striped'), lv.segtypes, 'LVM stores linear as striped');
      assert.equal(lv.segtypes.length, mine.length);
      assert.equal(lv.error, undefined);
    }
    assert.equal(segs.filter((s) => s.lv_name === 'split').length, 2);
    assert.equal(segs.find((s) => s.lv_name === 'striped')!.stripes, '2');
  } finally {
    await close();
  }
});

for (const lvName of ['lin-ear', 'striped', 'split', 'onb']) {
  test(`LVM: reading LV ${lvName} through guestkit gives exactly the filesystem written at its extents (sha256)`, async () => {
    const { a, b, close } = await openPvs();
    try {
      const lv = (await scanLvm([a, b])).vgs[0]!.lvs.find((l) => l.name === lvName)!;
      const want = shas()[lvName];
      assert.ok(want);
      // Whole-LV reads, and odd-sized reads that straddle stripe chunks and segment ends.
      assert.equal(await sha256Of(lv.dev, lv.size), want);
      assert.equal(await sha256Of(lv.dev, 100_003), want);
    } finally {
      await close();
    }
  });
}

test('LVM: a VG whose second PV is missing lists every LV; those on the missing PV are incomplete, with a warning', async () => {
  const { a, close } = await openPvs();
  try {
    const scan = await scanLvm([a]);
    const vg = scan.vgs[0]!;
    assert.deepEqual(vg.lvs.map((l) => l.name).sort(), ['gap', 'lin-ear', 'onb', 'split', 'striped']);
    const missing = pvs().find((r) => r.pv_name === 'PVB')!.pv_uuid;
    assert.ok(scan.warnings.some((w) => w.includes(missing) && /missing/.test(w)), scan.warnings.join('\n'));
    for (const name of ['striped', 'onb']) {
      const lv = vg.lvs.find((l) => l.name === name)!;
      assert.equal(lv.incomplete, true);
      assert.ok(isGuestkitError(lv.error, 'IMAGE_NOT_FOUND'));
      await assert.rejects(lv.dev.read(0, 512), (e) => isGuestkitError(e, 'IMAGE_NOT_FOUND'));
    }
    const lin = vg.lvs.find((l) => l.name === 'lin-ear')!;
    assert.equal(lin.incomplete, undefined);
    assert.equal(await sha256Of(lin.dev, lin.size), shas()['lin-ear']);
  } finally {
    await close();
  }
});

test('LVM: metadata that wrapped around the circular buffer is read (checksum over both parts)', async () => {
  const dev = await openRaw('lvm-wrap', 'wrap.img');
  try {
    const label = (await readPvLabel(dev))!;
    const mda = await readMdaHeader(dev, label.metadataAreas[0]!);
    const loc = mda.locns[0]!;
    assert.ok(loc.offset + loc.size > mda.size, 'fixture metadata wraps');
    const text = await readMetadataText(dev, mda);
    assert.match(text ?? '', /^wrapvg \{/);
    const scan = await scanLvm([dev]);
    const rows = readJson<{ report: { lv: { lv_name: string; segtype: string; lv_size: string }[] }[] }>('lvm-wrap', 'lvs.json').report[0]!.lv;
    const visible = rows.filter((r) => !r.lv_name.startsWith('['));
    const vg = scan.vgs[0]!;
    assert.deepEqual(vg.lvs.map((l) => l.name).sort(), visible.map((r) => r.lv_name).sort());
    for (const r of visible) assert.equal(vg.lvs.find((l) => l.name === r.lv_name)!.size, Number(r.lv_size));
  } finally {
    await dev.close();
  }
});

test('LVM: a cache pool is listed but refused with UNSUPPORTED_FORMAT naming its segment type', async () => {
  const dev = await openRaw('lvm-wrap', 'wrap.img');
  try {
    const scan = await scanLvm([dev]);
    const cp = scan.vgs[0]!.lvs.find((l) => l.name === 'cpool')!;
    assert.deepEqual(cp.segtypes, ['cache-pool']);
    assert.ok(isGuestkitError(cp.error, 'UNSUPPORTED_FORMAT'));
    assert.match(cp.error!.message, /"cache-pool"/);
    await assert.rejects(cp.dev.read(0, 512), (e) => isGuestkitError(e, 'UNSUPPORTED_FORMAT'));
    assert.ok(scan.warnings.some((w) => /cache-pool/.test(w)));
    const lv1 = scan.vgs[0]!.lvs.find((l) => l.name === 'lv1')!;
    assert.equal((await lv1.dev.read(0, 4096)).length, 4096);
  } finally {
    await dev.close();
  }
});
