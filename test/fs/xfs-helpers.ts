import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, fixture as builtFixture } from '../helpers/fixtures.js';

export { PatchedDevice } from '../helpers/patched-device.js';

export const OUT = join(REPO, 'test', 'fixtures', 'out', 'fs-xfs-btrfs') + '/';

/** A file of test/fixtures/fs-xfs-btrfs/build.sh; a missing one fails the test. */
export function fixture(name: string): string {
  return builtFixture('fs-xfs-btrfs', name);
}

/** blkid -p's view of a filesystem image (the reference for label/UUID). */
export function blkid(path: string): Record<string, string> {
  const out = execFileSync('blkid', ['-p', '-o', 'export', path], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
}

export function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
