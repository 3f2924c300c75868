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

test('image info accepts qemu-img --output=json|human', async () => {
  const img = fixture('disk', 'top.qcow2');
  const json = await runCli(['image', 'info', '--json', img]);
  assert.equal(json.code, 0, json.stderr);
  for (const args of [['--output=json'], ['--output', 'json']]) {
    const r = await runCli(['image', 'info', ...args, img]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(json.stdout));
  }
  const text = await runCli(['image', 'info', img]);
  const human = await runCli(['image', 'info', '--output=human', img]);
  assert.deepEqual([human.code, human.stdout], [0, text.stdout]);
  assert.match(human.stdout, /file format: qcow2/);
  // errors follow the output format
  const missing = await runCli(['image', 'info', '--output=json', join(tmp, 'no-such.qcow2')]);
  assert.equal(missing.code, 1);
  assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'IMAGE_NOT_FOUND');
  const bad = await runCli(['image', 'info', '--output=xml', img]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^guestkit: USAGE_ERROR: option '--output <fmt>' argument 'xml' is invalid\. Allowed choices are human, json\./);
  const both = await runCli(['image', 'info', '--json', '--output=human', img]);
  assert.equal(both.code, 2);
  assert.match((JSON.parse(both.stdout) as { error: { message: string } }).error.message, /--json and --output=human/);
});
