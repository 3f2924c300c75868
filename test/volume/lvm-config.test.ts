import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { parseConfig } from '../../src/volume/lvm/config.js';
import { readPvLabel } from '../../src/volume/lvm/label.js';
import { readMdaHeader, readMetadataText } from '../../src/volume/lvm/mda.js';
import { parseVgMetadata } from '../../src/volume/lvm/metadata.js';
import { openRaw, readJson } from './helpers.js';

test('LVM config: sections, key = value, arrays, strings with escapes, comments', () => {
  const c = parseConfig(`# comment
top {
  a = 1   # trailing comment
  neg = -5
  f = 1.5
  s = "he said \\"hi\\" \\\\ # not a comment"
  arr = ["x", 2, "y",
         3]
  empty = []
  nested { inner = "v" }
}
contents = "Text Format Volume Group"
`);
  assert.deepEqual(JSON.parse(JSON.stringify(c)), {
    top: { a: 1, neg: -5, f: 1.5, s: 'he said "hi" \\ # not a comment', arr: ['x', 2, 'y', 3], empty: [], nested: { inner: 'v' } },
    contents: 'Text Format Volume Group',
  });
});

test('LVM config: numbers beyond 2^53 are kept as text, not rounded', () => {
  const c = parseConfig('big = 18446744073709551615');
  assert.equal(c['big'], '18446744073709551615');
});

test('LVM config: malformed text is CORRUPT_IMAGE naming the line', () => {
  const cases: [string, RegExp][] = [
    ['a {\n b = 1\n', /unterminated section/],
    ['a = "x\n\n', /unterminated string starting at line 1/],
    ['a = [1, 2\n', /unterminated array/],
    ['a {\n b = = 2\n}', /where a value belongs at line 2/],
    ['}', /unexpected "}" at line 1/],
    ['a b', /is not followed by "=" or "{"/],
    ['a = [1 2]', /expected "," or "]"/],
    ['a = bare', /unexpected "bare"/],
    ['x = ' + '['.repeat(100) + ']'.repeat(100), /nested too deeply/],
    ['a { '.repeat(100) + '}'.repeat(100), /nested too deeply/],
    ['x { { }', /unexpected "{" where a key belongs/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseConfig(text), (e) => isGuestkitError(e, 'CORRUPT_IMAGE') && re.test(e.message), text);
  }
});

test('LVM metadata: the real text from the fixture parses into the VG model lvs reports', async () => {
  const dev = await openRaw('lvm', 'disk2.img');
  try {
    const label = (await readPvLabel(dev))!;
    const text = (await readMetadataText(dev, await readMdaHeader(dev, label.metadataAreas[0]!)))!;
    const vg = parseVgMetadata(text, 'disk2');
    const pvs = readJson<{ report: { pv: { pv_uuid: string; pe_start: string; vg_name: string; vg_uuid: string; vg_extent_size: string }[] }[] }>('lvm', 'pvs.json').report[0]!.pv;
    assert.equal(vg.name, pvs[0]!.vg_name);
    assert.equal(vg.id, pvs[0]!.vg_uuid);
    assert.equal(vg.extentSize, Number(pvs[0]!.vg_extent_size));
    assert.deepEqual(vg.pvs.map((p) => p.id).sort(), pvs.map((p) => p.pv_uuid).sort());
    assert.deepEqual(vg.pvs.map((p) => p.peStart), pvs.map((p) => Number(p.pe_start)));
    const striped = vg.lvs.find((l) => l.name === 'striped')!;
    assert.equal(striped.segments[0]!.areas.length, 2);
    assert.equal(striped.segments[0]!.stripeSize, 65536);
    const split = vg.lvs.find((l) => l.name === 'split')!;
    assert.deepEqual(split.segments.map((s) => [s.startExtent, s.extentCount]), [[0, 4], [4, 4]]);
    assert.ok(vg.lvs.every((l) => l.visible));
  } finally {
    await dev.close();
  }
});

test('LVM metadata: structural nonsense is CORRUPT_IMAGE', () => {
  const vg = (body: string) => `vg { id = "x" seqno = 1 extent_size = 8192 ${body} }`;
  const lv = (seg: string) => vg(`logical_volumes { l { id = "y" status = ["VISIBLE"] segment_count = 1 segment1 { ${seg} } } }`);
  const cases: [string, RegExp][] = [
    ['a = 1', /expected one volume group section, found 0/],
    [vg('').replace('extent_size = 8192', 'extent_size = 0'), /extent_size 0 is not positive/],
    [vg('').replace('seqno = 1', 'seqno = "1"'), /"seqno" is missing or not an integer/],
    [lv('start_extent = 0 extent_count = 4 type = "striped" stripe_count = 2 stripes = ["pv0", 0]'), /does not hold 2/],
    [lv('start_extent = 0 extent_count = 3 type = "striped" stripe_count = 2 stripe_size = 128 stripes = ["pv0", 0, "pv1", 0]'), /do not divide/],
    [lv('start_extent = 2 extent_count = 3 type = "striped" stripe_count = 1 stripes = ["pv0", 0]'), /gap or overlap/],
    [vg('logical_volumes { l { id = "y" segment_count = 99999999 } }'), /segment_count 99999999 is out of range/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseVgMetadata(text, 't'), (e) => isGuestkitError(e, 'CORRUPT_IMAGE') && re.test(e.message), text);
  }
});
