import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CompareReport } from '../../src/compare/index.js';
import { compareHandler } from '../../src/jobs/handlers/compare.js';
import type { HandlerContext } from '../../src/jobs/types.js';
import { fixture } from '../helpers/fixtures.js';

test('guestkit.compare handler: both images checked by the runner, compare_config and extra paths, recommendations, report written', async () => {
  const base = fixture('inspect', 'debian.qcow2');
  const target = fixture('compare', 'debian-modified.qcow2');
  const dest = join(mkdtempSync(join(tmpdir(), 'gk-cmp-')), 'report.yaml');
  const prepared = compareHandler().prepare({
    baseline: { path: base, format: 'qcow2', checksum: null },
    target: { path: target, format: 'qcow2' },
    options: { compare_packages: false, compare_config: true, paths: ['/usr/bin/sensible-editor'] },
    output: { format: 'yaml', destination: dest, include_recommendations: true },
  });
  assert.ok(prepared.ok);
  assert.deepEqual(prepared.job.images.map((i) => i.field), ['baseline.path', 'target.path']);
  assert.deepEqual(prepared.job.outputs, [{ field: 'output.destination', path: dest }]);
  const phases: string[] = [];
  const ctx: HandlerContext = { job: {} as never, attempt: 1, workerId: 'w', signal: new AbortController().signal, progress: (u) => phases.push(u.phase), resolvedImages: [base, target], allowedRoots: [] };
  const out = await prepared.job.run(ctx);
  const r = out.data as CompareReport;
  assert.equal(r.packages, undefined, 'compare_packages: false');
  assert.deepEqual(r.files!.roots, ['/etc', '/usr/bin/sensible-editor']);
  assert.ok(r.files!.modified.some((f) => f.path === '/etc/ssh/sshd_config'));
  assert.ok(!r.files!.modified.some((f) => f.path === '/usr/bin/sensible-editor'), 'dpkg reinstalled the same file');
  assert.ok(r.recommendations!.length > 0);
  assert.deepEqual(out.outputs, { primary: dest });
  assert.match(readFileSync(dest, 'utf8'), /^baseline:\n/);
  for (const p of ['disk_inspection', 'file_compare', 'result_generation']) assert.ok(phases.includes(p), p);
  const bad = compareHandler().prepare({ baseline: { path: base, format: 'qcow2' }, target: { path: target, format: 'qcow2' }, options: { compare_files: true, paths: ['../etc'] } });
  assert.ok(bad.ok);
  await assert.rejects(bad.job.run(ctx), /options\.paths/);
});
