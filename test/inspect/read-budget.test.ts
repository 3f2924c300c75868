import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from '../../src/inspect/index.js';
import { fixture } from '../helpers/fixtures.js';

/**
 * What one full inspection of the debootstrapped Debian qcow2 (2 GiB, 157 packages) pulls from
 * the image, counted by the image reader itself: a budget in bytes and reads, not in time, so
 * a change that reads whole files or tables where a part suffices fails on any machine.
 * Today: ~856 KiB in ~120 reads (a 140 KiB dpkg status among them). bench/inspect-inprocess.ts times it.
 */
const BYTES = 1024 * 1024;
const READS = 160;

test('one inspect() of the Debian qcow2 with a fresh open reads at most 1 MiB in at most 160 reads', async () => {
  const r = await inspect({ disks: [fixture('inspect', 'debian.qcow2')] });
  const os = r.operating_systems[0]!;
  assert.ok((os.applications?.length ?? 0) > 100 && os.users?.length && os.services?.length, 'a full inspection');
  assert.ok(r.stats.bytes_read <= BYTES, `read ${r.stats.bytes_read} bytes (budget ${BYTES})`);
  assert.ok(r.stats.reads <= READS, `${r.stats.reads} reads (budget ${READS})`);
  // A second fresh open reads the same: nothing is cached across sessions.
  const again = await inspect({ disks: [fixture('inspect', 'debian.qcow2')] });
  assert.deepEqual([again.stats.bytes_read, again.stats.reads], [r.stats.bytes_read, r.stats.reads]);
});
