import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openImage } from '../../src/disk/open.js';
import type { OpenOptions } from '../../src/disk/image.js';
import { GuestkitError, type ErrorCode } from '../../src/protocol/errors.js';
import { diskFixture, sha256Device } from './helpers.js';

/** Opens and reads the whole disk; returns the typed error it must produce. */
async function failure(name: string, opts: OpenOptions = {}): Promise<GuestkitError> {
  try {
    const dev = await openImage(diskFixture(name), opts);
    try {
      await sha256Device(dev);
    } finally {
      await dev.close();
    }
  } catch (err) {
    assert.ok(err instanceof GuestkitError, `expected a GuestkitError, got ${String((err as Error)?.stack ?? err)}`);
    return err;
  }
  assert.fail(`${name} opened and read without error`);
}

const CASES: [string, ErrorCode, RegExp, OpenOptions?][] = [
  ['bad-truncate.qcow2', 'CORRUPT_IMAGE', /past the end|outside|truncated/],
  ['bad-magic.qcow2', 'UNSUPPORTED_FORMAT', /stated format qcow2.*raw/, { format: 'qcow2' }],
  ['bad-l1-past-eof.qcow2', 'CORRUPT_IMAGE', /L2 table of L1 entry 0.*outside/],
  ['bad-l2-past-eof.qcow2', 'CORRUPT_IMAGE', /L2 entry points at host offset 1099511627776/],
  ['bad-l2-unaligned.qcow2', 'CORRUPT_IMAGE', /not cluster aligned/],
  ['bad-size-huge.qcow2', 'CORRUPT_IMAGE', /exceeds 2\^53/],
  ['bad-size-l1.qcow2', 'CORRUPT_IMAGE', /L1 table .* too small/],
  ['bad-cluster-bits-big.qcow2', 'CORRUPT_IMAGE', /cluster_bits 40/],
  ['bad-cluster-bits-small.qcow2', 'CORRUPT_IMAGE', /cluster_bits 8/],
  ['bad-l1-size-huge.qcow2', 'CORRUPT_IMAGE', /L1 table of 4294967295 entries/],
  ['bad-unknown-feature.qcow2', 'UNSUPPORTED_FORMAT', /incompatible features not supported: bit 9/],
  ['bad-compressed-garbage.qcow2', 'CORRUPT_IMAGE', /compressed cluster/],
  ['loop-a.qcow2', 'CORRUPT_IMAGE', /backing chain loop: .*loop-a.qcow2 -> .*loop-b.qcow2 -> .*loop-a.qcow2/],
  ['missing-backing.qcow2', 'IMAGE_NOT_FOUND', /missing-backing.qcow2: backing file not found: .*gone.qcow2/],
];

for (const [name, code, msg, opts] of CASES) {
  test(`corrupt: ${name} gives ${code}`, { timeout: 20_000 }, async () => {
    const err = await failure(name, opts);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, msg);
    // The protocol shape is complete and not retryable.
    const p = err.toProtocol();
    assert.equal(p.retry_recommended, false);
  });
}

test('corrupt: a bad-magic copy without a stated format is read as raw, not as qcow2', async () => {
  const dev = await openImage(diskFixture('bad-magic.qcow2'));
  try {
    assert.equal(dev.format, 'raw');
  } finally {
    await dev.close();
  }
});
