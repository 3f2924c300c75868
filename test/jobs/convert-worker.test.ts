import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { dropJob, job, makeSpool, startDaemon, waitForResult } from '../worker/helpers/daemon.js';

function qemuCompare(a: string, b: string): void {
  const r = spawnSync('qemu-img', ['compare', a, b], { encoding: 'utf8' });
  assert.equal(r.status, 0, `qemu-img compare ${a} ${b}:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /Images are identical/);
}

interface Ev {
  phase: string;
  progress_percent?: number;
  details?: { bytes_done?: number; bytes_total?: number };
}
const events = (root: string, id: string): Ev[] =>
  readFileSync(join(root, 'results', `${id}-events.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Ev);

test('guestkit.convert through the worker: qemu-img compare finds the output identical; sparse kept; verified; progress by bytes; roots and formats enforced', async () => {
  const spool = makeSpool('gk-convert-');
  const imgs = join(spool.root, 'images');
  const out = join(spool.root, 'out');
  mkdirSync(imgs);
  mkdirSync(out);
  // a sparse 2 GiB qcow2 with scattered data, written by qemu-io
  const sparse = join(imgs, 'sparse.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', sparse, '2G']);
  const writes: string[] = [];
  for (let i = 0; i < 40; i++) writes.push('-c', `write -P ${i + 1} ${i * 50 * 1024 * 1024 + 65536 * (i % 3)} ${65536 * (1 + (i % 4))}`);
  execFileSync('qemu-io', ['-f', 'qcow2', ...writes, sparse], { stdio: 'ignore' });
  // a backing chain from the disk fixtures (top -> mid -> base)
  const chain = fixture('disk', 'top.qcow2');
  const d = startDaemon(spool, ['--worker-id', 'w-convert', '--allow-path', imgs, '--allow-path', dirname(chain), '--allow-path', out]);
  try {
    await d.ready();
    dropJob(spool, job('convert-raw-0001', 'guestkit.convert', {
      source: { path: sparse, format: 'qcow2' },
      target: { path: join(out, 'sparse.raw'), format: 'raw' },
      options: { verify_after_convert: true, preserve_sparse: true },
    }, { execution: { timeout_seconds: 900 } }));
    dropJob(spool, job('convert-qcow-0001', 'guestkit.convert', {
      source: { path: chain, format: 'auto' },
      target: { path: join(out, 'flat.qcow2'), format: 'qcow2', compression: true, compression_type: 'zlib' },
      options: { verify_after_convert: true },
    }, { execution: { timeout_seconds: 900 } }));
    const raw = await waitForResult(spool, 'convert-raw-0001', 900_000);
    assert.equal(raw.status, 'completed', JSON.stringify(raw.error));
    qemuCompare(sparse, join(out, 'sparse.raw'));
    const st = statSync(join(out, 'sparse.raw'));
    assert.equal(st.size, 2 * 2 ** 30);
    assert.ok(st.blocks * 512 < 64 * 2 ** 20, `raw output allocates ${st.blocks * 512} bytes of 2 GiB`);
    const data = raw.data as { virtual_size: number; data_bytes: number; sparse: boolean; verification: { identical: boolean; bytes_compared: number } };
    assert.equal(data.virtual_size, 2 * 2 ** 30);
    assert.equal(data.verification.identical, true);
    assert.ok(data.verification.bytes_compared > 0);
    assert.deepEqual(raw.outputs, { primary: join(out, 'sparse.raw') });
    const ev = events(spool.root, 'convert-raw-0001').filter((e) => e.phase === 'convert');
    assert.ok(ev.length >= 2, 'progress events while converting');
    assert.equal(ev.at(-1)!.progress_percent, 100);
    assert.deepEqual(ev.at(-1)!.details, { bytes_done: 2 * 2 ** 30, bytes_total: 2 * 2 ** 30 });
    assert.ok(ev.every((e, i) => i === 0 || e.details!.bytes_done! > ev[i - 1]!.details!.bytes_done!), 'bytes increase');
    assert.ok(events(spool.root, 'convert-raw-0001').some((e) => e.phase === 'verification'));

    const q = await waitForResult(spool, 'convert-qcow-0001', 900_000);
    assert.equal(q.status, 'completed', JSON.stringify(q.error));
    qemuCompare(chain, join(out, 'flat.qcow2'));
    qemuCompare(fixture('disk', 'ref3.raw'), join(out, 'flat.qcow2'));
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', join(out, 'flat.qcow2')], { encoding: 'utf8' })) as Record<string, unknown>;
    assert.equal(info['backing-filename'], undefined, 'the chain is flattened');
    assert.equal(spawnSync('qemu-img', ['check', join(out, 'flat.qcow2')]).status, 0);

    // vmdk (monolithicSparse and, compressed, streamOptimized), vhd, vdi, vhdx: each verified, identical for qemu-img
    const more: [string, string, Record<string, unknown>, string][] = [
      ['convert-vmdk-0002', 'out.vmdk', { format: 'vmdk' }, 'monolithicSparse'],
      ['convert-vmdk-0003', 'stream.vmdk', { format: 'vmdk', compression: true }, 'streamOptimized'],
      ['convert-vhd-00001', 'out.vhd', { format: 'vhd' }, 'vpc'],
      ['convert-vdi-00001', 'out.vdi', { format: 'vdi' }, 'vdi'],
      ['convert-vhdx-0001', 'out.vhdx', { format: 'vhdx' }, 'vhdx'],
    ];
    for (const [id, name, target] of more) {
      dropJob(spool, job(id, 'guestkit.convert', { source: { path: sparse, format: 'qcow2' }, target: { path: join(out, name), ...target }, options: { verify_after_convert: true } }, { execution: { timeout_seconds: 900 } }));
    }
    for (const [id, name, target, kind] of more) {
      const r = await waitForResult(spool, id, 900_000);
      assert.equal(r.status, 'completed', `${id}: ${JSON.stringify(r.error)}`);
      assert.equal((r.data as { verification: { identical: boolean } }).verification.identical, true);
      qemuCompare(sparse, join(out, name));
      const qi = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', join(out, name)], { encoding: 'utf8' })) as { format: string; 'virtual-size': number; 'format-specific'?: { data?: { 'create-type'?: string } } };
      if (target.format === 'vmdk') assert.equal(qi['format-specific']?.data?.['create-type'], kind);
      else assert.equal(qi.format, kind);
      assert.ok(qi['virtual-size'] >= 2 * 2 ** 30);
      assert.ok(statSync(join(out, name)).blocks * 512 < 64 * 2 ** 20, `${name} stays sparse`);
    }

    // an output outside the allowed roots, compression a format does not offer, the source as its own target
    dropJob(spool, job('convert-outside-01', 'guestkit.convert', { source: { path: sparse, format: 'qcow2' }, target: { path: '/var/tmp/gk-out.raw', format: 'raw' } }));
    dropJob(spool, job('convert-vmdk-0001', 'guestkit.convert', { source: { path: sparse, format: 'qcow2' }, target: { path: join(out, 'x.vhdx'), format: 'vhdx', compression: true } }));
    dropJob(spool, job('convert-self-0001', 'guestkit.convert', { source: { path: sparse, format: 'qcow2' }, target: { path: sparse, format: 'raw' } }));
    assert.equal((await waitForResult(spool, 'convert-outside-01', 60_000)).error?.code, 'PATH_NOT_ALLOWED');
    assert.equal((await waitForResult(spool, 'convert-vmdk-0001', 60_000)).error?.code, 'VALIDATION_ERROR');
    const self = await waitForResult(spool, 'convert-self-0001', 60_000);
    assert.equal(self.error?.code, 'VALIDATION_ERROR');
    qemuCompare(sparse, join(out, 'sparse.raw')); // the source is untouched
  } finally {
    await d.stop();
  }
});
