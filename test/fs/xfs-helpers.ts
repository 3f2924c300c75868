import { join } from 'node:path';
import { REPO } from '../helpers/fixtures.js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { BlockDevice } from '../../src/disk/types.js';

export const OUT = join(REPO, 'test', 'fixtures', 'out', 'fs-xfs-btrfs') + '/';

export function fixture(name: string): string {
  const p = OUT + name;
  if (!existsSync(p)) throw new Error(`fixture ${p} is missing: run test/fixtures/fs-xfs-btrfs/build.sh`);
  return p;
}

/** blkid -p's view of a filesystem image (the reference for label/UUID). */
export function blkid(path: string): Record<string, string> {
  const out = execFileSync('blkid', ['-p', '-o', 'export', path], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
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

export function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
