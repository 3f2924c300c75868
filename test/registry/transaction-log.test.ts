import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Vfs } from '../../src/fs/vfs.js';
import { assembleRoot } from '../../src/inspect/guest.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession } from '../../src/inspect/session.js';
import { openHiveFile } from '../../src/inspect/windows/hives.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { marvin32, openHive, REGISTRY_LOG_SEED, type Hive, type LogFile } from '../../src/registry/index.js';
import { repoRoot } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { HostDirFs } from '../helpers/host-fs.js';
import { dumpHive, hivexExport } from './helpers.js';
import { changedPages, hvleEntry, newFormatLog, oldFormatLog, patchBase, withBase, type Page } from './log-builder.js';

// The hives here are written by hivexregedit (a real writer): H0 a fixture hive, H1 = H0 with a
// value merged, H2 = H1 with a key merged. The logs carrying H0→H1→H2 are HAND-MADE by
// log-builder.ts from those real pages (no Debian tool writes registry transaction logs); the
// result of each replay is checked against hivexregedit --export of H1/H2 themselves.

let dir: string;
let h0: Buffer;
let h1: Buffer;
let h2: Buffer;
let seq: number; // H0's sequence number (primary = secondary in the clean file)

function merge(src: string, dst: string, reg: string): Buffer {
  copyFileSync(src, dst);
  writeFileSync(`${dst}.reg`, `Windows Registry Editor Version 5.00\r\n\r\n${reg}\r\n`);
  execFileSync('hivexregedit', ['--merge', dst, `${dst}.reg`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return readFileSync(dst);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'guestkit-hivelog-'));
  copyFileSync(fixture('windows', 'server2019', 'SOFTWARE'), join(dir, 'H0'));
  h0 = readFileSync(join(dir, 'H0'));
  h1 = merge(join(dir, 'H0'), join(dir, 'H1'), '[\\Microsoft\\Windows NT\\CurrentVersion]\r\n"LogOnlyValue"="written after the last flush"');
  // enough data that H2 grows past H1's hive bins
  h2 = merge(join(dir, 'H1'), join(dir, 'H2'), `[\\GuestkitLogTest]\r\n"Big"=hex:${Buffer.alloc(9000, 0x5a).toString('hex').replace(/(..)(?!$)/g, '$1,')}\r\n"Name"="second entry"`);
  seq = h0.readUInt32LE(8);
  assert.equal(h0.readUInt32LE(4), seq, 'H0 is clean');
  // the real writer keeps no transaction log: hence the hand-made framing
  assert.deepEqual(readdirSync(dir).filter((f) => /\.LOG\d?$/i.test(f)), []);
  assert.equal(h1.readUInt32LE(4), h1.readUInt32LE(8), 'hivex leaves its hive clean');
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** H0 as a crash left it: the primary sequence number bumped, the secondary not. */
function dirtyH0(extra: { lastWritten?: bigint } = {}): Buffer {
  return withBase(h0, patchBase(h0, { primary: seq + 1, secondary: seq, ...extra }));
}

async function assertSameAs(h: Hive, path: string): Promise<void> {
  const mine = await dumpHive(h);
  const theirs = hivexExport(path);
  assert.deepEqual([...mine.keys()].sort(), [...theirs.keys()].sort());
  for (const [k, v] of theirs) assert.deepEqual(mine.get(k), v, k);
}

test('Marvin32 gives the .NET runtime test vectors', () => {
  const seed = 0x004fb61a001bdbccn;
  const vectors: [string, bigint][] = [
    ['', 0x30ed35c100cd3c7dn],
    ['af', 0x48e73fc77d75ddc1n],
    ['e70f', 0xb5f6e1fc485dbff8n],
    ['37f495', 0xf0b07c789b8cf7e8n],
    ['8642dc59', 0x7008f2e87e9cf556n],
    ['153fb79826', 0xe6c08c6da2afa997n],
    ['0932e6246c47', 0x6f04bf1a5ea24060n],
    ['ab427ea8d10fc7', 0xe11847e4f0678c41n],
  ];
  for (const [hex, want] of vectors) assert.equal(marvin32(Buffer.from(hex, 'hex'), seed), want, hex);
  // with the registry's seed (the kernel's HvInitializeHashLibrary passes 0x82EF4D887A4E55C5 as
  // a little-endian u64; the spec's decimal 14219357686671994754 is the same 8 bytes read the
  // other way round): 32-bit folds published with a Rust Marvin32 implementation
  const fold = (h: bigint): number => Number((h & 0xffffffffn) ^ (h >> 32n));
  assert.equal(REGISTRY_LOG_SEED, 0x82ef4d887a4e55c5n);
  assert.equal(fold(marvin32(Buffer.alloc(0), REGISTRY_LOG_SEED)), 0xb00892ac);
  assert.equal(fold(marvin32(Buffer.from('h'), REGISTRY_LOG_SEED)), 0xf41a608e);
  assert.equal(fold(marvin32(Buffer.from('he'), REGISTRY_LOG_SEED)), 0x11107c6b);
});

test('a dirty hive whose newest value exists only in its new-format log: replayed in memory, read like the hive hivex wrote', async () => {
  const pages = changedPages(h0, h1);
  assert.ok(pages.length > 0 && pages.length < h1.readUInt32LE(0x28) / 4096, 'only some pages changed');
  const primary = dirtyH0();
  const before = Buffer.from(primary);
  const log1 = newFormatLog(h1, [{ sequence: seq, binsSize: h1.readUInt32LE(0x28), pages }]);
  const withoutLog = await openHive(primary, 'SOFTWARE');
  assert.equal(await (await withoutLog.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('LogOnlyValue'), undefined);
  assert.match(withoutLog.warnings.join('\n'), /dirty.*no usable transaction log.*not replayed/);

  const h = await openHive(primary, 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG1', data: log1 }] });
  assert.equal(h.dirty, false);
  assert.equal((await (await h.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('LogOnlyValue'))!.string(), 'written after the last flush');
  assert.match(h.warnings.join('\n'), /replayed 1 transaction log record from SOFTWARE\.LOG1/);
  await assertSameAs(h, join(dir, 'H1'));
  assert.ok(primary.equals(before), 'the primary buffer is never written');
});

test('new format: LOG1/LOG2 applied in sequence order (whichever is passed first), old entries skipped, the hive bins grow', async () => {
  const bins1 = h1.readUInt32LE(0x28);
  const bins2 = h2.readUInt32LE(0x28);
  assert.ok(bins2 > bins1, 'H2 has more hive bins than H1');
  // LOG1 holds an already-applied entry (sequence below the primary's secondary) with junk, then H0→H1
  const stale: Page = { offset: 0, data: Buffer.alloc(4096, 0xee) };
  const log1 = newFormatLog(h1, [
    { sequence: seq - 1, binsSize: bins1, pages: [stale] },
    { sequence: seq, binsSize: bins1, pages: changedPages(h0, h1) },
  ]);
  const log2 = newFormatLog(h2, [{ sequence: seq + 1, binsSize: bins2, pages: changedPages(h1, h2) }]);
  const h = await openHive(dirtyH0(), 'SOFTWARE', {
    logs: [
      { name: 'SOFTWARE.LOG2', data: log2 },
      { name: 'SOFTWARE.LOG1', data: log1 },
    ],
  });
  assert.match(h.warnings.join('\n'), /replayed 2 transaction log records from SOFTWARE\.LOG1, SOFTWARE\.LOG2/);
  assert.equal(h.binsSize, bins2);
  assert.equal(h.base.primarySequence, seq + 1);
  assert.equal((await (await h.key('GuestkitLogTest'))!.value('Name'))!.string(), 'second entry');
  await assertSameAs(h, join(dir, 'H2'));
});

test('old format (XP–8): base block + DIRT bitmap + 512-byte pages, applied when its timestamp matches the primary', async () => {
  const pages512 = changedPages(h0, h1, 512);
  const stamp = h1.readBigUInt64LE(12);
  const logBase = patchBase(h1, { primary: seq + 1, secondary: seq + 1 });
  const log = oldFormatLog(logBase, pages512);
  assert.equal(log.toString('latin1', 512, 516), 'DIRT');
  const h = await openHive(dirtyH0({ lastWritten: stamp }), 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG', data: log }] });
  assert.match(h.warnings.join('\n'), /replayed 1 transaction log record from SOFTWARE\.LOG /);
  await assertSameAs(h, join(dir, 'H1'));

  // another timestamp: the log belongs to another state of the hive and is not applied
  const other = await openHive(dirtyH0({ lastWritten: stamp + 1n }), 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG', data: log }] });
  assert.match(other.warnings.join('\n'), /SOFTWARE\.LOG: written at another time/);
  assert.match(other.warnings.join('\n'), /not replayed/);
  assert.equal(await (await other.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('LogOnlyValue'), undefined);
  // an incomplete log (its own sequence numbers differ) is not applied either
  const torn = oldFormatLog(patchBase(h1, { primary: seq + 2, secondary: seq + 1 }), pages512);
  const t = await openHive(dirtyH0({ lastWritten: stamp }), 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG', data: torn }] });
  assert.match(t.warnings.join('\n'), /incomplete/);
  // a dirty hive bin whose header names another offset: the log is refused as Windows refuses it
  const moved = pages512.map((p) => ({ offset: p.offset, data: Buffer.from(p.data) }));
  const bin = moved.find((p) => p.data.toString('latin1', 0, 4) === 'hbin') ?? { offset: 0, data: Buffer.from(h1.subarray(4096, 4096 + 512)) };
  if (!moved.includes(bin)) moved.push(bin);
  bin.data.writeUInt32LE(bin.offset + 4096, 4);
  const m = await openHive(dirtyH0({ lastWritten: stamp }), 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG', data: oldFormatLog(logBase, moved) }] });
  assert.match(m.warnings.join('\n'), /dirty hive bin at \d+ states offset/);
  assert.equal(m.dirty, true);
});

test('an entry with a wrong hash or out of sequence stops the replay there, with a warning', async () => {
  const bins1 = h1.readUInt32LE(0x28);
  const bins2 = h2.readUInt32LE(0x28);
  const log1 = newFormatLog(h1, [{ sequence: seq, binsSize: bins1, pages: changedPages(h0, h1) }]);
  const good2 = newFormatLog(h2, [{ sequence: seq + 1, binsSize: bins2, pages: changedPages(h1, h2) }]);

  const badData = Buffer.from(good2);
  badData[512 + 40 + 100]! ^= 1; // a byte of the page references / pages: Hash-1 no longer matches
  const badHeader = Buffer.from(good2);
  badHeader.writeUInt32LE(bins2 + 4096, 512 + 16); // hive bins data size changed: Hash-2 no longer matches
  const gap = newFormatLog(h2, [{ sequence: seq + 2, binsSize: bins2, pages: changedPages(h1, h2) }]);

  for (const [data, why] of [
    [badData, /Hash-1/],
    [badHeader, /Hash-2/],
    [gap, /sequence number .*expected/],
  ] as const) {
    const h = await openHive(dirtyH0(), 'SOFTWARE', {
      logs: [
        { name: 'SOFTWARE.LOG1', data: log1 },
        { name: 'SOFTWARE.LOG2', data },
      ],
    });
    assert.match(h.warnings.join('\n'), why);
    assert.match(h.warnings.join('\n'), /replayed 1 transaction log record from SOFTWARE\.LOG1 /);
    await assertSameAs(h, join(dir, 'H1'));
  }

  // a bad first entry: nothing to apply, the hive is read as it is, with a warning
  const bad1 = Buffer.from(log1);
  bad1[512 + 24]! ^= 0xff;
  const h = await openHive(dirtyH0(), 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG1', data: bad1 }] });
  assert.equal(h.dirty, true);
  assert.match(h.warnings.join('\n'), /Hash-2[\s\S]*no usable transaction log/);

  // two entries in one log, the second out of order
  const twisted = newFormatLog(h2, [
    { sequence: seq, binsSize: bins1, pages: changedPages(h0, h1) },
    { sequence: seq + 5, binsSize: bins2, pages: changedPages(h1, h2) },
  ]);
  const t = await openHive(dirtyH0(), 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG1', data: twisted }] });
  assert.match(t.warnings.join('\n'), /sequence number \d+, \d+ was expected; replay stops there/);
  await assertSameAs(t, join(dir, 'H1'));
});

test('a clean hive ignores its logs; empty and foreign logs are skipped', async () => {
  const log1 = newFormatLog(h1, [{ sequence: seq, binsSize: h1.readUInt32LE(0x28), pages: changedPages(h0, h1) }]);
  const clean = await openHive(h0, 'SOFTWARE', { logs: [{ name: 'SOFTWARE.LOG1', data: log1 }] });
  assert.deepEqual(clean.warnings, []);
  assert.equal(await (await clean.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('LogOnlyValue'), undefined);
  const h = await openHive(dirtyH0(), 'SOFTWARE', {
    logs: [
      { name: 'a.LOG1', data: Buffer.alloc(0) },
      { name: 'a.LOG2', data: Buffer.from('not a log at all'.repeat(100)) },
    ],
  });
  assert.match(h.warnings.join('\n'), /a\.LOG2: not a transaction log/);
  assert.equal(h.dirty, true);
});

test('hostile logs: 300 bounded mutations give typed errors or warnings, never a crash or a hang', async () => {
  const bins1 = h1.readUInt32LE(0x28);
  const bins2 = h2.readUInt32LE(0x28);
  const newLogs = [
    newFormatLog(h1, [{ sequence: seq, binsSize: bins1, pages: changedPages(h0, h1) }]),
    newFormatLog(h2, [{ sequence: seq + 1, binsSize: bins2, pages: changedPages(h1, h2) }]),
  ];
  const stamp = h1.readBigUInt64LE(12);
  const oldLog = oldFormatLog(patchBase(h1, { primary: seq + 1, secondary: seq + 1 }), changedPages(h0, h1, 512));
  let state = 0x1234567;
  const rnd = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  const outcomes = { read: 0, typed: 0 };
  for (let i = 0; i < 300; i++) {
    const old = i % 3 === 2;
    const logs: LogFile[] = (old ? [oldLog] : newLogs).map((l, j) => ({ name: `L${j}`, data: Buffer.from(l) }));
    const victim = logs[rnd(logs.length)]!;
    const kind = rnd(4);
    if (kind === 0) {
      for (let k = 0; k < 1 + rnd(8); k++) victim.data[rnd(victim.data.length)] = rnd(256);
    } else if (kind === 1) {
      victim.data = victim.data.subarray(0, rnd(victim.data.length));
    } else {
      // a header field of an entry (or the dirty vector) set to a hostile value, hashes redone
      const fields = old ? [0x28, 516, 520] : [516, 524, 528, 532, 552, 556];
      const off = fields[rnd(fields.length)]!;
      const hostile = [0, 1, 0xffffffff, 0x7ffff000, 512, 4096 * rnd(64), rnd(0x100000000)][rnd(7)]!;
      if (off + 4 <= victim.data.length) victim.data.writeUInt32LE(hostile >>> 0, off);
      if (kind === 3 && !old && victim.data.length >= 1024) {
        const size = Math.min(victim.data.readUInt32LE(516), victim.data.length - 512);
        if (size >= 40) {
          victim.data.writeBigUInt64LE(marvin32(victim.data.subarray(552, 512 + size), REGISTRY_LOG_SEED), 536);
          victim.data.writeBigUInt64LE(marvin32(victim.data.subarray(512, 544), REGISTRY_LOG_SEED), 544);
        }
      }
    }
    try {
      const h = await openHive(dirtyH0(old ? { lastWritten: stamp } : {}), `fuzz ${i}`, { logs });
      await dumpHive(h);
      outcomes.read++;
    } catch (err) {
      assert.ok(err instanceof GuestkitError, `mutation ${i}: ${String(err)}`);
      outcomes.typed++;
    }
  }
  assert.equal(outcomes.read + outcomes.typed, 300);
  // the seeded mutations reach both outcomes (deterministic: the same 300 cases every run)
  assert.ok(outcomes.read > 0 && outcomes.typed > 0, JSON.stringify(outcomes));
});

test('Windows inspection opens a dirty hive with its .LOG1/.LOG2 siblings from the guest filesystem', async () => {
  const root = join(dir, 'guest');
  mkdirSync(join(root, 'Windows/System32/config'), { recursive: true });
  const cfg = join(root, 'Windows/System32/config');
  writeFileSync(join(cfg, 'SOFTWARE'), dirtyH0());
  writeFileSync(join(cfg, 'SOFTWARE.LOG1'), newFormatLog(h1, [{ sequence: seq, binsSize: h1.readUInt32LE(0x28), pages: changedPages(h0, h1) }]));
  writeFileSync(join(cfg, 'SOFTWARE.LOG2'), Buffer.alloc(0));
  const g = new GuestView(new Vfs(new HostDirFs(root)));
  const h = (await openHiveFile(g, '/Windows/System32/config/SOFTWARE'))!;
  assert.equal((await (await h.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('LogOnlyValue'))!.string(), 'written after the last flush');
  assert.match(g.warnings.join('\n'), /replayed 1 transaction log record from \/Windows\/System32\/config\/SOFTWARE\.LOG1/);
  assert.ok(g.evidence.includes('/Windows/System32/config/SOFTWARE.LOG1'));
});

test('hvleEntry pads to 512 bytes and its hashes follow the description', () => {
  const e = hvleEntry({ sequence: 7, binsSize: 4096, pages: [{ offset: 0, data: Buffer.alloc(4096, 1) }] });
  assert.equal(e.length % 512, 0);
  assert.equal(e.readUInt32LE(4), e.length);
  assert.equal(e.readBigUInt64LE(32), marvin32(e.subarray(0, 32), REGISTRY_LOG_SEED));
});

function checkLog(log: Buffer): {
  format: string;
  checksum_ok: boolean;
  file_type: number;
  sequences: number[];
  bins_size: number;
  entries?: { sequence: number; bins_size: number; pages: number[][]; hash1_ok: boolean; hash2_ok: boolean }[];
  dirty_pages?: number[];
} {
  const p = join(dir, 'check.LOG');
  writeFileSync(p, log);
  return JSON.parse(execFileSync('python3', [join(repoRoot(), 'test', 'registry', 'check-log.py'), p], { encoding: 'utf8' }));
}

test('every hand-made log is read back by an independent reader (check-log.py, Python, from the format description)', () => {
  const bins1 = h1.readUInt32LE(0x28);
  const bins2 = h2.readUInt32LE(0x28);
  const p01 = changedPages(h0, h1);
  const p12 = changedPages(h1, h2);
  const log = newFormatLog(h2, [
    { sequence: seq, binsSize: bins1, pages: p01 },
    { sequence: seq + 1, binsSize: bins2, pages: p12 },
  ]);
  const r = checkLog(log);
  assert.equal(r.format, 'new');
  assert.equal(r.checksum_ok, true);
  assert.equal(r.file_type, 6);
  assert.deepEqual(
    r.entries!.map((e) => [e.sequence, e.bins_size, e.hash1_ok, e.hash2_ok]),
    [
      [seq, bins1, true, true],
      [seq + 1, bins2, true, true],
    ],
  );
  assert.deepEqual(r.entries![1]!.pages, p12.map((p) => [p.offset, p.data.length]));
  const bad = Buffer.from(log);
  bad[512 + 40 + 100]! ^= 1;
  assert.equal(checkLog(bad).entries![0]!.hash1_ok, false);

  const pages512 = changedPages(h0, h1, 512);
  const old = checkLog(oldFormatLog(patchBase(h1, { primary: seq + 1, secondary: seq + 1 }), pages512));
  assert.equal(old.format, 'old');
  assert.equal(old.checksum_ok, true);
  assert.equal(old.file_type, 1);
  assert.deepEqual(old.sequences, [seq + 1, seq + 1]);
  assert.deepEqual(old.dirty_pages, pages512.map((p) => p.offset));
});

test('dirtylog.img: a dirty SOFTWARE on NTFS, its newest value only in SOFTWARE.LOG1, read through inspection like the hive hivex wrote', async () => {
  const s = await GuestSession.open([fixture('windows', 'dirtylog.img')]);
  try {
    const root = (await s.mountables()).find((m) => m.role === 'windows-root')!;
    const a = await assembleRoot(root, s.devices, s.pool);
    const g = new GuestView(a.vfs, []);
    const log1 = (await g.bytes('/Windows/System32/config/SOFTWARE.LOG1', 1 << 20))!;
    // the fixture's log (mklog.py) read by the independent reader as well
    const r = checkLog(log1);
    assert.deepEqual(
      r.entries!.map((e) => [e.hash1_ok, e.hash2_ok]),
      [[true, true]],
    );
    const h = (await openHiveFile(g, '/Windows/System32/config/SOFTWARE'))!;
    assert.equal(h.dirty, false);
    assert.match(g.warnings.join('\n'), /SOFTWARE: hive was dirty; replayed 1 transaction log record from \/Windows\/System32\/config\/SOFTWARE\.LOG1 /);
    assert.equal((await (await h.key('Microsoft\\Windows NT\\CurrentVersion'))!.value('LogOnlyValue'))!.string(), 'written after the last flush');
    await assertSameAs(h, fixture('windows', 'dirtylog', 'SOFTWARE-after'));
  } finally {
    await s.close();
  }
});
