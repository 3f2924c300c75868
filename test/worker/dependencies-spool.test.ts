import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreReader } from '../helpers/store-reader.js';
import { dropJob, echoJob, job, makeSpool, startDaemon, waitForResult } from './helpers/daemon.js';

test('spool: job files with execution.depends_on run after their parents, in any drop order; an unknown parent is refused after the grace period', async () => {
  const spool = makeSpool();
  // the child before its parent, in the same scan: it waits for the parent's file
  dropJob(spool, echoJob('spool-child-2', { execution: { depends_on: ['spool-child-1'] } }));
  dropJob(spool, echoJob('spool-child-1', { execution: { depends_on: ['spool-parent'] } }));
  dropJob(spool, job('spool-parent', 'test.sleep', { seconds: 0.3 }));
  dropJob(spool, echoJob('spool-orphan', { execution: { depends_on: ['spool-never-dropped'] } }));
  dropJob(spool, job('spool-bad-parent', 'test.flaky', { succeed_on_attempt: 9 }, { execution: { max_attempts: 1 } }));
  dropJob(spool, echoJob('spool-bad-child', { execution: { depends_on: ['spool-bad-parent'] } }));
  const d = startDaemon(spool, ['--worker-id', 'w-dag', '--max-concurrent', '2', '--log-level', 'warn'], { GUESTKIT_SPOOL_PARENT_GRACE_MS: '1500', GUESTKIT_HEARTBEAT_SECONDS: '1' });
  try {
    const [p, c1, c2] = await Promise.all(['spool-parent', 'spool-child-1', 'spool-child-2'].map((id) => waitForResult(spool, id, 60_000)));
    assert.deepEqual([p!.status, c1!.status, c2!.status], ['completed', 'completed', 'completed']);
    const orphan = await waitForResult(spool, 'spool-orphan', 60_000);
    assert.equal(orphan.status, 'failed');
    assert.equal(orphan.error?.code, 'VALIDATION_ERROR');
    assert.match(String(orphan.error?.message), /no job "spool-never-dropped" in namespace default/);
    const bad = await waitForResult(spool, 'spool-bad-child', 60_000);
    assert.equal(bad.status, 'failed');
    assert.equal(bad.error?.code, 'DEPENDENCY_FAILED');
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
  const store = StoreReader.open(spool.data);
  try {
    const starts = store.transitions().filter((t) => t.to_status === 'running').map((t) => t.job_id);
    assert.ok(starts.indexOf('spool-parent') < starts.indexOf('spool-child-1'), starts.join(','));
    assert.ok(starts.indexOf('spool-child-1') < starts.indexOf('spool-child-2'), starts.join(','));
    assert.ok(!starts.includes('spool-bad-child'), 'a child of a failed parent never runs');
  } finally {
    store.close();
  }
});
