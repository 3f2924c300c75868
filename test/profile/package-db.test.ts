import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FileSystem } from '../../src/fs/types.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestSession } from '../../src/inspect/session.js';
import { runProfile } from '../../src/profile/run.js';
import type { ProfileName, ProfileReport } from '../../src/profile/types.js';
import { fixture } from '../helpers/fixtures.js';
import { CountingFs } from '../inspect/counting-fs.js';

// The migration profile inspects the guest (kernels, network, packages …); the package checks of
// the other profiles need the installed packages too. The package database must be read once per
// run, counted by the filesystem the guest is read through (never timed).

/** Counts read() calls per inode. */
class ReadsByInode extends CountingFs {
  readonly byIno = new Map<number, number>();
  override read(ino: number, offset: number, length: number): Promise<Buffer> {
    this.byIno.set(ino, (this.byIno.get(ino) ?? 0) + 1);
    return super.read(ino, offset, length);
  }
}

const sessions: GuestSession[] = [];
after(async () => {
  for (const s of sessions) await s.close();
});

const STATUS = '/var/lib/dpkg/status';
const ALL: ProfileName[] = ['security', 'compliance', 'hardening', 'performance'];

/** One profile run of the debootstrapped Debian guest, with its root filesystem read through a counter. */
async function profiled(profiles: ProfileName[]): Promise<{ report: ProfileReport; statusReads: number; fileReads: number }> {
  const session = await GuestSession.open([fixture('inspect', 'debian.qcow2')]);
  sessions.push(session);
  const root = (await session.mountables()).find((m) => m.role === 'linux-root');
  assert.ok(root, 'the Debian guest has a Linux root');
  const inner: FileSystem = root.fs;
  const fs = new ReadsByInode(inner);
  // the session's root now reads through the counter (mountables are computed once)
  root.fs = fs;
  const statusIno = (await new Vfs(inner).stat(STATUS)).ino;
  const report = await runProfile({ disks: [], session, profiles, target: 'kvm' });
  return { report, statusReads: fs.byIno.get(statusIno) ?? 0, fileReads: fs.work.reads };
}

test('the full profile with migration reads the dpkg database once: the package checks take the inspection\'s list', async () => {
  const r = await profiled([...ALL, 'migration']);
  assert.ok(r.fileReads > 10, `the counter sees the guest's file reads (${r.fileReads})`);
  assert.equal(r.statusReads, 1, `${STATUS} read ${r.statusReads} times`);
  // package checks were judged (from that one read), not skipped
  const pkg = r.report.guests[0]!.results.filter((x) => x.evidence.some((e) => e.file === STATUS));
  assert.ok(pkg.length > 0 && pkg.every((x) => x.status === 'pass' || x.status === 'fail'), JSON.stringify(pkg.map((x) => [x.id, x.status])));
});

test('without migration, and migration alone, the database is read once too', async () => {
  assert.equal((await profiled(ALL)).statusReads, 1);
  assert.equal((await profiled(['migration'])).statusReads, 1);
});

test('taking the inspection\'s package list changes no verdict: the checks are judged as without migration', async () => {
  const strip = (r: ProfileReport) => r.guests[0]!.results.filter((x) => !x.id.startsWith('migration.')).map((x) => ({ ...x, profiles: x.profiles.filter((p) => p !== 'migration') }));
  const without = await profiled(ALL);
  const withMigration = await profiled([...ALL, 'migration']);
  assert.deepEqual(strip(withMigration.report), strip(without.report));
  assert.ok(withMigration.report.guests[0]!.migration, 'the migration part is there');
});
