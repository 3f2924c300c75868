import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { dropJob, job, makeSpool, readEvents, startDaemon, waitForResult } from './helpers/daemon.js';

test('guestkit.inspect through the worker: facts of the Debian fixture, in a pool thread, output written', async () => {
  const image = fixture('inspect', 'debian.qcow2');
  const spool = makeSpool();
  const outDir = join(spool.root, 'out');
  const d = startDaemon(spool, ['--worker-id', 'w-inspect', '--allow-path', dirname(image), '--allow-path', outDir]);
  try {
    await d.ready();
    dropJob(
      spool,
      job('inspect-debian-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' }, output: { format: 'json', destination: join(outDir, 'debian.json') } }, {
        observability: { trace_id: '550e8400-e29b-41d4-a716-446655440001' },
      }),
    );
    const r = await waitForResult(spool, 'inspect-debian-01', 60_000);
    assert.equal(r.status, 'completed', JSON.stringify(r.error));
    const data = r.data as { operating_systems: { distro: string; hostname: string }[] };
    assert.equal(data.operating_systems[0]!.distro, 'debian');
    assert.equal(data.operating_systems[0]!.hostname, 'web-01');
    const m = r.metrics as Record<'disk_read_bytes' | 'image_bytes' | 'cpu_seconds' | 'wall_seconds' | 'peak_memory_mb', number>;
    assert.ok(m.disk_read_bytes > 0 && m.disk_read_bytes < 477_233_152, `read ${m.disk_read_bytes} bytes, not the whole image`);
    // the usage figures: the image file's size, the thread's CPU within the attempt's wall time, its memory
    assert.equal(m.image_bytes, statSync(image).size);
    assert.ok(m.disk_read_bytes < m.image_bytes, `read ${m.disk_read_bytes} of ${m.image_bytes} bytes`);
    assert.ok(m.cpu_seconds > 0 && m.cpu_seconds <= m.wall_seconds + 0.01, `cpu ${m.cpu_seconds} s, wall ${m.wall_seconds} s`);
    assert.ok(m.peak_memory_mb > 0);
    assert.deepEqual(r.outputs, { primary: join(outDir, 'debian.json') });
    assert.deepEqual(JSON.parse(readFileSync(join(outDir, 'debian.json'), 'utf8')).operating_systems[0].hostname, 'web-01');
    const phases = new Set(readEvents(spool, 'inspect-debian-01').map((e) => e.phase));
    for (const p of ['validation', 'disk_attach', 'disk_inspection', 'result_generation']) assert.ok(phases.has(p), `phase ${p} reported`);
    // an output outside the allowed roots is refused before the image is opened
    dropJob(spool, job('inspect-badout-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' }, output: { format: 'json', destination: '/etc/guestkit-out.json' } }));
    assert.equal((await waitForResult(spool, 'inspect-badout-01')).error?.code, 'PATH_NOT_ALLOWED');
    // a stated format that does not match the image is an error, not a guess
    dropJob(spool, job('inspect-wrongfmt-01', 'guestkit.inspect', { image: { path: image, format: 'vmdk' } }));
    const wrong = await waitForResult(spool, 'inspect-wrongfmt-01', 30_000);
    assert.equal(wrong.status, 'failed');
    assert.notEqual(wrong.error?.code, 'EXECUTION_ERROR', JSON.stringify(wrong.error));
  } finally {
    await d.stop();
  }
});

test('a handler over its memory cap is stopped with a typed error; the worker keeps serving', async () => {
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-mem']);
  try {
    await d.ready();
    dropJob(spool, job('alloc-big-01', 'test.alloc', { mb: 4096 }, { constraints: { max_memory_mb: 64 } }));
    const r = await waitForResult(spool, 'alloc-big-01', 60_000);
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.code, 'EXECUTION_ERROR');
    assert.match(r.error!.message, /memory limit of 64 MiB/);
    dropJob(spool, job('alloc-small-01', 'test.alloc', { mb: 8 }, { constraints: { max_memory_mb: 256 } }));
    assert.equal((await waitForResult(spool, 'alloc-small-01', 30_000)).status, 'completed');
  } finally {
    await d.stop();
  }
});
