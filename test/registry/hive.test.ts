import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { KEY_COMP_NAME } from '../../src/registry/key-node.js';
import { ChunkedSource, openHive, REG_BINARY, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ, type Hive } from '../../src/registry/index.js';
import { lhHash, readSubkeyList } from '../../src/registry/subkey-list.js';
import { parseValueKey, VALUE_COMP_NAME } from '../../src/registry/value-key.js';
import { fixture } from '../helpers/fixtures.js';
import { dumpHive, fixtureHives, hivexExport, openFile, reglookupCounts } from './helpers.js';

test('every key and value of every fixture hive agrees byte for byte with hivexregedit --export', async () => {
  for (const [name, path] of Object.entries(fixtureHives())) {
    const mine = await dumpHive(await openFile(path));
    const theirs = hivexExport(path);
    assert.deepEqual([...mine.keys()].sort(), [...theirs.keys()].sort(), `${name}: key paths`);
    for (const [k, vals] of theirs) assert.deepEqual(mine.get(k), vals, `${name}: values of ${k || '(root)'}`);
  }
});

test('key and value counts agree with reglookup', async () => {
  for (const [name, path] of Object.entries(fixtureHives())) {
    const mine = await dumpHive(await openFile(path));
    const values = [...mine.values()].reduce((n, v) => n + v.size, 0);
    assert.deepEqual({ keys: mine.size, values }, reglookupCounts(path), name);
  }
});

test('the fixtures exercise every subkey list layout, big data, inline data and both name encodings', async () => {
  const lists = new Set<string>();
  let big = 0;
  let inline = 0;
  const names = { ascii: 0, utf16: 0 };
  const valueNames = { ascii: 0, utf16: 0 };
  for (const path of Object.values(fixtureHives())) {
    const h = await openFile(path);
    await h.walk(async (k) => {
      names[k.node.flags & KEY_COMP_NAME ? 'ascii' : 'utf16']++;
      if (k.node.subkeyCount > 0) {
        const list = await h.cell(k.node.subkeyList);
        lists.add(list.toString('latin1', 0, 2));
        if (list.toString('latin1', 0, 2) === 'ri') lists.add(`ri>${(await h.cell(list.readUInt32LE(4))).toString('latin1', 0, 2)}`);
      }
      if (k.node.valueCount > 0) {
        const vl = await h.cell(k.node.valueList);
        for (let i = 0; i < k.node.valueCount; i++) {
          const cell = await h.cell(vl.readUInt32LE(i * 4));
          const vk = parseValueKey(cell, 0);
          if (vk.name !== '') valueNames[cell.readUInt16LE(0x10) & VALUE_COMP_NAME ? 'ascii' : 'utf16']++;
          if (vk.inline) inline++;
          else if (vk.length > 16344) big++;
        }
      }
    });
  }
  assert.deepEqual([...lists].sort(), ['lf', 'lh', 'li', 'ri', 'ri>lh']);
  assert.ok(big >= 3, `values in db records: ${big}`);
  assert.ok(inline > 100, `inline values: ${inline}`);
  assert.ok(names.utf16 >= 2 && names.ascii > 500, JSON.stringify(names));
  assert.ok(valueNames.utf16 >= 1 && valueNames.ascii > 1000, JSON.stringify(valueNames));
});

test('paths are case-insensitive, take \\ or /, and find UTF-16 and Latin-1 names', async () => {
  const sys = await openFile(fixture('windows', 'server2019', 'SYSTEM'));
  const k = await sys.key('controlset001/SERVICES\\tcpip\\PARAMETERS');
  assert.equal(k?.path, 'ControlSet001\\Services\\Tcpip\\Parameters');
  assert.equal((await k!.value('hostname'))?.string(), 'WIN-SRV2019-01');
  assert.equal(await sys.key('ControlSet001\\Services\\NoSuchService'), undefined);
  assert.equal(await sys.key('ControlSet001\\Services\\Tcpip\\Parameters\\Hostname'), undefined, 'a value is not a key');

  const sam = await openFile(fixture('windows', 'win11', 'SAM'));
  const d = await sam.key('SAM\\Domains\\Account\\Users\\Names\\дмитрий');
  assert.equal(d?.name, 'Дмитрий');
  assert.equal(d!.node.flags & KEY_COMP_NAME, 0, 'Cyrillic name is stored as UTF-16');
  const rid = await d!.value('');
  assert.equal(rid?.type, 1002, 'the default value of a Names key has the RID as its type');
  assert.equal(rid?.data.length, 0);
  assert.equal(rid?.typeName, 'REG_0x3ea');

  const sam19 = await openFile(fixture('windows', 'server2019', 'SAM'));
  const j = await sam19.key('SAM\\Domains\\Account\\Users\\Names\\JÜRGEN');
  assert.equal(j?.name, 'Jürgen');
  assert.notEqual(j!.node.flags & KEY_COMP_NAME, 0, 'Latin-1 name is stored compressed');

  const sw = await openFile(fixture('windows', 'win11', 'SOFTWARE'));
  const wechat = await sw.key('WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\微信');
  assert.equal((await wechat!.value('DisplayName'))?.string(), '微信');
  assert.equal((await wechat!.value('Publisher'))?.string(), '腾讯科技(深圳)有限公司');
  const run = (await sw.key('wow6432node\\microsoft\\windows\\currentversion\\run'))!;
  assert.equal((await run.value('微信'))?.string(), '"C:\\Program Files (x86)\\Tencent\\WeChat\\WeChat.exe" /autorun', 'UTF-16 value name');
});

test('names compare case-insensitively in hives hivexregedit wrote with mixed-case key and value names', async () => {
  for (const v of ['a', 'b']) {
    const sw = await openFile(fixture('windows', 'mixedcase', `SOFTWARE-${v}`));
    for (const spelling of ['WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall', 'wow6432node\\microsoft\\windows\\currentversion\\uninstall', 'WOW6432NODE/MICROSOFT/WINDOWS/CURRENTVERSION/UNINSTALL']) {
      const k = await sw.key(spelling);
      assert.ok(k, `${v}: ${spelling}`);
      assert.equal(k.path, v === 'a' ? 'WOW6432node\\Microsoft\\Windows\\CurrentVersion\\Uninstall' : 'wow6432NODE\\microsoft\\WINDOWS\\CurrentVersion\\UnInstall', 'the path as stored');
      const legacy = (await k.subkey('LEGACY TOOL'))!;
      assert.equal(legacy.name, 'Legacy Tool');
      assert.equal((await legacy.value('Publisher'))?.string(), 'Old Software Ltd', 'stored as "publisher"');
      assert.equal((await legacy.value('InstallLocation'))?.string(), 'C:\\Program Files (x86)\\Legacy Tool\\');
    }
    const native = (await sw.key('Microsoft\\Windows\\CurrentVersion\\Uninstall\\{6a1f3e2b-0c4d-4e5f-8a9b-1c2d3e4f5a6b}'))!;
    assert.equal((await native.value('DisplayName'))?.string(), 'Example Agent (x64)', 'stored as "displayname"');
    assert.equal((await native.value('DisplayVersion'))?.string(), '4.2.0', 'stored as "DISPLAYVERSION"');
  }
});

test('every lh hash the real writers stored (hivex, reged) is the hash of the upper-cased name, as the reader computes it', async () => {
  let checked = 0;
  let nonAscii = 0;
  for (const [name, path] of Object.entries(fixtureHives())) {
    const h = await openFile(path);
    await h.walk(async (k) => {
      if (k.node.subkeyCount === 0) return;
      for (const r of await readSubkeyList((o, w) => h.cell(o, w), k.node.subkeyList, k.node.subkeyCount)) {
        if (r.hash === undefined) continue;
        const child = await h.node(r.offset);
        // names outside ASCII: Windows hashes with its own upcase table; the reader compares those without the hash
        if (/[^\x00-\x7f]/.test(child.name)) {
          nonAscii++;
          continue;
        }
        assert.equal(r.hash, lhHash(child.name), `${name}: ${k.path}\\${child.name}`);
        assert.equal(lhHash(child.name.toLowerCase()), r.hash, 'the hash does not depend on case');
        checked++;
      }
    });
  }
  assert.ok(checked > 500, `lh entries checked: ${checked}`);
  assert.ok(nonAscii >= 2, `non-ASCII names seen: ${nonAscii}`);
});

test('value types decode as Windows stores them', async () => {
  const sw = await openFile(fixture('windows', 'server2019', 'SOFTWARE'));
  const cv = (await sw.key('Microsoft\\Windows NT\\CurrentVersion'))!;
  const v = async (n: string) => (await cv.value(n))!;
  assert.equal((await v('ProductName')).type, REG_SZ);
  assert.equal((await v('productname')).string(), 'Windows Server 2019 Standard');
  assert.equal((await v('CurrentMajorVersionNumber')).dword(), 10);
  assert.equal((await v('InstallTime')).type, REG_QWORD);
  assert.equal((await v('InstallTime')).qword(), 1589451201n * 10000000n + 116444736000000000n);
  assert.equal((await v('DigitalProductId')).type, REG_BINARY);
  assert.equal((await v('DigitalProductId')).data.length, 164);
  assert.equal((await v('ProductName')).dword(), undefined, 'a string is not a number');
  const env = (await sw.key('Microsoft\\Windows\\CurrentVersion'))!;
  assert.equal((await env.value('MediaPathUnexpanded'))!.type, REG_EXPAND_SZ);
  assert.equal((await env.value('MediaPathUnexpanded'))!.string(), '%SystemRoot%\\Media');

  const sys = await openFile(fixture('windows', 'server2019', 'SYSTEM'));
  const ifc = (await sys.key('ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces\\{4f1c2b7a-1d2e-4b4c-9a0e-6b1f3c5d7e91}'))!;
  assert.equal((await ifc.value('IPAddress'))!.type, REG_MULTI_SZ);
  assert.deepEqual((await ifc.value('IPAddress'))!.strings(), ['192.168.10.20', '192.168.10.21']);
  const po = (await sys.key('ControlSet001\\Control\\ProductOptions'))!;
  assert.deepEqual((await po.value('ProductSuite'))!.strings(), ['Terminal Server']);
  const policy = (await po.value('ProductPolicy'))!;
  assert.equal(policy.data.length, 23436, 'big data reassembled from its db segments');
  assert.ok((await sys.root()).lastWritten.getUTCFullYear() >= 2024);
});

test('a dirty hive is read with a warning; a clean one has none', async () => {
  const dirty = await openFile(fixture('windows', 'win11', 'SOFTWARE'));
  assert.equal(dirty.dirty, true);
  assert.match(dirty.warnings.join('\n'), /dirty.*not replayed/);
  assert.equal((await (await dirty.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('CurrentBuildNumber'))!.string(), '22631');
  const clean = await openFile(fixture('windows', 'server2019', 'SOFTWARE'));
  assert.equal(clean.dirty, false);
  assert.deepEqual(clean.warnings, []);
});

test('a hive read in chunks through a source gives the same tree with few reads', async () => {
  const path = fixture('windows', 'win11', 'SYSTEM');
  const buf = readFileSync(path);
  let reads = 0;
  const src = new ChunkedSource(buf.length, async (o, l) => {
    reads++;
    return buf.subarray(o, o + l);
  });
  const a = await dumpHive(await openHive(src));
  const b = await dumpHive(await openFile(path));
  assert.deepEqual(a, b);
  assert.ok(reads <= Math.ceil(buf.length / src.chunkSize), `reads: ${reads}`);
});

test('lh hashes and ri sublists find the same keys as a flat list', async () => {
  for (const m of ['ri', 'lf', 'li']) {
    const h: Hive = await openFile(fixture('windows', 'lists', `SYSTEM-${m}`));
    const services = (await h.key('ControlSet001\\Services'))!;
    const refs = await readSubkeyList((o, w) => h.cell(o, w), services.node.subkeyList, services.node.subkeyCount);
    assert.equal(refs.length, services.node.subkeyCount);
    for (const name of ['ACPI', 'wuauserv', 'VMTOOLS', 'vmxnet3ndis6', 'Tcpip6']) {
      assert.equal((await services.subkey(name))?.name.toLowerCase(), name.toLowerCase(), `${m}: ${name}`);
    }
    assert.equal(await services.subkey('zzz'), undefined);
  }
});

test('hbins tile the hive bins data exactly, including the bin appended for the ri lists', async () => {
  for (const [name, path] of Object.entries(fixtureHives())) {
    const h = await openFile(path);
    let next = 0;
    let n = 0;
    for await (const bin of h.hbins()) {
      assert.equal(bin.offset, next, `${name}: hbin ${n}`);
      next += bin.size;
      n++;
    }
    assert.equal(next, h.binsSize, name);
    assert.equal(h.binsSize, h.base.binsSize, `${name}: header bins size`);
  }
});
