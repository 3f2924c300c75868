import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectJob, makeHostileImages, memOf, PROTOCOL_CODES } from '../../bench/memory-pressure.js';
import { makeSpool, startDaemon, waitForResult } from './helpers/daemon.js';

// 16 inspect jobs of hostile images at once on one worker, 512 MiB heap cap per handler
// thread: fixtures whose headers claim huge tables, counts and block sizes (see
// bench/memory-pressure.ts, which measures several rounds). Every job ends typed (completed,
// or failed with a protocol error code) and the worker's resident memory, all threads
// included, stays far below 16 × 512 MiB. Work is bounded by the job count, not by time.
const CONCURRENCY = 16;
const CAP_MB = 512;
const BOUND_MB = 4096;

test(`${CONCURRENCY} concurrent inspections of hostile images with a ${CAP_MB} MiB cap each: typed results, worker RSS < ${BOUND_MB} MiB`, async () => {
  const spool = makeSpool('gk-mem-');
  const images = makeHostileImages(join(spool.root, 'images'));
  assert.ok(images.length >= CONCURRENCY, `at least ${CONCURRENCY} jobs (${images.length})`);
  const staging = join(spool.root, 'staging');
  mkdirSync(staging);
  for (const img of images) writeFileSync(join(staging, `mem-${img.id}.json`), inspectJob(`mem-${img.id}-01`, img));
  const d = startDaemon(spool, ['--worker-id', 'w-mem', '--max-concurrent', String(CONCURRENCY), '--memory-limit-mb', String(CAP_MB), '--allow-path', join(spool.root, 'images')]);
  let peak = 0;
  let sampler: NodeJS.Timeout | undefined;
  try {
    await d.ready();
    const pid = d.proc.pid!;
    sampler = setInterval(() => {
      try {
        peak = Math.max(peak, memOf(pid).hwm);
      } catch {
        /* exited */
      }
    }, 50);
    for (const img of images) renameSync(join(staging, `mem-${img.id}.json`), join(spool.jobs, `mem-${img.id}.json`));
    const lines: string[] = [];
    for (const img of images) {
      const r = await waitForResult(spool, `mem-${img.id}-01`, 180_000);
      const code = r.error?.code;
      lines.push(`${img.id}: ${r.status}${code ? ` ${code}` : ''}`);
      assert.ok(r.status === 'completed' || (r.status === 'failed' && code !== undefined && PROTOCOL_CODES.has(code)), `${img.id} (${img.what}) ended typed: ${JSON.stringify(r.error ?? r.status)}`);
    }
    assert.equal((JSON.parse(readFileSync(join(spool.results, 'mem-sound-01-result.json'), 'utf8')) as { status: string }).status, 'completed', 'the sound guest among them completes');
    peak = Math.max(peak, memOf(pid).hwm);
    console.log(`# memory pressure: ${images.length} jobs, worker VmHWM ${peak.toFixed(0)} MiB; ${lines.join(', ')}`);
    assert.ok(peak < BOUND_MB, `worker peak RSS ${peak.toFixed(0)} MiB`);
    assert.equal(d.proc.exitCode, null, 'the worker is still running');
  } finally {
    if (sampler) clearInterval(sampler);
    const r = await d.stop();
    rmSync(join(spool.root, 'images'), { recursive: true, force: true });
    assert.equal(r.code, 0, `worker exits 0; stderr: ${d.stderr.join('')}`);
  }
});
