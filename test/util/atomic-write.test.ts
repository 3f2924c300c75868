import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { atomicTempPath, replaceFileAtomic, writeFileAtomic, writeFileAtomicAsync } from '../../src/util/atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'gk-atomic-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh empty folder per case, so its listing shows any temporary file left behind. */
function folder(): string {
  const d = join(root, `case-${n++}`);
  mkdirSync(d);
  return d;
}

test('atomic write (sync): creates, then replaces the whole content; no temporary file stays', () => {
  const d = folder();
  const f = join(d, 'result.json');
  writeFileAtomic(f, '{"a":1}\n');
  assert.equal(readFileSync(f, 'utf8'), '{"a":1}\n');
  writeFileAtomic(f, Buffer.from('short'), { fsync: true });
  assert.equal(readFileSync(f, 'utf8'), 'short');
  writeFileAtomic(f, new Uint8Array(0));
  assert.equal(readFileSync(f, 'utf8'), '');
  assert.deepEqual(readdirSync(d), ['result.json']);
});

test('atomic write (async): replaces the content, honours mode, no temporary file stays', async () => {
  const d = folder();
  const f = join(d, 'out.yaml');
  writeFileSync(f, 'old content that is longer than the new one\n');
  await writeFileAtomicAsync(f, 'new\n', { fsync: true, mode: 0o600 });
  assert.equal(readFileSync(f, 'utf8'), 'new\n');
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(d), ['out.yaml']);
});

test('atomic write: the temporary file is in the target folder, hidden, unique, and within NAME_MAX', () => {
  const long = join('/some/dir', 'x'.repeat(250));
  const a = atomicTempPath(long);
  const b = atomicTempPath(long);
  assert.notEqual(a, b);
  assert.ok(a.startsWith('/some/dir/.'), a);
  assert.ok(a.slice('/some/dir/'.length).length <= 255, a);
});

test('atomic write: a missing target folder fails with ENOENT and creates nothing', async () => {
  const d = folder();
  assert.throws(() => writeFileAtomic(join(d, 'nope', 'f'), 'x'), { code: 'ENOENT' });
  await assert.rejects(writeFileAtomicAsync(join(d, 'nope', 'f'), 'x'), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(d), []);
});

test('atomic write: a target that is a folder fails at the rename and the temporary file is removed', async () => {
  const d = folder();
  const target = join(d, 'taken');
  mkdirSync(target);
  writeFileSync(join(target, 'inside'), 'keep');
  assert.throws(() => writeFileAtomic(target, 'x', { fsync: true }), (e: NodeJS.ErrnoException) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(e.code ?? ''));
  await assert.rejects(writeFileAtomicAsync(target, 'x'), (e: NodeJS.ErrnoException) => ['EISDIR', 'ENOTEMPTY', 'EEXIST'].includes(e.code ?? ''));
  assert.deepEqual(readdirSync(d), ['taken']);
  assert.equal(readFileSync(join(target, 'inside'), 'utf8'), 'keep');
});

test('atomic replace: a writer that fails part-way leaves the old file untouched and no temporary file', async () => {
  const d = folder();
  const f = join(d, 'image.qcow2');
  writeFileSync(f, 'old image');
  let seen = '';
  await assert.rejects(
    replaceFileAtomic(f, async (tmp) => {
      seen = tmp;
      const fh = await open(tmp, 'w');
      await fh.write('half of the new ');
      await fh.close();
      throw new Error('source went away');
    }),
    /source went away/,
  );
  assert.ok(seen.startsWith(d), seen);
  assert.equal(readFileSync(f, 'utf8'), 'old image');
  assert.deepEqual(readdirSync(d), ['image.qcow2']);
  // and a writer that completes replaces it
  await replaceFileAtomic(
    f,
    async (tmp) => {
      const fh = await open(tmp, 'w');
      await fh.write('new image');
      await fh.close();
    },
    { fsync: true },
  );
  assert.equal(readFileSync(f, 'utf8'), 'new image');
  assert.deepEqual(readdirSync(d), ['image.qcow2']);
});

test('atomic write: concurrent writers of one target never mix; the result is one whole content', async () => {
  const d = folder();
  const f = join(d, 'shared');
  const contents = Array.from({ length: 20 }, (_, i) => `${i}:`.padEnd(10_000 + i * 997, String.fromCharCode(97 + i)));
  await Promise.all(contents.map((c) => writeFileAtomicAsync(f, c)));
  assert.ok(contents.includes(readFileSync(f, 'utf8')));
  assert.deepEqual(readdirSync(d), ['shared']);
});
