import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { repoRoot, runCli, type CliResult } from '../helpers/cli.js';

/*
 * Fixtures: test/fixtures/cli/build.sh (a mke2fs -d filesystem with symlink loops; empty,
 * garbage, directory, FIFO and unreadable image paths). Every failure must be one line
 * `guestkit: CODE: message` (or a JSON error object with --json), exit 1 (2 for usage),
 * and never a stack trace or a hang.
 */

const loopImg = () => fixture('cli', 'symlink-loop.img');

function assertReported(r: CliResult, code: string, message: RegExp, exit = 1): void {
  assert.equal(r.code, exit, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, new RegExp(`^guestkit: ${code}: `));
  assert.match(lines[0]!, message);
}

function assertJsonError(r: CliResult, code: string, exit = 1): Record<string, unknown> {
  assert.equal(r.code, exit, r.stderr);
  const doc = JSON.parse(r.stdout) as { error: Record<string, unknown> };
  assert.equal(doc.error.code, code, r.stdout);
  assert.equal(typeof doc.error.message, 'string');
  assert.equal(r.stderr, '');
  return doc.error;
}

test('CLI: a path inside the guest with a symlink loop is NOT_FOUND, not a retryable execution error', async () => {
  for (const p of ['/a', '/self', '/a/x', '/dir/up']) {
    const cat = await runCli(['cat', '--device', '/dev/sda', loopImg(), p]);
    assertReported(cat, 'NOT_FOUND', new RegExp(`guest path ${p}: symbolic link loop`));
    const ls = await runCli(['ls', '--json', '--device', '/dev/sda', loopImg(), p]);
    const err = assertJsonError(ls, 'NOT_FOUND');
    assert.deepEqual([err.recoverable, err.retry_recommended, (err.details as { errno: string }).errno], [false, false, 'ELOOP']);
  }
  // The loop itself lists fine: lstat does not follow it.
  const long = await runCli(['ls', '-l', '--device', '/dev/sda', loopImg(), '/']);
  assert.equal(long.code, 0, long.stderr);
  assert.match(long.stdout, / a -> b$/m);
  const ok = await runCli(['cat', '--device', '/dev/sda', loopImg(), '/etc/hostname']);
  assert.deepEqual([ok.code, ok.stdout], [0, 'loop-host\n']);
});

test('CLI: cat of a guest directory and over --max-bytes are non-retryable errors; a bad --max-bytes is usage', async () => {
  const dir = await runCli(['cat', '--json', '--device', '/dev/sda', loopImg(), '/etc']);
  const err = assertJsonError(dir, 'NOT_FOUND');
  assert.equal(err.message, 'guest path /etc: is a directory, not a file (list it with ls)');
  assert.deepEqual([err.recoverable, err.retry_recommended, (err.details as { errno: string }).errno], [false, false, 'EISDIR']);
  const plain = await runCli(['cat', '--device', '/dev/sda', loopImg(), '/etc/hostname', '/etc']);
  assertReported(plain, 'NOT_FOUND', /^guestkit: NOT_FOUND: guest path \/etc: is a directory, not a file/);
  assert.equal(plain.stdout, 'loop-host\n');
  const big = await runCli(['cat', '--max-bytes', '4', '--device', '/dev/sda', loopImg(), '/etc/hostname']);
  assertReported(big, 'EXECUTION_ERROR', /guest path \/etc\/hostname: file larger than the read limit \(10 bytes > limit 4\)/);
  assert.equal(big.stdout, '');
  for (const bad of ['abc', '-1', '1.5', '']) {
    const r = await runCli(['cat', '--max-bytes', bad, '--device', '/dev/sda', loopImg(), '/etc/hostname']);
    assertReported(r, 'USAGE_ERROR', /--max-bytes must be a whole number of bytes/, 2);
    assert.equal(r.stdout, '');
  }
});

test('CLI: image paths that are missing, directories or FIFOs fail at once with IMAGE_NOT_FOUND', async () => {
  const cases: [string, RegExp][] = [
    [join(repoRoot(), 'test', 'fixtures', 'out', 'cli', 'no-such.img'), /image file not found/],
    [fixture('cli', 'directory.img'), /image path is a directory/],
    [fixture('cli', 'fifo.img'), /image path is a FIFO/],
  ];
  for (const [path, message] of cases) {
    for (const cmd of [['inspect'], ['filesystems'], ['ls', path, '/'], ['cat', path, '/etc/hostname'], ['image', 'info'], ['image', 'checksum']]) {
      const args = cmd.length > 1 && cmd[0] !== 'image' ? cmd : [...cmd, path];
      // A FIFO must not block the command: the 10 s bound fails the test instead of hanging it.
      const r = await runCli(args, undefined, { timeoutMs: 10_000 });
      assertReported(r, 'IMAGE_NOT_FOUND', message);
      assert.equal(r.stdout, '', args.join(' '));
      const j = await runCli([args[0]!, '--json', ...args.slice(1)], undefined, { timeoutMs: 10_000 });
      if (args[0] === 'image') continue; // `image` takes --json on its subcommands
      assertJsonError(j, 'IMAGE_NOT_FOUND');
    }
  }
});

test('CLI: empty and garbage images are raw disks without an OS: NO_OS_FOUND, UNSUPPORTED_FORMAT listings, exact facts', async () => {
  for (const name of ['empty.img', 'garbage.img']) {
    const path = fixture('cli', name);
    const insp = await runCli(['inspect', path]);
    assertReported(insp, 'NO_OS_FOUND', new RegExp(`no operating system found on ${path} \\(0 filesystems examined\\)`));
    const ls = await runCli(['ls', path, '/']);
    assertReported(ls, 'NO_OS_FOUND', /use --device to read one filesystem/);
    // no partition table and no filesystem: a typed failure, not an empty table
    const fsj = await runCli(['filesystems', '--json', path]);
    assert.match(String(assertJsonError(fsj, 'UNSUPPORTED_FORMAT').message), /^no partition table or filesystem found on /);
    for (const args of [['filesystems', path], ['filesystems', '--all', path]]) {
      const fst = await runCli(args);
      assertReported(fst, 'UNSUPPORTED_FORMAT', new RegExp(`no partition table or filesystem found on ${path}$`));
      assert.equal(fst.stdout, '');
    }
    const info = await runCli(['image', 'info', '--json', path]);
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual(
      (({ format, virtual_size }) => ({ format, virtual_size }))(JSON.parse(info.stdout) as { format: string; virtual_size: number }),
      { format: 'raw', virtual_size: name === 'empty.img' ? 0 : 262144 },
    );
    const dev = await runCli(['ls', '--device', '/dev/sda', path, '/']);
    assertReported(dev, 'UNSUPPORTED_FORMAT', /\/dev\/sda holds no recognised filesystem/);
  }
});

test('CLI: several guests, one failing: each failure named on stderr and kept in the JSON in its place', async () => {
  const missing = join(repoRoot(), 'test', 'fixtures', 'out', 'cli', 'no-such.img');
  const r = await runCli(['inspect', '--json', fixture('cli', 'empty.img'), missing]);
  assert.equal(r.code, 1);
  assert.deepEqual(
    r.stderr.trimEnd().split('\n').map((l) => l.split(':').slice(0, 2).join(':')),
    ['guestkit: NO_OS_FOUND', 'guestkit: IMAGE_NOT_FOUND'],
  );
  const doc = JSON.parse(r.stdout) as [{ operating_systems: unknown[] }, { disks: string[]; error: { code: string } }];
  assert.equal(doc.length, 2);
  assert.deepEqual(doc[0].operating_systems, []);
  assert.deepEqual([doc[1].disks, doc[1].error.code], [[missing], 'IMAGE_NOT_FOUND']);
});

test('CLI: parse errors (missing argument, unknown option or command) are USAGE_ERROR lines or JSON, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [['ls'], /missing required argument 'image'/],
    [['inspect', '--bogus', 'x'], /unknown option '--bogus'/],
    [['nosuch'], /unknown command 'nosuch'/],
    [['job', 'create'], /missing required argument 'operation'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assertReported(r, 'USAGE_ERROR', message, 2);
    assert.equal(r.stdout, '');
  }
  const j = await runCli(['ls', '--json']);
  assert.match(String(assertJsonError(j, 'USAGE_ERROR', 2).message), /missing required argument 'image'/);
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: guestkit/);
});

test('CLI: an unreadable image file is IMAGE_NOT_FOUND (permission denied)', async () => {
  const path = fixture('cli', 'unreadable.img');
  const root = repoRoot();
  // root reads any file: run the CLI as nobody then, as an ordinary user would be.
  const asNobody = process.getuid?.() === 0;
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'run.ts'), ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    });
  for (const args of [['inspect', path], ['image', 'info', path], ['image', 'checksum', path], ['filesystems', path]]) {
    const r = run(args);
    assertReported({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }, 'IMAGE_NOT_FOUND', /not readable/);
  }
});
