import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { runCli, assertUsage as assertUsageLine, type CliResult } from '../helpers/cli.js';

/* Usage errors found on a fresh clone: each is one `guestkit: USAGE_ERROR: …` line, exit 2. */

const assertUsage = (r: CliResult, message: RegExp) => assertUsageLine(r, message, { stdoutEmpty: true });

test('CLI: an unknown option with a "did you mean" hint is still one line', async () => {
  const r = await runCli(['inspect', '--jsn', 'x']);
  assertUsage(r, /unknown option '--jsn'; did you mean --json\? \(see --help\)$/);
  const sub = await runCli(['image', 'info', '--jsno', 'x']);
  assertUsage(sub, /unknown option '--jsno'; did you mean --json\?/);
  const cmd = await runCli(['inspekt', 'x']);
  assertUsage(cmd, /unknown command 'inspekt'; did you mean inspect\?/);
});

test('CLI: --json and --yaml together are a usage error on every command that takes both', async () => {
  for (const args of [['inspect', '--json', '--yaml', 'x.img'], ['inspect', '--yaml', 'x.img', '--json']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, r.stderr);
    // --json asks for the error object on stdout
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(doc.error.code, 'USAGE_ERROR');
    assert.match(doc.error.message, /option '--yaml' cannot be used with option '--json'|option '--json' cannot be used with option '--yaml'/);
  }
});

test('CLI: an unknown -f/--format is a usage error listing the allowed formats, on every command that takes it', async () => {
  const img = fixture('cli', 'empty.img');
  const commands = [['inspect', img], ['filesystems', img], ['ls', img, '/'], ['cat', img, '/etc/hostname'], ['image', 'info', img], ['image', 'convert', img, '/nonexistent/out.raw']];
  for (const cmd of commands) {
    const at = cmd[0] === 'image' ? 2 : 1;
    for (const flag of [['-f', 'bogus'], ['--format=bogus']]) {
      const r = await runCli([...cmd.slice(0, at), ...flag, ...cmd.slice(at)]);
      assertUsage(r, /argument 'bogus' is invalid\. Allowed choices are auto, raw, img, qcow2, vmdk, vhd, vhdx, vdi, ova/);
    }
  }
  // a known format still reaches the image opener
  const ok = await runCli(['filesystems', '--all', '-f', 'raw', fixture('cli', 'garbage.img')]);
  assert.notEqual(ok.code, 2, ok.stderr);
});

test('CLI: filesystems of a text file fails with UNSUPPORTED_FORMAT (exit 1), not an empty table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'guestkit-cli-text-'));
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'just some text, not a disk image\n'.repeat(100));
  const r = await runCli(['filesystems', text]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `guestkit: UNSUPPORTED_FORMAT: no partition table or filesystem found on ${text}\n`);
  // an image with filesystems still lists them
  const ok = await runCli(['filesystems', fixture('inspect', 'debian.qcow2')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^\/dev\/sda4\s+partition\s+ext4\s+root/m);
});
