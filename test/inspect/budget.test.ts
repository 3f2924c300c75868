import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileSystem } from '../../src/fs/types.js';
import { BudgetExceededError, InspectionBudget, type InspectBudgetOptions } from '../../src/inspect/budget.js';
import { GuestSession, inspectSession, type Inspection } from '../../src/inspect/index.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { CountingFs } from './counting-fs.js';
import { addBigBootDirectories, placeFile } from './hostile-guest.js';
import { OverlayFs } from './overlay-fs.js';

/*
 * The budgets of one inspection over hostile guests: the real Ubuntu-style guest with files
 * added through an overlay (a pacman database of 100,000 one-MiB entries, 20,000 kernels, a
 * huge /etc/hosts). Each budget must stop the work it bounds — counted by the filesystem the
 * collectors read through (bytes, reads, entries), never by time — and the result must say
 * so: `partial` with the budget in `budget_exceeded`, or BUDGET_EXCEEDED with on_exceeded: fail.
 */

const MiB = 1024 * 1024;

/** Inspects the Ubuntu-style guest with `hostile` applied to its root filesystem, under `budget`. */
async function inspectHostile(
  budget: InspectBudgetOptions,
  hostile: (real: FileSystem, overlay: OverlayFs) => Promise<void>,
): Promise<{ result?: Inspection; error?: unknown; fs: CountingFs; budget: InspectionBudget }> {
  const b = new InspectionBudget(budget);
  const session = await GuestSession.open([fixture('inspect-guests', 'ubuntu-like.qcow2')], { budget: b });
  try {
    const root = (await session.mountables()).find((m) => m.role === 'linux-root');
    assert.ok(root, 'the Ubuntu-style guest has a Linux root');
    const overlay = new OverlayFs(root.fs);
    await hostile(root.fs, overlay);
    const fs = new CountingFs(overlay);
    // the session's root now reads through the hostile overlay (mountables are computed once)
    root.fs = fs;
    try {
      return { result: await inspectSession(session), fs, budget: b };
    } catch (error) {
      return { error, fs, budget: b };
    }
  } finally {
    await session.close();
  }
}

/** os-release of Arch (so pacman's database is the one read) and `n` package entries sharing one `desc`. */
async function pacmanGuest(real: FileSystem, overlay: OverlayFs, n: number, descBytes: number): Promise<void> {
  await placeFile(real, overlay, '/etc/os-release', Buffer.from('NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n'));
  const head = '%NAME%\npkg\n\n%VERSION%\n1.0-1\n\n%DESC%\n';
  // one Buffer for every entry: the overlay holds references, so 100,000 × 1 MiB costs 1 MiB here
  const desc = Buffer.alloc(Math.max(descBytes, head.length), 'x');
  desc.write(head);
  for (let i = 0; i < n; i++) await overlay.setFile(`/var/lib/pacman/local/pkg${i}-1.0-1/desc`, desc);
}

test('a pacman database of 100,000 one-MiB entries stops at the default max_collected_bytes (1 GiB), partial', async () => {
  const { result, error, fs, budget } = await inspectHostile({}, (real, o) => pacmanGuest(real, o, 100_000, MiB));
  assert.equal(error, undefined, String((error as Error)?.stack));
  assert.ok(result);
  assert.equal(result.partial, true);
  assert.deepEqual(result.budget_exceeded?.map((t) => t.budget), ['max_collected_bytes']);
  assert.equal(result.operating_systems.length, 1, 'the OS found before the budget ran out is reported');
  const os = result.operating_systems[0]!;
  assert.equal(os.distro, 'archlinux');
  assert.equal(os.applications, undefined, 'no package list from a database cut short');
  assert.ok(result.warnings.some((w) => /inspection stopped early.*max_collected_bytes/.test(w)), result.warnings.join('\n'));
  // the work: at most the budget's bytes of desc files (plus the file that tripped it), not 100 GiB
  const w = fs.take();
  assert.ok(w.bytes <= 1024 * MiB + 2 * MiB, `read ${w.bytes} bytes through the guest filesystem`);
  assert.ok(budget.used.files_opened < 1200, `${budget.used.files_opened} files opened`);
  assert.equal(result.stats.collected_bytes, budget.used.collected_bytes);
});

test('max_collected_bytes with on_exceeded: fail ends the inspection with BUDGET_EXCEEDED', async () => {
  const { error, fs } = await inspectHostile({ max_collected_bytes: 8 * MiB, on_exceeded: 'fail' }, (real, o) => pacmanGuest(real, o, 1_000, MiB));
  assert.ok(error instanceof BudgetExceededError, String(error));
  assert.ok(error instanceof GuestkitError);
  assert.equal(error.code, 'BUDGET_EXCEEDED');
  assert.equal(error.details?.budget, 'max_collected_bytes');
  assert.equal(error.retryRecommended, false);
  assert.ok(fs.take().bytes <= 10 * MiB);
});

test('max_files_opened stops a database of many small entries after that many opens', async () => {
  const { result, budget, fs } = await inspectHostile({ max_files_opened: 60 }, (real, o) => pacmanGuest(real, o, 5_000, 0));
  assert.ok(result);
  assert.equal(result.partial, true);
  assert.deepEqual(result.budget_exceeded?.map((t) => t.budget), ['max_files_opened']);
  assert.equal(budget.used.files_opened, 61, 'the open that tripped it is the last one counted');
  assert.equal(result.stats.files_opened, 61);
  assert.ok(fs.take().reads <= 61, 'no file read after the budget ran out');
});

test('max_dir_entries stops collectors listing a huge directory tree', async () => {
  const { result, fs } = await inspectHostile({ max_dir_entries: 5_000 }, (real, o) => addBigBootDirectories(real, o));
  assert.ok(result);
  assert.equal(result.partial, true);
  assert.deepEqual(result.budget_exceeded?.map((t) => t.budget), ['max_dir_entries']);
  const trip = result.budget_exceeded![0]!;
  assert.equal(trip.limit, 5_000);
  // the listing that tripped it is counted whole; nothing is listed after it
  const w = fs.take();
  assert.ok(w.entries <= 5_000 + 20_100, `${w.entries} entries listed`);
  assert.ok(result.stats.dir_entries! <= 5_000 + 20_100);
});

test('one file over max_file_bytes is skipped with a warning; the inspection goes on, marked partial', async () => {
  const hosts = Buffer.from('127.0.0.1 localhost\n'.repeat(150_000)); // ~3 MiB, under the hosts reader's own 4 MiB cap
  const { result, fs } = await inspectHostile({ max_file_bytes: MiB }, (real, o) => placeFile(real, o, '/etc/hosts', hosts));
  assert.ok(result);
  assert.equal(result.partial, true);
  const trip = result.budget_exceeded?.find((t) => t.budget === 'max_file_bytes');
  assert.ok(trip, JSON.stringify(result.budget_exceeded));
  assert.equal(trip.where, '/etc/hosts');
  assert.equal(trip.used, hosts.length);
  const os = result.operating_systems[0]!;
  assert.ok(os.warnings.some((w) => /\/etc\/hosts: .*max_file_bytes/.test(w)), os.warnings.join('\n'));
  // everything else was still collected: packages, users, services, network
  assert.ok((os.applications?.length ?? 0) > 0 && os.users?.length && os.services?.length && os.network);
  assert.ok(!result.warnings.some((w) => /stopped early/.test(w)), 'a skipped file does not stop the inspection');
  assert.ok(fs.take().bytes < hosts.length, 'the big file was not read');
});

test('max_file_bytes with on_exceeded: fail is BUDGET_EXCEEDED', async () => {
  const hosts = Buffer.from('127.0.0.1 localhost\n'.repeat(150_000));
  const { error } = await inspectHostile({ max_file_bytes: MiB, on_exceeded: 'fail' }, (real, o) => placeFile(real, o, '/etc/hosts', hosts));
  assert.ok(error instanceof BudgetExceededError, String(error));
  assert.equal(error.details?.budget, 'max_file_bytes');
});
