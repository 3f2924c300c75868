import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { FsError } from '../../src/fs/errors.js';
import { toProtocolError } from '../../src/protocol/errors.js';

test('toProtocolError: a guest path error is NOT_FOUND / EXECUTION_ERROR with the guest path, never retried', () => {
  const missing = toProtocolError(new FsError('ENOENT', 'open', '/etc/nope'));
  assert.deepEqual(missing, {
    code: 'NOT_FOUND',
    message: 'guest path /etc/nope: no such file or directory',
    phase: 'execution',
    details: { path: '/etc/nope', errno: 'ENOENT' },
    recoverable: false,
    retry_recommended: false,
  });
  assert.equal(toProtocolError(new FsError('ELOOP', 'stat', '/a')).code, 'NOT_FOUND');
  assert.equal(toProtocolError(new FsError('ENOTDIR', 'stat', '/etc/hostname/x')).code, 'NOT_FOUND');
  const big = toProtocolError(new FsError('EFBIG', 'read', '/var/log/huge', '9 bytes > limit 4'));
  assert.deepEqual([big.code, big.message, big.retry_recommended], ['EXECUTION_ERROR', 'guest path /var/log/huge: file larger than the read limit (9 bytes > limit 4)', false]);
});

test('toProtocolError: only a host system error (with errno) for a missing file is IMAGE_NOT_FOUND', async () => {
  const host = await readFile('/nonexistent/guestkit-image.qcow2').catch((e: unknown) => e);
  assert.equal(toProtocolError(host).code, 'IMAGE_NOT_FOUND');
  const lookalike = Object.assign(new Error('something ENOENT-coded'), { code: 'ENOENT' });
  assert.deepEqual([toProtocolError(lookalike).code, toProtocolError(lookalike).retry_recommended], ['EXECUTION_ERROR', true]);
  assert.equal(toProtocolError(new TypeError('x is undefined')).code, 'EXECUTION_ERROR');
});
