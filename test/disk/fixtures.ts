import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { BlockDevice } from '../../src/disk/types.js';

/** Repository root, whether the tests run from TypeScript (tsx) or from dist/. */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'package.json'))) return d;
    d = dirname(d);
  }
  throw new Error('repository root not found');
})();

export const DISK = join(ROOT, 'test/fixtures/out/disk');

/** Path of a built fixture; a missing one fails the test (run test/fixtures/build-all.sh). */
export function fx(name: string): string {
  const p = join(DISK, name);
  assert.ok(existsSync(p), `fixture ${p} is missing: run bash test/fixtures/build-all.sh`);
  return p;
}

export async function sha256Device(dev: BlockDevice, chunk = 1 << 20): Promise<string> {
  const h = createHash('sha256');
  for (let off = 0; off < dev.size; off += chunk) {
    h.update(await dev.read(off, Math.min(chunk, dev.size - off)));
  }
  return h.digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` reads at odd offsets and lengths (some crossing clusters, some at the end) compared with the raw reference. */
export async function compareRandomReads(dev: BlockDevice, refPath: string, count = 200, seed = 7): Promise<void> {
  const ref = await open(refPath, 'r');
  try {
    const st = await ref.stat();
    assert.equal(dev.size, st.size, 'virtual size');
    const rnd = rng(seed);
    for (let i = 0; i < count; i++) {
      const len = i % 10 === 0 ? Math.floor(rnd() * 3 * 1024 * 1024) + 1 : Math.floor(rnd() * 200000) + 1;
      let off = Math.floor(rnd() * (dev.size - len));
      if (i % 25 === 0) off = dev.size - len;
      const got = await dev.read(off, len);
      const want = Buffer.alloc(len);
      await ref.read(want, 0, len, off);
      if (!got.equals(want)) assert.fail(`read ${off}+${len} differs from the reference`);
    }
  } finally {
    await ref.close();
  }
}
