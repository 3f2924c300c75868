import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GuestkitError } from '../../src/protocol/errors.js';
import { baseBlockChecksum, openHive, type Hive } from '../../src/registry/index.js';
import { fixture } from '../helpers/fixtures.js';
import { dumpHive } from './helpers.js';

const BASE = 0x1000;

function load(...p: string[]): Buffer {
  return Buffer.from(readFileSync(fixture('windows', ...p)));
}

function fixChecksum(b: Buffer): Buffer {
  b.writeUInt32LE(baseBlockChecksum(b), 0x1fc);
  return b;
}

/** Opens and walks everything; returns the CORRUPT_IMAGE error, or undefined when the hive reads. */
async function readAll(b: Buffer): Promise<GuestkitError | undefined> {
  try {
    await dumpHive(await openHive(b));
    return undefined;
  } catch (err) {
    if (err instanceof GuestkitError && err.code === 'CORRUPT_IMAGE') return err;
    throw err;
  }
}

async function expectCorrupt(b: Buffer, re: RegExp): Promise<void> {
  const err = await readAll(b);
  assert.ok(err, `expected CORRUPT_IMAGE matching ${re}`);
  assert.match(err.message, re);
}

/** Cell payload offset in the file of a key's record. */
async function keyAt(h: Hive, path: string): Promise<{ nk: number; list: number; values: number }> {
  const k = (await h.key(path))!;
  return { nk: BASE + k.node.offset + 4, list: BASE + k.node.subkeyList + 4, values: BASE + k.node.valueList + 4 };
}

test('base block damage: signature, version and size are errors; checksum is a warning', async () => {
  const good = load('server2019', 'SOFTWARE');
  const notRegf = Buffer.from(good);
  notRegf.write('rogf', 0);
  await expectCorrupt(notRegf, /no "regf" signature/);
  const v2 = Buffer.from(good);
  v2.writeUInt32LE(2, 0x14);
  await expectCorrupt(fixChecksum(v2), /unsupported REGF version 2/);
  await expectCorrupt(good.subarray(0, 3000), /too short/);
  const noBin = Buffer.from(good);
  noBin.write('xbin', BASE);
  await expectCorrupt(noBin, /no "hbin" signature/);
  const sum = Buffer.from(good);
  sum.writeUInt32LE(0x12345678, 0x1fc);
  const h = await openHive(sum);
  assert.match(h.warnings.join('\n'), /checksum 0x12345678 does not match/);
  assert.ok(await h.key('Microsoft\\Windows NT\\CurrentVersion'));
  // a header that claims more hive bins than the file holds is clipped, with a warning
  const big = Buffer.from(good);
  big.writeUInt32LE(0x100000, 0x28);
  const hb = await openHive(fixChecksum(big));
  assert.match(hb.warnings.join('\n'), /states 1048576 bytes of hive bins/);
  assert.equal(await readAll(fixChecksum(big)), undefined);
});

test('hostile subkey indexes: self-referencing ri, loops back to the root, counts beyond the cell', async () => {
  const ri = load('lists', 'SYSTEM-ri');
  const h = await openHive(ri);
  const svc = await keyAt(h, 'ControlSet001\\Services');
  // ri whose first entry names the ri itself: nesting is bounded
  const selfRi = Buffer.from(ri);
  selfRi.writeUInt32LE(selfRi.readUInt32LE(svc.nk + 0x1c), svc.list + 4);
  await expectCorrupt(selfRi, /nests ri lists deeper than 3/);
  // an lh entry that points back at the root key: the walk detects the loop
  const sys = load('server2019', 'SYSTEM');
  const hs = await openHive(sys);
  const root = (await hs.root()).node.offset;
  const cs = await keyAt(hs, 'ControlSet001\\Control');
  const loop = Buffer.from(sys);
  loop.writeUInt32LE(root, cs.list + 4);
  await expectCorrupt(loop, /reached twice; the key index loops/);
  // a list that claims more entries than its cell holds
  const count = Buffer.from(sys);
  count.writeUInt16LE(0xffff, cs.list + 2);
  await expectCorrupt(count, /claims 65535 entries, more than its/);
  // a key that claims more subkeys than the hive could hold
  const many = Buffer.from(sys);
  many.writeUInt32LE(0xfffffff0, cs.nk + 0x14);
  await expectCorrupt(many, /claims 4294967280 subkeys/);
  // a list with more keys than its parent states
  const fewer = Buffer.from(sys);
  fewer.writeUInt32LE(1, cs.nk + 0x14);
  await expectCorrupt(fewer, /holds more keys than its parent states/);
  // wrong signature on the list cell
  const sig = Buffer.from(sys);
  sig.write('zz', cs.list);
  await expectCorrupt(sig, /is not a subkey list \(signature "zz"\)/);
});

test('hostile cells and values: free cells, impossible sizes, data longer than its cell or the hive', async () => {
  const sys = load('server2019', 'SYSTEM');
  const h = await openHive(sys);
  const k = await keyAt(h, 'ControlSet001\\Control\\ComputerName\\ComputerName');
  const free = Buffer.from(sys);
  free.writeInt32LE(Math.abs(free.readInt32LE(k.nk - 4)), k.nk - 4);
  await expectCorrupt(free, /is a free cell/);
  const huge = Buffer.from(sys);
  huge.writeInt32LE(-0x7ffffff0, k.nk - 4);
  await expectCorrupt(huge, /impossible size/);
  const outside = Buffer.from(sys);
  outside.writeUInt32LE(0x7ffffff0, k.nk + 0x28); // value list offset far outside
  await expectCorrupt(outside, /value list offset 0x7ffffff0 lies outside the hive bins/);
  const nameLen = Buffer.from(sys);
  nameLen.writeUInt16LE(0xffff, k.nk + 0x48);
  await expectCorrupt(nameLen, /key name \(65535 bytes\) .* runs past its/);

  // the ComputerName value's vk record
  const vkOff = BASE + sys.readUInt32LE(k.values) + 4;
  assert.equal(sys.toString('latin1', vkOff, vkOff + 2), 'vk');
  const long = Buffer.from(sys);
  long.writeUInt32LE(0x7fffffff, vkOff + 4);
  await expectCorrupt(long, /claims 2147483647 bytes, more than the hive holds/);
  const beyondCell = Buffer.from(sys);
  beyondCell.writeUInt32LE(4000, vkOff + 4);
  await expectCorrupt(beyondCell, /claims 4000 bytes, its data cell holds/);
  const inline = Buffer.from(sys);
  inline.writeUInt32LE(0x80000008, vkOff + 4);
  await expectCorrupt(inline, /claims 8 bytes of inline data/);
  const notVk = Buffer.from(sys);
  notVk.write('xx', vkOff);
  await expectCorrupt(notVk, /is not a value \(vk\) record/);
});

test('hostile big data: too few segments, a segment list that does not hold them', async () => {
  const sys = load('server2019', 'SYSTEM');
  const h = await openHive(sys);
  const po = await keyAt(h, 'ControlSet001\\Control\\ProductOptions');
  const vals = (await (await h.key('ControlSet001\\Control\\ProductOptions'))!.values()).map((v) => v.name);
  const i = vals.indexOf('ProductPolicy');
  const vk = BASE + sys.readUInt32LE(po.values + i * 4) + 4;
  const db = BASE + sys.readUInt32LE(vk + 8) + 4;
  assert.equal(sys.toString('latin1', db, db + 2), 'db');
  const few = Buffer.from(sys);
  few.writeUInt16LE(1, db + 2);
  await expectCorrupt(few, /1 segments cannot hold 23436 bytes/);
  const lots = Buffer.from(sys);
  lots.writeUInt16LE(5000, db + 2);
  await expectCorrupt(lots, /names 5000 segments, its list holds/);
});

test('seeded fuzzing: random byte damage and truncation give CORRUPT_IMAGE or a readable hive, never a crash or hang', async () => {
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let corrupt = 0;
  let readable = 0;
  for (const name of [['server2019', 'SYSTEM'], ['win11', 'SOFTWARE'], ['lists', 'SYSTEM-ri'], ['win11', 'SAM']] as const) {
    const good = load(...name);
    const binsEnd = Math.min(good.length, BASE + good.readUInt32LE(0x28));
    for (let iter = 0; iter < 120; iter++) {
      const b = Buffer.from(good);
      const flips = 1 + rand(24);
      for (let f = 0; f < flips; f++) {
        const at = BASE + rand(binsEnd - BASE);
        // favour the bytes that matter: sizes, offsets and counts are 16/32-bit little-endian fields
        if (rand(2)) b.writeUInt32LE(rand(2) ? rand(0x100000) : 0xffffffff - rand(64), at - (at % 4));
        else b[at] = rand(256);
      }
      const cut = rand(5) === 0 ? b.subarray(0, BASE + rand(binsEnd - BASE)) : b;
      const err = await readAll(cut);
      if (err) corrupt++;
      else readable++;
    }
  }
  assert.ok(corrupt > 100 && readable > 20, `corrupt ${corrupt}, readable ${readable}`);
});
