import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { GuestkitError } from '../../src/protocol/errors.js';
import { zstdDecompress } from '../../src/util/zstd.js';

// Frames made by the real zstd tool (Debian's zstd, installed by scripts/ensure-system.sh).
const zstd = (data: Buffer, ...args: string[]) => execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 64 << 20 });

test('zstd: a frame is decoded whole within the cap', () => {
  const text = Buffer.from('guestkit '.repeat(10_000));
  assert.deepEqual(zstdDecompress(zstd(text), 1 << 20, 'test'), text);
});

test('zstd: a small frame that decodes to 64 MiB is refused at the cap with a typed error', () => {
  const bomb = zstd(Buffer.alloc(64 << 20), '--no-content-size');
  assert.ok(bomb.length < 16 << 10, `the bomb is ${bomb.length} bytes`);
  assert.throws(
    () => zstdDecompress(bomb, 1 << 20, 'squashfs block'),
    (err: unknown) => err instanceof GuestkitError && err.code === 'CORRUPT_IMAGE' && /^squashfs block: zstd output larger than 1048576 bytes/.test(err.message),
  );
});

test('zstd: bytes after the frame fail it, unless the caller keeps what came before (initramfs padding)', () => {
  const text = Buffer.from('cpio archive '.repeat(1000));
  const padded = Buffer.concat([zstd(text), Buffer.from('not zstd at all')]);
  assert.throws(() => zstdDecompress(padded, 1 << 20, 'squashfs block'), (err: unknown) => err instanceof GuestkitError && err.code === 'CORRUPT_IMAGE');
  assert.deepEqual(zstdDecompress(padded, 1 << 20, 'initramfs', { keepTrailing: true }), text);
  assert.throws(() => zstdDecompress(Buffer.from('garbage bytes'), 1 << 20, 'initramfs', { keepTrailing: true }), /initramfs: zstd: /);
});
