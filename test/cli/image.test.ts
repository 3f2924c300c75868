import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

/* `guestkit image …` behaves like the qemu-img command it is named after. */

const tmp = mkdtempSync(join(tmpdir(), 'guestkit-cli-image-'));

test('image convert without -O writes raw, as qemu-img convert does', async () => {
  const dst = join(tmp, 'out.img');
  const r = await runCli(['image', 'convert', fixture('disk', 'top.qcow2'), dst]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(dst).equals(readFileSync(fixture('disk', 'ref3.raw'))), 'same bytes as the flattened chain');
  const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', dst], { encoding: 'utf8' })) as { format: string };
  assert.equal(info.format, 'raw');
  // -c still needs qcow2, said so without a default in the way
  const c = await runCli(['image', 'convert', '-c', fixture('disk', 'top.qcow2'), join(tmp, 'c.img')]);
  assert.equal(c.code, 2);
  assert.equal(c.stderr, 'guestkit: USAGE_ERROR: -c (compression) needs -O qcow2\n');
});
