// `cat /etc/os-release` from a fresh open of the 2 GiB Debian qcow2: in process (open, find the
// root, assemble fstab mounts, read the file) and as a cold CLI process. Medians over N runs.
// Run: npm run build && node --import tsx bench/guest-cat.ts [runs]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { newReadStats } from '../src/disk/types.js';
import { GuestSession } from '../src/inspect/session.js';

const repo = join(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 9);
const image = join(repo, 'test/fixtures/out/inspect/debian.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ms: number[] = [];
const bytes: number[] = [];
const reads: number[] = [];
for (let i = 0; i < runs; i++) {
  const stats = newReadStats();
  const t = performance.now();
  const s = await GuestSession.open([image], { stats });
  const text = (await (await s.osView()).readFile('/etc/os-release')).toString();
  await s.close();
  ms.push(performance.now() - t);
  bytes.push(stats.bytesRead);
  reads.push(stats.reads);
  if (!text.includes('Debian')) throw new Error('unexpected os-release');
}
console.log(`in process: median ${median(ms).toFixed(1)} ms, ${(median(bytes) / 1024).toFixed(0)} KiB in ${median(reads)} reads (${runs} fresh opens)`);

if (existsSync(join(repo, 'dist/src/cli/main.js'))) {
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(repo, 'bin/guestkit.js'), 'cat', image, '/etc/os-release'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    wall.push(performance.now() - t);
  }
  console.log(`cold CLI \`guestkit cat\`: median ${median(wall).toFixed(0)} ms`);
}
