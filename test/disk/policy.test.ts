import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openImage } from '../../src/disk/open.js';
import { isGuestkitError } from '../../src/protocol/errors.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'gk-policy-')));
after(() => rmSync(root, { recursive: true, force: true }));
const inside = join(root, 'allowed');
const outside = join(root, 'secret');
mkdirSync(inside);
mkdirSync(outside);
writeFileSync(join(outside, 'base.raw'), Buffer.alloc(1024 * 1024, 7));
// An overlay (made by qemu-img) inside the allowed folder whose backing file lies outside it.
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(outside, 'base.raw'), '-F', 'raw', join(inside, 'escape.qcow2')]);
// And one that reaches out through a symlink that itself lives inside.
symlinkSync(join(outside, 'base.raw'), join(inside, 'link.raw'));
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'link.raw', '-F', 'raw', join(inside, 'via-link.qcow2')]);

test('a backing file outside the allowed roots is PATH_NOT_ALLOWED, before it is read', async () => {
  for (const img of ['escape.qcow2', 'via-link.qcow2']) {
    await assert.rejects(openImage(join(inside, img), { allowedRoots: [inside] }), (e) => isGuestkitError(e, 'PATH_NOT_ALLOWED') && /backing file/.test(e.message), img);
  }
});

test('the same images open when the backing folder is allowed too, or no roots are set', async () => {
  for (const opts of [{ allowedRoots: [inside, outside] }, {}]) {
    const dev = await openImage(join(inside, 'escape.qcow2'), opts);
    assert.equal((await dev.read(0, 4))[0], 7);
    await dev.close();
  }
});

test('a FIFO given as an image is refused at once instead of blocking the reader', async () => {
  const fifo = join(root, 'pipe.img');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(openImage(fifo), (e) => isGuestkitError(e, 'IMAGE_NOT_FOUND') && /not a regular file/.test(e.message));
});
