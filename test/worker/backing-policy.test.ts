import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { dropJob, job, makeSpool, readEvents, startDaemon, waitFor, waitForResult } from './helpers/daemon.js';

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
      // the overlay itself passed the job-level check: the refusal comes from opening its chain. The
      // thread's progress and its failure travel on different ports, so the event may land after the result.
      await waitFor(() => readEvents(spool, id).some((e) => e.phase === 'disk_attach'), 10_000, `${id} reached disk_attach`);
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

// The other formats that pull in files by name, built from the disk-format fixtures in a
// scratch allowed root: VMDK parents (parentFileNameHint) and extents, VHD and VHDX parents
// (parent locators). Each escape, relative or through a symlink, fails PATH_NOT_ALLOWED.
test('VMDK parents and extents, VHD and VHDX parents outside the allowed roots fail PATH_NOT_ALLOWED; the same files inside open', async () => {
  const fx = (f: string) => fixture('disk-formats', f);
  const root = mkdtempSync(join(tmpdir(), 'gk-backing-'));
  const allowed = join(root, 'allowed');
  const outside = join(root, 'x');
  mkdirSync(join(allowed, 'ctl'), { recursive: true });
  mkdirSync(outside);
  // VMDK parent through a symlink beside the child
  copyFileSync(fx('child.vmdk'), join(allowed, 'child-link.vmdk'));
  symlinkSync(fx('sparse.vmdk'), join(allowed, 'sparse.vmdk'));
  // VMDK parent by a relative name leading out (same length as the original hint)
  const child = readFileSync(fx('child.vmdk'));
  const hint = Buffer.from('parentFileNameHint="sparse.vmdk"');
  const at = child.indexOf(hint);
  assert.ok(at > 0, 'child.vmdk names sparse.vmdk');
  Buffer.from('parentFileNameHint="../x/s.vmdk"').copy(child, at);
  writeFileSync(join(allowed, 'child-rel.vmdk'), child);
  copyFileSync(fx('sparse.vmdk'), join(outside, 's.vmdk'));
  // VMDK extents: relative escape, absolute path, symlink beside the descriptor
  const descriptor = (extent: string) => `# Disk DescriptorFile\nversion=1\nCID=26b2cb5a\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 131072 FLAT "${extent}" 0\n`;
  writeFileSync(join(allowed, 'extent-rel.vmdk'), descriptor('../x/flat.bin'));
  writeFileSync(join(allowed, 'extent-abs.vmdk'), descriptor(join(outside, 'flat.bin')));
  writeFileSync(join(allowed, 'extent-link.vmdk'), descriptor('flat-link.bin'));
  copyFileSync(fx('flat-flat.vmdk'), join(outside, 'flat.bin'));
  symlinkSync(join(outside, 'flat.bin'), join(allowed, 'flat-link.bin'));
  // VHD and VHDX differencing children whose parent (by locator) is a symlink out
  copyFileSync(fx('diff.vhd'), join(allowed, 'diff.vhd'));
  symlinkSync(fx('dynamic.vhd'), join(allowed, 'dynamic.vhd'));
  copyFileSync(fx('diff.vhdx'), join(allowed, 'diff.vhdx'));
  symlinkSync(fx('dynamic.vhdx'), join(allowed, 'dynamic.vhdx'));
  // controls: the same chains with every file inside the root
  copyFileSync(fx('diff.vhd'), join(allowed, 'ctl', 'diff.vhd'));
  copyFileSync(fx('dynamic.vhd'), join(allowed, 'ctl', 'dynamic.vhd'));
  writeFileSync(join(allowed, 'ctl', 'extent-ok.vmdk'), descriptor('flat.bin'));
  copyFileSync(fx('flat-flat.vmdk'), join(allowed, 'ctl', 'flat.bin'));

  const cases: [id: string, file: string, format: string, message: RegExp][] = [
    ['vmdk-parent-link-01', 'child-link.vmdk', 'vmdk', /backing file .*disk-formats\/sparse\.vmdk lies outside the allowed roots/],
    ['vmdk-parent-rel-01', 'child-rel.vmdk', 'vmdk', /backing file .*\/x\/s\.vmdk lies outside the allowed roots/],
    ['vmdk-extent-rel-01', 'extent-rel.vmdk', 'vmdk', /extent file \.\.\/x\/flat\.bin lies outside the descriptor's directory/],
    ['vmdk-extent-abs-01', 'extent-abs.vmdk', 'vmdk', /extent file \/.*\/x\/flat\.bin lies outside the descriptor's directory/],
    ['vmdk-extent-link-01', 'extent-link.vmdk', 'vmdk', /extent file .*\/x\/flat\.bin lies outside the allowed roots/],
    ['vhd-parent-link-01', 'diff.vhd', 'vhd', /backing file .*disk-formats\/dynamic\.vhd lies outside the allowed roots/],
    ['vhdx-parent-link-01', 'diff.vhdx', 'vhdx', /backing file .*disk-formats\/dynamic\.vhdx lies outside the allowed roots/],
  ];
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-backing-fmt', '--allow-path', allowed]);
  try {
    await d.ready();
    const inspectJob = (id: string, file: string, format: string) => job(id, 'guestkit.inspect', { image: { path: join(allowed, file), format } });
    for (const [id, file, format] of cases) dropJob(spool, inspectJob(id, file, format));
    dropJob(spool, inspectJob('vhd-inside-01', 'ctl/diff.vhd', 'vhd'));
    dropJob(spool, inspectJob('vmdk-extent-inside-01', 'ctl/extent-ok.vmdk', 'vmdk'));
    for (const [id, , , message] of cases) {
      const r = await waitForResult(spool, id, 30_000);
      assert.equal(r.status, 'failed', id);
      assert.equal(r.error?.code, 'PATH_NOT_ALLOWED', `${id}: ${JSON.stringify(r.error)}`);
      assert.match(r.error!.message, message, id);
      assert.equal(r.error?.retry_recommended, false, id);
    }
    for (const id of ['vhd-inside-01', 'vmdk-extent-inside-01']) {
      const r = await waitForResult(spool, id, 30_000);
      assert.notEqual(r.error?.code, 'PATH_NOT_ALLOWED', `${id}: ${JSON.stringify(r.error)}`);
    }
  } finally {
    assert.equal((await d.stop()).code, 0);
  }
});
