import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { dropJob, job, makeSpool, readEvents, startDaemon, waitForResult } from './helpers/daemon.js';

// Overlays made by qemu-img (test/fixtures/worker/build.sh): the job's image lies under the
// allowed root, its backing file may not.
test('a qcow2 overlay under the allowed root whose backing file lies outside it fails PATH_NOT_ALLOWED', async () => {
  const allowed = dirname(fixture('worker', 'allowed/base.qcow2'));
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-backing', '--allow-path', allowed]);
  try {
    await d.ready();
    const inspectJob = (id: string, file: string) => job(id, 'guestkit.inspect', { image: { path: `${allowed}/${file}`, format: 'qcow2' } });
    dropJob(spool, inspectJob('backing-escape-01', 'escape-overlay.qcow2'));
    dropJob(spool, inspectJob('backing-symlink-01', 'symlink-overlay.qcow2'));
    dropJob(spool, inspectJob('backing-inside-01', 'inside-overlay.qcow2'));

    for (const id of ['backing-escape-01', 'backing-symlink-01']) {
      const r = await waitForResult(spool, id, 30_000);
      assert.equal(r.status, 'failed');
      assert.equal(r.error?.code, 'PATH_NOT_ALLOWED', JSON.stringify(r.error));
      assert.match(r.error!.message, /backing file .*outside\/base\.qcow2 lies outside the allowed roots/);
      assert.equal(r.error?.retry_recommended, false);
      // the overlay itself passed the job-level check: the refusal comes from opening its chain
      assert.ok(readEvents(spool, id).some((e) => e.phase === 'disk_attach'), `${id} reached disk_attach`);
    }
    // control: the same chain inside the root opens (an empty disk: no OS, but no path error)
    const ok = await waitForResult(spool, 'backing-inside-01', 30_000);
    assert.equal(ok.status, 'failed');
    assert.equal(ok.error?.code, 'NO_OS_FOUND', JSON.stringify(ok.error));
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});

test('without --allow-path the same overlay opens its outside backing file (no restriction configured)', async () => {
  const allowed = dirname(fixture('worker', 'allowed/base.qcow2'));
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-backing-open']);
  try {
    await d.ready();
    dropJob(spool, job('backing-free-01', 'guestkit.inspect', { image: { path: `${allowed}/escape-overlay.qcow2`, format: 'qcow2' } }));
    const r = await waitForResult(spool, 'backing-free-01', 30_000);
    assert.equal(r.error?.code, 'NO_OS_FOUND', JSON.stringify(r.error));
  } finally {
    await d.stop();
  }
});
