import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FileSystem } from '../../src/fs/types.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession } from '../../src/inspect/session.js';
import { catalogue } from '../../src/profile/catalogue.js';
import { evaluateLinux, keyValue } from '../../src/profile/linux/evaluate.js';
import { LinuxGuest } from '../../src/profile/linux/guest.js';
import { sshdEffective } from '../../src/profile/linux/sshd.js';
import type { Evaluator } from '../../src/profile/types.js';
import { fixture } from '../helpers/fixtures.js';
import { CountingFs, type FsWork } from '../inspect/counting-fs.js';

// The work the check evaluators do on the debootstrapped Debian guest, counted by the filesystem
// they read through (never timed): a cold `guestkit profile` pays for every lookup, stat and read.

class ReadsByInode extends CountingFs {
  readonly byIno = new Map<number, number>();
  override read(ino: number, offset: number, length: number): Promise<Buffer> {
    this.byIno.set(ino, (this.byIno.get(ino) ?? 0) + 1);
    return super.read(ino, offset, length);
  }
}

let session: GuestSession;
let inner: FileSystem;
before(async () => {
  session = await GuestSession.open([fixture('inspect', 'debian.qcow2')]);
  const root = (await session.mountables()).find((m) => m.role === 'linux-root');
  assert.ok(root, 'the Debian guest has a Linux root');
  inner = root.fs;
});
after(async () => session.close());

/** The checks whose evaluator has one of `types`, judged on a fresh guest (empty caches) read through a counter. */
async function judged(types: Evaluator['type'][]): Promise<{ work: FsWork; fs: ReadsByInode; checks: number; statuses: string[] }> {
  const fs = new ReadsByInode(inner);
  const g = new LinuxGuest(new GuestView(new Vfs(fs)), 'deb');
  const checks = catalogue().filter((c) => types.includes(c.evaluator.type) && c.families.includes('linux'));
  const statuses = [];
  for (const c of checks) statuses.push((await evaluateLinux(g, c.evaluator)).status);
  return { work: fs.take(), fs, checks: checks.length, statuses };
}

async function ino(path: string): Promise<number> {
  return (await new Vfs(inner).stat(path)).ino;
}

test('the /etc tree checks: one walk for the three of them, each entry stat\'ed once by inode, no path lookup below /etc', async () => {
  const vfs = new Vfs(inner);
  let entries = 0;
  let dirs = 0;
  const count = async (p: string): Promise<void> => {
    dirs++;
    for (const e of await vfs.readdir(p)) {
      if (e.name === '.' || e.name === '..') continue;
      entries++;
      if (e.type === 'directory') await count(`${p}/${e.name}`);
    }
  };
  await count('/etc');
  const r = await judged(['file_tree']);
  assert.equal(r.checks, 3);
  assert.deepEqual(r.statuses, ['pass', 'pass', 'pass']);
  assert.equal(r.work.readdirs, dirs, `${dirs} directories under /etc, each listed once`);
  // every entry once, plus resolving /etc itself and reading passwd and group for owner names
  assert.ok(r.work.stats <= entries + 20, `${r.work.stats} stats for ${entries} entries`);
  assert.ok(r.work.lookups <= 5, `${r.work.lookups} lookups`);
});

test('sshd and login.defs: each file is read and parsed once however many checks ask', async () => {
  const r = await judged(['sshd', 'key_value']);
  assert.ok(r.checks >= 30, `${r.checks} checks`);
  assert.equal(r.fs.byIno.get(await ino('/etc/ssh/sshd_config')), 1);
  assert.equal(r.fs.byIno.get(await ino('/etc/login.defs')), 1);
  assert.ok(r.statuses.every((s) => s === 'pass' || s === 'fail' || s === 'not_applicable'), r.statuses.join(' '));
  // parsed once: every check is handed the same parse
  const g = new LinuxGuest(new GuestView(new Vfs(inner)), 'deb');
  assert.equal(await sshdEffective(g), await sshdEffective(g));
  const defs = { path: '/etc/login.defs', syntax: 'space', key: 'PASS_MAX_DAYS' } as const;
  const first = await keyValue(g, defs);
  assert.ok(first, 'login.defs sets PASS_MAX_DAYS');
  assert.equal(await keyValue(g, { ...defs }), first);
});

test('unit checks: the unit directories are listed once each, not searched by path for every unit', async () => {
  const r = await judged(['unit']);
  assert.ok(r.checks >= 20, `${r.checks} checks`);
  // a path lookup per unit and search-path directory was ~4 x (units asked) x (path depth)
  assert.ok(r.work.lookups < 3 * r.checks, `${r.work.lookups} lookups for ${r.checks} checks`);
});
