import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { checkDeviceRead } from '../../src/disk/raw.js';
import type { BlockDevice } from '../../src/disk/types.js';
import { FsError } from '../../src/fs/errors.js';
import type { FileSystem } from '../../src/fs/types.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestkitError, isGuestkitError, type ErrorCode } from '../../src/protocol/errors.js';

export const OUT = join(REPO, 'test', 'fixtures', 'out', 'fs-ext') + '/';

export function fixture(name: string): string {
  const p = OUT + name;
  if (!existsSync(p)) throw new Error(`fixture ${p} is missing: run test/fixtures/fs-ext/build.sh`);
  return p;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
}

/** blkid -p's view of a filesystem image (the reference for type, label and UUID). */
export function blkid(path: string): Record<string, string> {
  const out = run('blkid', ['-p', '-o', 'export', path]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1).replace(/\\(.)/g, '$1')];
      }),
  );
}

/** `dumpe2fs -h` as key → value ("Free blocks" → "1234"). */
export function dumpe2fs(path: string): Record<string, string> {
  const out = run('dumpe2fs', ['-h', path]);
  const m: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return m;
}

/** Runs one debugfs request (read-only) against an image. */
export function debugfs(path: string, request: string): string {
  return run('debugfs', ['-R', request, path]);
}

/** Byte offset of a file's on-disk inode, as debugfs's imap reports it. */
export function inodeOffset(path: string, guestPath: string, blockSize: number): number {
  const out = debugfs(path, `imap ${guestPath}`);
  const m = /located at block (\d+), offset (0x[0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`debugfs imap ${guestPath}: unexpected output ${out}`);
  return Number(m[1]) * blockSize + Number(m[2]);
}

/** Physical blocks of a file or directory (debugfs blocks). */
export function fileBlocks(path: string, guestPath: string): number[] {
  return debugfs(path, `blocks ${guestPath}`).trim().split(/\s+/).map(Number);
}

/** A device whose reads see `patches` (byte offset → bytes) over a real image: corrupted variants without copies. */
export class PatchedDevice implements BlockDevice {
  readonly size: number;
  readonly name: string;
  constructor(
    private readonly inner: BlockDevice,
    private readonly patches: [number, Buffer][],
  ) {
    this.size = inner.size;
    this.name = `${inner.name} (patched)`;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    const b = Buffer.from(await this.inner.read(offset, length));
    for (const [at, bytes] of this.patches) {
      const from = Math.max(at, offset);
      const to = Math.min(at + bytes.length, offset + length);
      if (from < to) bytes.copy(b, from - offset, from - at, to - at);
    }
    return b;
  }
  async close(): Promise<void> {}
}

export function le(bytes: number, v: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUIntLE(v, 0, bytes);
  return b;
}

/** Asserts `p` rejects with a GuestkitError of `code` whose message matches `re`. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGuestkitError(err, code), `expected ${code}, got ${String(err)}`);
    assert.match((err as Error).message, re);
    return true;
  });
}

/** An image held in memory (for fuzzing: flip bytes, reopen, walk). */
export class MemDevice implements BlockDevice {
  readonly size: number;
  constructor(
    readonly buf: Buffer,
    readonly name = 'memory',
  ) {
    this.size = buf.length;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    return Buffer.from(this.buf.subarray(offset, offset + length));
  }
  async close(): Promise<void> {}
}

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be replayed. */
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

/** Rethrows anything that is not a typed error (GuestkitError or a Node-shaped FsError). */
export function expectTyped(err: unknown, context: string): void {
  if (err instanceof GuestkitError || err instanceof FsError) return;
  throw new Error(`${context}: untyped error ${(err as Error)?.stack ?? String(err)}`);
}

/**
 * Walks a (possibly corrupt) filesystem reading everything, bounded in entries
 * and depth; every failure must be typed. Returns how many entries were visited.
 */
export async function walkEverything(fs: FileSystem, context: string, maxEntries = 3000): Promise<number> {
  const vfs = new Vfs(fs);
  let visited = 0;
  const walk = async (p: string, depth: number): Promise<void> => {
    if (depth > 48) return;
    let entries;
    try {
      entries = await vfs.readdir(p);
    } catch (err) {
      expectTyped(err, `${context} readdir ${p}`);
      return;
    }
    for (const e of entries) {
      if (++visited > maxEntries) return;
      const cp = p === '/' ? `/${e.name}` : `${p}/${e.name}`;
      try {
        const st = await vfs.lstat(cp);
        if (st.isDirectory()) await walk(cp, depth + 1);
        else if (st.isSymbolicLink()) {
          await vfs.readlink(cp);
          await vfs.stat(cp).catch((err) => expectTyped(err, `${context} stat ${cp}`));
        } else if (st.isFile()) {
          await vfs.readRange(cp, 0, 64 * 1024);
          if (st.size > 64 * 1024) await vfs.readRange(cp, st.size - 4096, 4096);
        }
      } catch (err) {
        expectTyped(err, `${context} ${cp}`);
      }
    }
  };
  await walk('/', 0);
  return visited;
}

/**
 * Seeded byte-flip fuzzing: for each seed, damage 1–8 bytes inside `regions` of `base`,
 * open and walk the result; anything but a typed error fails. Returns how many opened.
 */
export async function fuzzRegions(
  base: Buffer,
  regions: [number, number][],
  seeds: number,
  open: (dev: BlockDevice) => Promise<FileSystem>,
  label = 'fuzz',
  maxEntries?: number,
): Promise<number> {
  const buf = Buffer.from(base);
  let opened = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const r = rng(seed);
    const flips: [number, number][] = [];
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) {
      const [start, len] = regions[Math.floor(r() * regions.length)]!;
      const at = start + Math.floor(r() * len);
      flips.push([at, buf[at]!]);
      buf[at] = r() < 0.3 ? 0 : r() < 0.5 ? 0xff : Math.floor(r() * 256);
    }
    try {
      const fs = await open(new MemDevice(buf, `${label}-${seed}`));
      opened++;
      await walkEverything(fs, `seed ${seed}`, maxEntries);
    } catch (err) {
      expectTyped(err, `seed ${seed}`);
    }
    for (const [at, v] of flips.reverse()) buf[at] = v;
  }
  return opened;
}
