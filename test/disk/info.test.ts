import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { imageInfo } from '../../src/disk/info.js';
import { openImage } from '../../src/disk/open.js';
import { parseSha256, sha256File as checksumFile, verifySha256 } from '../../src/disk/checksum.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { runCli } from '../helpers/cli.js';
import { DISK_OUT, diskFixture, sha256File } from './helpers.js';

interface QemuInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'cluster-size'?: number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific'?: { type: string; data: Record<string, unknown> };
}

function qemuInfo(path: string): QemuInfo[] {
  return JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '--backing-chain', path], { encoding: 'utf8' })) as QemuInfo[];
}

const IMAGES = ['v2.qcow2', 'v3.qcow2', 'zstd.qcow2', 'l2ext.qcow2', 'c512.qcow2', 'top.qcow2', 'l2ext-top.qcow2', 'extdata.qcow2', 'ref.raw'];

for (const name of IMAGES) {
  test(`info: ${name} agrees with qemu-img info on format, sizes, backing chain and qcow2 facts`, async () => {
    const q = qemuInfo(diskFixture(name));
    const dev = await openImage(diskFixture(name));
    let info;
    try {
      info = imageInfo(dev);
    } finally {
      await dev.close();
    }
    const chain = info.backing_chain ?? [info];
    assert.equal(chain.length, q.length, 'chain length');
    chain.forEach((ours, i) => {
      const theirs = q[i]!;
      assert.equal(basename(ours.filename), basename(theirs.filename));
      assert.equal(ours.format, theirs.format);
      assert.equal(ours.virtual_size, theirs['virtual-size']);
      assert.equal(ours.cluster_size, theirs['cluster-size']);
      assert.equal(ours.backing_filename, theirs['backing-filename']);
      assert.equal(ours.backing_format, theirs['backing-filename-format']);
      const qd = theirs['format-specific']?.data;
      if (ours.format === 'qcow2' && qd) {
        const od = (ours.format_specific as { data: Record<string, unknown> }).data;
        for (const k of ['compat', 'compression-type', 'lazy-refcounts', 'refcount-bits', 'corrupt', 'extended-l2', 'data-file']) {
          if (k in qd) assert.deepEqual(od[k.replace(/-/g, '_')], qd[k], k);
        }
      }
    });
  });
}

test('info: CLI image info --json prints the same facts; text form names the chain', async () => {
  const r = await runCli(['image', 'info', '--json', diskFixture('top.qcow2')]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { format: string; virtual_size: number; backing_chain: { filename: string }[] };
  assert.equal(j.format, 'qcow2');
  assert.equal(j.virtual_size, 64 * 1048576);
  assert.deepEqual(j.backing_chain.map((c) => basename(c.filename)), ['top.qcow2', 'mid.qcow2', 'base.qcow2']);
  const t = await runCli(['image', 'info', diskFixture('top.qcow2')]);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /file format: qcow2/);
  assert.match(t.stdout, /backing file: mid.qcow2/);
});

test('info: CLI errors are typed: stated format mismatch, encrypted, missing', async () => {
  const a = await runCli(['image', 'info', '-f', 'raw', diskFixture('v3.qcow2')]);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /^guestkit: UNSUPPORTED_FORMAT: .*stated format raw.*qcow2/);
  const b = await runCli(['image', 'info', '--json', diskFixture('luks.qcow2')]);
  assert.equal(b.code, 1);
  assert.equal((JSON.parse(b.stdout) as { error: { code: string } }).error.code, 'ENCRYPTED');
  const c = await runCli(['image', 'info', join(DISK_OUT, 'no-such.qcow2')]);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /IMAGE_NOT_FOUND/);
  const d = await runCli(['image', 'info', '-f', 'floppy', diskFixture('v3.qcow2')]);
  assert.equal(d.code, 2);
});

test('info: CLI image convert and checksum', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gk-info-'));
  try {
    const dst = join(dir, 'out.qcow2');
    const r = await runCli(['image', 'convert', diskFixture('top.qcow2'), dst, '-O', 'qcow2', '-c']);
    assert.equal(r.code, 0, r.stderr);
    execFileSync('qemu-img', ['check', dst]);
    execFileSync('qemu-img', ['compare', dst, diskFixture('ref3.raw')]);
    const bad = await runCli(['image', 'convert', diskFixture('top.qcow2'), join(dir, 'x'), '-O', 'raw', '-c']);
    assert.equal(bad.code, 2);
    const s = await runCli(['image', 'checksum', diskFixture('ref.raw')]);
    assert.equal(s.code, 0);
    assert.equal(s.stdout.split(/\s+/)[0], `sha256:${await sha256File(diskFixture('ref.raw'))}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('checksum: sha256:<hex> of the file; mismatches are IMAGE_CHECKSUM_MISMATCH, malformed sums VALIDATION_ERROR, missing files IMAGE_NOT_FOUND', async () => {
  const path = diskFixture('v3.qcow2');
  const sum = await checksumFile(path);
  const hex = await sha256File(path);
  assert.equal(sum, `sha256:${hex}`);
  // sha256:<hex> or bare hex, digits in any case; the bytes read come back
  const { size } = await stat(path);
  for (const form of [sum, `sha256:${hex.toUpperCase()}`, hex, ` ${hex.toUpperCase()}\n`]) {
    assert.equal(await verifySha256(path, form, 'payload.data.image.checksum'), size, form);
  }
  assert.equal(parseSha256(`sha256:${hex.toUpperCase()}`, 'f'), hex);
  const zeros = '0'.repeat(64);
  await assert.rejects(verifySha256(path, `sha256:${zeros}`, 'payload.data.image.checksum'), (e: unknown) => {
    assert.ok(isGuestkitError(e, 'IMAGE_CHECKSUM_MISMATCH'));
    assert.equal(e.message, `payload.data.image.checksum: sha256 of ${path} is ${hex}, the job says ${zeros}`);
    assert.deepEqual(e.details, { field: 'payload.data.image.checksum', path, expected: `sha256:${zeros}`, actual: sum });
    assert.equal(e.phase, 'validation');
    return true;
  });
  for (const bad of ['md5:abc', 'sha256:abc123...', `sha1:${zeros}`, `sha256:${zeros}0`, '']) {
    assert.throws(() => parseSha256(bad, 'image.checksum'), (e: unknown) => isGuestkitError(e, 'VALIDATION_ERROR') && (e.details as { field: string; checksum: string }).checksum === bad);
    // refused before the file is even opened
    await assert.rejects(verifySha256(join(DISK_OUT, 'nope'), bad, 'image.checksum'), (e: unknown) => isGuestkitError(e, 'VALIDATION_ERROR'));
  }
  await assert.rejects(checksumFile(join(DISK_OUT, 'nope')), (e: unknown) => isGuestkitError(e, 'IMAGE_NOT_FOUND'));
  await assert.rejects(verifySha256(join(DISK_OUT, 'nope'), sum, 'image.checksum'), (e: unknown) => {
    return isGuestkitError(e, 'IMAGE_NOT_FOUND') && (e.details as { field: string }).field === 'image.checksum';
  });
});

test('checksum: an aborted signal stops hashing with its reason', async () => {
  const path = diskFixture('v3.qcow2');
  const ac = new AbortController();
  const reason = new Error('attempt timed out');
  ac.abort(reason);
  await assert.rejects(verifySha256(path, `sha256:${'0'.repeat(64)}`, 'image.checksum', ac.signal), (e: unknown) => e === reason);
  // aborted part-way: after the first read
  const mid = new AbortController();
  let reads = 0;
  await assert.rejects(
    checksumFile(diskFixture('ref.raw'), () => {
      reads++;
      mid.abort(reason);
    }, mid.signal),
    (e: unknown) => e === reason,
  );
  assert.equal(reads, 1);
});
