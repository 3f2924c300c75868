import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockCache } from '../../src/disk/cache.js';
import { detectFile } from '../../src/disk/detect.js';
import { FORMATS } from '../../src/disk/formats.js';
import { openImage } from '../../src/disk/open.js';
import { GuestkitError, isGuestkitError } from '../../src/protocol/errors.js';
import { diskFixture, rng } from './helpers.js';

test('core: FORMATS holds qcow2 and raw, each name once', () => {
  const names = FORMATS.map((f) => f.name);
  assert.ok(names.includes('qcow2') && names.includes('raw'));
  assert.equal(new Set(names).size, names.length);
});

test('core: detection is by magic bytes, never by file name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gk-core-'));
  try {
    await symlink(diskFixture('v3.qcow2'), join(dir, 'disk.raw'));
    await symlink(diskFixture('ref.raw'), join(dir, 'disk.qcow2'));
    assert.equal(await detectFile(join(dir, 'disk.raw')), 'qcow2');
    assert.equal(await detectFile(join(dir, 'disk.qcow2')), 'raw');
    const dev = await openImage(join(dir, 'disk.qcow2'));
    assert.equal(dev.format, 'raw');
    await dev.close();
    // Tiny and empty files are raw too, not errors.
    await writeFile(join(dir, 'tiny'), Buffer.from('QF'));
    await writeFile(join(dir, 'empty'), Buffer.alloc(0));
    assert.equal(await detectFile(join(dir, 'tiny')), 'raw');
    assert.equal(await detectFile(join(dir, 'empty')), 'raw');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('core: raw device reads the file and info() reports raw', async () => {
  const dev = await openImage(diskFixture('ref.raw'), { format: 'img' });
  try {
    assert.equal(dev.format, 'raw');
    const want = (await readFile(diskFixture('ref.raw'))).subarray(3 * 1048576 + 12000, 3 * 1048576 + 12000 + 5000);
    assert.ok((await dev.read(3 * 1048576 + 12000, 5000)).equals(want));
    const info = dev.info();
    assert.equal(info.format, 'raw');
    assert.equal(info.virtual_size, 64 * 1048576);
    assert.ok(info.actual_size < info.virtual_size, 'reference is sparse');
  } finally {
    await dev.close();
  }
});

test('core: stated format that disagrees with the magic is UNSUPPORTED_FORMAT naming both', async () => {
  await assert.rejects(openImage(diskFixture('v3.qcow2'), { format: 'raw' }), (e: unknown) => {
    return isGuestkitError(e, 'UNSUPPORTED_FORMAT') && /stated format raw/.test(e.message) && /say qcow2/.test(e.message);
  });
  await assert.rejects(openImage(diskFixture('ref.raw'), { format: 'qcow2' }), (e: unknown) => {
    return isGuestkitError(e, 'UNSUPPORTED_FORMAT') && /stated format qcow2/.test(e.message) && /say raw/.test(e.message);
  });
});

test('core: missing image is IMAGE_NOT_FOUND', async () => {
  await assert.rejects(openImage('/nonexistent/disk.qcow2'), (e: unknown) => isGuestkitError(e, 'IMAGE_NOT_FOUND'));
});

test('core: backing chain depth limit', async () => {
  await assert.rejects(openImage(diskFixture('top.qcow2'), { maxChain: 1 }), (e: unknown) => {
    return isGuestkitError(e, 'UNSUPPORTED_FORMAT') && /deeper than 1/.test(e.message);
  });
  const dev = await openImage(diskFixture('top.qcow2'), { maxChain: 2 });
  await dev.close();
});

test('core: overlay backing format must match the backing file', async () => {
  // mid.qcow2 says its backing (base.qcow2) is qcow2; a copy where base is replaced by a raw file must fail.
  const dir = await mkdtemp(join(tmpdir(), 'gk-core-'));
  try {
    await copyFile(diskFixture('mid.qcow2'), join(dir, 'mid.qcow2'));
    await copyFile(diskFixture('ref.raw'), join(dir, 'base.qcow2'));
    await assert.rejects(openImage(join(dir, 'mid.qcow2')), (e: unknown) => {
      return isGuestkitError(e, 'UNSUPPORTED_FORMAT') && /base.qcow2: stated format qcow2/.test(e.message);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('core: BlockCache evicts least recently used by count and by bytes', () => {
  const c = new BlockCache<number, Buffer>({ maxEntries: 3, maxBytes: 100 });
  c.set(1, Buffer.alloc(10));
  c.set(2, Buffer.alloc(10));
  c.set(3, Buffer.alloc(10));
  c.get(1);
  c.set(4, Buffer.alloc(10)); // evicts 2, the least recently used
  assert.equal(c.get(2), undefined);
  assert.ok(c.get(1) && c.get(3) && c.get(4));
  c.set(5, Buffer.alloc(90)); // bytes: evicts until <= 100
  assert.ok(c.totalBytes <= 100);
  assert.ok(c.get(5));
  c.set(6, Buffer.alloc(500)); // larger than the budget: not cached
  assert.equal(c.get(6), undefined);
});

test('core: BlockCache.getOrLoad shares one load between concurrent callers and does not cache failures', async () => {
  const c = new BlockCache<string, Buffer>();
  let loads = 0;
  const load = async () => {
    loads++;
    await new Promise((r) => setTimeout(r, 5));
    return Buffer.from('x');
  };
  await Promise.all([c.getOrLoad('a', load), c.getOrLoad('a', load), c.getOrLoad('a', load)]);
  assert.equal(loads, 1);
  await assert.rejects(c.getOrLoad('b', async () => Promise.reject(new Error('boom'))));
  assert.equal(c.get('b'), undefined);
});

test('core: randomly damaged qcow2 metadata gives typed errors, never a crash or hang', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gk-fuzz-'));
  try {
    const rnd = rng(42);
    for (const src of ['v3.qcow2', 'zlib.qcow2', 'l2ext-top.qcow2']) {
      const orig = await readFile(diskFixture(src));
      // Metadata lives in the first clusters (header, refcounts, L1, L2 tables).
      const hot = Math.min(orig.length, 6 * 65536);
      for (let i = 0; i < 25; i++) {
        const b = Buffer.from(orig);
        const n = 1 + Math.floor(rnd() * 8);
        for (let k = 0; k < n; k++) b[Math.floor(rnd() * hot)] = Math.floor(rnd() * 256);
        const p = join(dir, `${src}.${i}`);
        await writeFile(p, b);
        try {
          const dev = await openImage(p, { backing: false });
          try {
            const r = rng(i);
            for (let j = 0; j < 40; j++) {
              const len = 1 + Math.floor(r() * 300000);
              await dev.read(Math.floor(r() * Math.max(1, dev.size - len)), Math.min(len, dev.size));
            }
          } finally {
            await dev.close();
          }
        } catch (err) {
          if (!(err instanceof GuestkitError)) assert.fail(`${src} variant ${i}: untyped error ${String((err as Error)?.stack ?? err)}`);
        }
        await rm(p);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
