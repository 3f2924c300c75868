import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FsError } from '../../src/fs/errors.js';
import { Vfs } from '../../src/fs/vfs.js';
import { assembleRoot, type Mountable } from '../../src/inspect/guest.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession } from '../../src/inspect/index.js';
import { detectBootloader, detectKernels } from '../../src/inspect/linux/boot.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { rng } from '../helpers/rng.js';
import { CountingFs, calls, type FsWork } from './counting-fs.js';
import { C, HOSTILE_LINES, LONG_LINES, TARGETS, addBigBootDirectories, generators, placeFile, type Name } from './hostile-guest.js';
import { OverlayFs } from './overlay-fs.js';

/*
 * Hostile guest files: the real Ubuntu-style guest of test/fixtures/inspect-guests (netplan,
 * cloud-init, AppArmor, sudoers, grub) with one configuration file at a time replaced by
 * random bytes, by its own bytes mutated, or by pathological text (a huge line of one
 * character, tens of thousands of repeated directive lines). Every collector that reads the
 * file must fail, if at all, only with GuestkitError or FsError, and do bounded work.
 *
 * Work, not time (no test here measures time): every collector reads the guest through a
 * CountingFs, and its filesystem calls, directory entries listed and bytes read are bounded,
 * so a file read again per include line, a directory listed per directive or a cap that no
 * longer caps fails on any machine, however loaded. Work that never touches the guest (a
 * backtracking regex, names×names matching) is not counted: on the ~1 MB lines anything
 * superlinear takes hours, which the hang guard ends; bench/collectors-hostile.ts prints
 * the times of these cases for spotting slower-but-linear changes.
 */

let session: GuestSession;
let root: Mountable;
before(async () => {
  session = await GuestSession.open([fixture('inspect-guests', 'ubuntu-like.qcow2')]);
  const r = (await session.mountables()).find((m) => m.role === 'linux-root');
  assert.ok(r, 'the Ubuntu-style guest has a Linux root');
  root = r;
});
after(async () => {
  await session?.close();
});

/**
 * Work one collector may do over one hostile file. Measured (3 seeds, every target, generator,
 * hostile and long line; FUZZ_TRACE=1 prints each run's work): at most 653 calls
 * (network over 20,000 `source-directory /etc` lines), 111 directory entries, and bytes read
 * never more than the file's size + 0.92 MiB (sshd_config including /etc/ssh/*).
 */
const MAX_CALLS = 5_000;
const MAX_ENTRIES = 5_000;
const maxBytes = (size: number) => 4 * size + 16 * 1024 * 1024;
/** Only ends a test that stopped making progress (not a speed check): ~25x the slowest test's normal run (~25 s). */
const HANG_GUARD_MS = 10 * 60_000;

function overBudget(w: FsWork, size: number, what: string): string[] {
  const out: string[] = [];
  if (calls(w) > MAX_CALLS) out.push(`${what}: ${calls(w)} filesystem calls (bound ${MAX_CALLS}) on ${size} bytes`);
  if (w.entries > MAX_ENTRIES) out.push(`${what}: ${w.entries} directory entries listed (bound ${MAX_ENTRIES}) on ${size} bytes`);
  if (w.bytes > maxBytes(size)) out.push(`${what}: ${w.bytes} bytes read (bound ${maxBytes(size)}) on ${size} bytes`);
  return out;
}

/** Runs the collectors of `path` over `data` there; returns what went wrong (untyped errors, too much work). */
async function runOn(path: string, data: Buffer, names: (Name | 'fstab')[], context: string): Promise<string[]> {
  const problems: string[] = [];
  const overlay = new OverlayFs(root.fs);
  await placeFile(root.fs, overlay, path, data);
  const fs = new CountingFs(overlay);
  for (const name of names) {
    const warnings: string[] = [];
    fs.take();
    try {
      if (name === 'fstab') await assembleRoot({ ...root, fs }, session.devices, session.pool);
      else await C[name](new GuestView(new Vfs(fs, root.device.device), warnings));
    } catch (err) {
      if (!(err instanceof GuestkitError || err instanceof FsError)) problems.push(`${context} ${name}: untyped ${(err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}`);
    }
    const w = fs.take();
    if (process.env.FUZZ_TRACE) process.stderr.write(`WORK ${JSON.stringify({ context, name, size: data.length, ...w, calls: calls(w) })}\n`);
    problems.push(...overBudget(w, data.length, `${context} ${name}`));
  }
  return problems;
}

test('collectors fuzz: hostile guest files give results, warnings or typed errors, with bounded work', { timeout: HANG_GUARD_MS }, async () => {
  const seeds = Number(process.env.FUZZ_SEEDS ?? 3);
  const base = new Vfs(root.fs);
  const problems: string[] = [];
  for (const [path, names] of TARGETS) {
    const real = (await base.exists(path)) ? await base.readFile(path) : undefined;
    const gens = generators(real);
    for (let seed = 1; seed <= seeds; seed++) {
      for (let k = 0; k < gens.length; k++) {
        const r = rng(seed * 101 + k);
        problems.push(...(await runOn(path, gens[k]!(r), names, `${path} seed ${seed} generator ${k}`)));
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('collectors fuzz: every file made of 20,000 copies of each hostile directive, or of one huge line', { timeout: HANG_GUARD_MS }, async () => {
  const problems: string[] = [];
  for (const [path, names] of TARGETS) {
    for (const [i, line] of HOSTILE_LINES.entries()) {
      problems.push(...(await runOn(path, Buffer.from(`${line}\n`.repeat(20_000)), names, `${path} hostile line ${i}`)));
    }
    for (const [i, line] of LONG_LINES.entries()) {
      problems.push(...(await runOn(path, Buffer.from(`${line}\n`), names, `${path} long line ${i}`)));
    }
  }
  assert.deepEqual(problems, []);
});

test('collectors fuzz: directories of 20,000 entries (kernels and modules, BLS entries) are read with bounded work', { timeout: HANG_GUARD_MS }, async () => {
  const overlay = new OverlayFs(root.fs);
  await addBigBootDirectories(root.fs, overlay);
  const warnings: string[] = [];
  const fs = new CountingFs(overlay);
  const g = new GuestView(new Vfs(fs, root.device.device), warnings);
  // Measured: kernels 40,021 calls (a stat per entry of /boot and /lib/modules), nothing read;
  // bootloader 34,035 calls, 1,001 files read (grub.cfg and the first 1,000 entries), 33,769 bytes.
  const kernels = await detectKernels(g);
  const kw = fs.take();
  assert.ok(kernels.length >= 40_000, `${kernels.length} kernels`);
  const bl = await detectBootloader(g);
  const bw = fs.take();
  if (process.env.FUZZ_TRACE) process.stderr.write(`WORK ${JSON.stringify({ kernels: { ...kw, calls: calls(kw) }, bootloader: { ...bw, calls: calls(bw) } })}\n`);
  assert.ok(calls(kw) <= 100_000, `kernels: ${calls(kw)} filesystem calls for 40,000 entries`);
  assert.ok(kw.readdirs <= 10 && kw.bytes <= 1024 * 1024, `kernels: ${JSON.stringify(kw)}`);
  assert.equal(bl?.entries.length, 1000);
  assert.ok(warnings.includes('/boot/loader/entries: 20000 entries; only the first 1000 were read'), warnings.join('\n'));
  assert.ok(calls(bw) <= 100_000, `bootloader: ${calls(bw)} filesystem calls for 20,000 entries`);
  assert.ok(bw.reads <= 2_000 && bw.bytes <= 1024 * 1024, `bootloader: ${bw.reads} reads, ${bw.bytes} bytes for 1,000 entries read`);
});
