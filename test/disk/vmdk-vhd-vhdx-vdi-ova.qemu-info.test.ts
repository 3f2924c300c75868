import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openImage } from '../../src/disk/open.js';
import { fsd, formatFixture } from './helpers.js';

/** Our info against `qemu-img info --output=json` for every fixture qemu opens itself. */
const NAMES = [
  'sparse.vmdk', 'stream.vmdk', 'stream-footer.vmdk', 'flat.vmdk', 'child.vmdk',
  'split-sparse/disk.vmdk', 'split-flat/disk.vmdk',
  'fixed.vhd', 'dynamic.vhd', 'chs.vhd',
  'dynamic.vhdx', 'small-block.vhdx', 'fixed.vhdx',
  'static.vdi', 'dynamic.vdi',
];
const QEMU_FORMAT: Record<string, string> = { vpc: 'vhd' };

for (const name of NAMES) {
  test(`qemu-img info agrees on ${name}: format, virtual size, actual size, cluster size, VMDK facts`, async () => {
    // stated, since qemu probes a fixed VHD (footer only at the end) as raw
    const qf = { vmdk: 'vmdk', vhd: 'vpc', vhdx: 'vhdx', vdi: 'vdi' }[name.replace(/.*\./, '')]!;
    const q = JSON.parse(execFileSync('qemu-img', ['info', '-f', qf, '--output=json', formatFixture(name)], { encoding: 'utf8' })) as Record<string, unknown>;
    const dev = await openImage(formatFixture(name), { backing: false });
    try {
      const info = dev.info();
      assert.equal(info.format, QEMU_FORMAT[q['format'] as string] ?? q['format']);
      assert.equal(info.virtual_size, q['virtual-size']);
      assert.equal(info.actual_size, q['actual-size']);
      assert.equal(info.cluster_size, q['cluster-size']);
      if (q['backing-filename'] !== undefined) assert.equal(info.backing_filename, q['backing-filename']);
      if (info.format === 'vmdk') {
        const qd = (q['format-specific'] as { data: Record<string, unknown> }).data;
        const d = fsd(info);
        assert.equal(d['create_type'], qd['create-type']);
        assert.equal(d['cid'], qd['cid']);
        assert.equal(d['parent_cid'], qd['parent-cid']);
        assert.equal((d['extents'] as unknown[]).length, (qd['extents'] as unknown[]).length);
      }
    } finally {
      await dev.close();
    }
  });
}
