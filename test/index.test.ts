import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as guestkit from '../src/index.js';
import { fixture } from './helpers/fixtures.js';

test('the package entry exposes inspect() and the layers as a pure library', async () => {
  const r = await guestkit.inspect(fixture('inspect', 'rpm-guest.qcow2'));
  assert.equal(r.operating_systems[0]!.distro, 'rocky');
  assert.equal(typeof guestkit.disk.openImage, 'function');
  assert.equal(typeof guestkit.volume.enumerateVolumes, 'function');
  assert.equal(typeof guestkit.fs.Vfs, 'function');
  assert.equal(guestkit.protocol.validateJob({}).ok, false);
  await assert.rejects(guestkit.inspect('/no/such.img'), (e) => guestkit.isGuestkitError(e, 'IMAGE_NOT_FOUND'));
});
