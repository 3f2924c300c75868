import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import assert from 'node:assert/strict';
import { isGuestkitError, type ErrorCode } from '../../src/protocol/errors.js';
import { FileSource } from '../../src/disk/file-source.js';
import type { ImageDevice, ImageFormat, ImageFormatName, OpenContext, OpenOptions } from '../../src/disk/image.js';
import { newReadStats } from '../../src/disk/types.js';
import type { BlockDevice } from '../../src/disk/types.js';
import { vhdFormat } from '../../src/disk/vhd/image.js';
import { vdiFormat } from '../../src/disk/vdi/image.js';
import { vmdkFormat } from '../../src/disk/vmdk/image.js';
import { vhdxFormat } from '../../src/disk/vhdx/image.js';
import { ovaFormat } from '../../src/disk/ova/image.js';
import { REPO, fixture } from '../helpers/fixtures.js';
import { rng } from '../helpers/rng.js';

export { rng };

/** Where test/fixtures/disk/build.sh writes (raw and qcow2 images). */
export const DISK_OUT = join(REPO, 'test', 'fixtures', 'out', 'disk');

/** A raw/qcow2 fixture of test/fixtures/disk/build.sh; a missing one fails the test. */
export function diskFixture(name: string): string {
  return fixture('disk', name);
}

/** A VMDK/VHD/VHDX/VDI/OVA fixture of test/fixtures/disk-formats/build.sh; a missing one fails the test. */
export function formatFixture(name: string): string {
  return fixture('disk-formats', name);
}

/** An absolute path as is, else the disk-formats fixture of that name. */
function ref(nameOrPath: string): string {
  return isAbsolute(nameOrPath) ? nameOrPath : formatFixture(nameOrPath);
}

/** The `data` of an info's format_specific (`{ type, data }`). */
export function fsd(info: { format_specific?: Record<string, unknown> }): Record<string, unknown> {
  const fs = info.format_specific as { data?: Record<string, unknown> } | undefined;
  assert.ok(fs?.data, 'format_specific has data');
  return fs.data;
}

/** The formats of this part, tried by probe; the core registry replaces this once wired. */
export function myFormats(): ImageFormat[] {
  return [vmdkFormat, vhdFormat, vhdxFormat, vdiFormat, ovaFormat];
}

/** A minimal OpenContext: backing files opened by probing this part's formats. */
export function makeCtx(options: OpenOptions = {}): OpenContext {
  const ctx: OpenContext = {
    stats: newReadStats(),
    chain: [],
    options,
    async openBacking(path: string, format?: ImageFormatName): Promise<ImageDevice> {
      if (ctx.chain.includes(path)) throw new Error(`backing loop at ${path}`);
      ctx.chain.push(path);
      const src = await FileSource.open(path, ctx.stats);
      const head = await src.read(0, Math.min(65536, src.size));
      const tail = await src.read(Math.max(0, src.size - 512), Math.min(512, src.size));
      await src.close();
      const f = myFormats().find((x) => (format ? x.name === format : x.probe(head, tail, src.size)));
      if (!f) throw new Error(`no format for ${path}`);
      return f.open(path, ctx);
    },
  };
  return ctx;
}

/** Opens a disk-formats fixture (or an absolute path) with one format. */
export async function openWith(format: ImageFormat, name: string, options: OpenOptions = {}): Promise<ImageDevice> {
  return format.open(ref(name), makeCtx(options));
}

const CHUNK = 4 << 20;

/**
 * The whole device equals the raw reference (a disk-formats name or a path): byte-compared chunk by
 * chunk, sha256 of the reference-sized prefix checked against `shaFile` when given, anything past
 * the reference zero.
 */
export async function assertWholeDisk(dev: BlockDevice, refName: string, shaFile?: string, refBytes?: number): Promise<void> {
  const refFile = await open(ref(refName), 'r');
  try {
    const refSize = Math.min((await refFile.stat()).size, refBytes ?? Infinity);
    assert.ok(dev.size >= refSize, `device size ${dev.size} < reference ${refSize}`);
    const h = createHash('sha256');
    const want = Buffer.alloc(CHUNK);
    for (let off = 0; off < dev.size; off += CHUNK) {
      const n = Math.min(CHUNK, dev.size - off);
      const got = await dev.read(off, n);
      assert.equal(got.length, n);
      const inRef = Math.max(0, Math.min(n, refSize - off));
      if (inRef > 0) {
        const { bytesRead } = await refFile.read(want, 0, inRef, off);
        assert.equal(bytesRead, inRef);
        if (!got.subarray(0, inRef).equals(want.subarray(0, inRef))) {
          let i = 0;
          while (got[i] === want[i]) i++;
          assert.fail(`${dev.name}: first difference at guest byte ${off + i}`);
        }
        if (shaFile) h.update(got.subarray(0, inRef));
      }
      if (inRef < n) assert.ok(isZero(got.subarray(inRef)), `${dev.name}: bytes past the reference at ${off + inRef} are not zero`);
    }
    if (shaFile) assert.equal(h.digest('hex'), (await readFile(ref(shaFile), 'utf8')).trim(), 'sha256 of the virtual disk');
  } finally {
    await refFile.close();
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += 65536) {
    const s = b.subarray(i, Math.min(b.length, i + 65536));
    if (!s.equals(Buffer.alloc(s.length))) return false;
  }
  return true;
}

/**
 * `count` reads at odd offsets and lengths (some crossing cluster and block boundaries, some
 * ending at the reference's end) compared with the raw reference (a disk-formats name or a path).
 */
export async function assertRandomReads(dev: BlockDevice, refName: string, count = 200, seed = 7): Promise<void> {
  const refFile = await open(ref(refName), 'r');
  try {
    const refSize = (await refFile.stat()).size;
    assert.ok(dev.size >= refSize, `${dev.name}: size ${dev.size} < reference ${refSize}`);
    const rnd = rng(seed);
    for (let i = 0; i < count; i++) {
      const len = Math.min(refSize, 1 + Math.floor(rnd() * (i % 4 === 0 ? 3 << 20 : 200000)));
      const off = i % 25 === 0 ? refSize - len : Math.floor(rnd() * (refSize - len));
      const got = await dev.read(off, len);
      const want = Buffer.alloc(len);
      await refFile.read(want, 0, len, off);
      if (!got.equals(want)) assert.fail(`${dev.name}: read ${off}+${len} differs from the reference`);
    }
  } finally {
    await refFile.close();
  }
}

/** sha256 of a whole device, read in `chunk`-sized pieces. */
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

/** Runs `fn` and asserts it rejects with a GuestkitError of `code` (message matching `re` when given). */
export async function assertCode(fn: () => Promise<unknown>, code: ErrorCode, re?: RegExp): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(isGuestkitError(err), `expected GuestkitError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `code (message: ${err.message})`);
    if (re) assert.match(err.message, re);
    return true;
  });
}

/** Copies a fixture (and nothing else) into a fresh temp dir for patching; returns its path and a cleanup. */
export async function scratchCopy(name: string): Promise<{ path: string; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'gk-disk-'));
  const path = join(dir, name.replace(/.*\//, ''));
  await copyFile(ref(name), path);
  return { path, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Overwrites bytes of a file in place. */
export async function patch(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

export async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(length);
    await fh.read(b, 0, length, offset);
    return b;
  } finally {
    await fh.close();
  }
}

export async function truncateTo(path: string, size: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}
