// Cold `guestkit inspect --json` on the debootstrapped Debian fixture (2 GiB qcow2, ~150 packages):
// median wall time, peak RSS and bytes read over N fresh processes; the same through a 200 GiB
// overlay (flat in virtual size?); and virt-inspector on the same image when it is installed.
// The CLI runs inspect from its bundle through a code cache; the ES modules are timed beside it.
// Run: npm run build && node --import tsx bench/inspect.ts [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 7);
const image = join(repo, 'test/fixtures/out/inspect/debian.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
if (!existsSync(join(repo, 'dist/src/cli/main.js'))) throw new Error('run npm run build first');
const out = join(repo, 'bench/out');
mkdirSync(out, { recursive: true });
const big = join(out, 'debian-200g.qcow2');
rmSync(big, { force: true });
execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image, '-F', 'qcow2', big, '200G']);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One cold CLI run under /usr/bin/time: wall seconds, max RSS KiB, and the inspection's own stats. */
function once(img: string, env: Record<string, string> = {}): { wall: number; rssMb: number; bytes: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, join(repo, 'bin/guestkit.js'), 'inspect', '--json', img], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) throw new Error(`inspect failed: ${r.stderr}`);
  const [wall, rss] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
  const doc = JSON.parse(r.stdout) as { stats: { bytes_read: number } };
  return { wall, rssMb: rss / 1024, bytes: doc.stats.bytes_read };
}

function report(label: string, img: string, env: Record<string, string> = {}): void {
  once(img, env); // writes the per-user code cache when there is none yet
  const xs = Array.from({ length: runs }, () => once(img, env));
  console.log(
    `${label}: median wall ${median(xs.map((x) => x.wall)).toFixed(3)} s, median peak RSS ${median(xs.map((x) => x.rssMb)).toFixed(1)} MB, ` +
      `bytes read ${(median(xs.map((x) => x.bytes)) / 1024 / 1024).toFixed(2)} MiB (${runs} runs)`,
  );
}

if (!existsSync('/usr/bin/time')) throw new Error('needs /usr/bin/time (Debian package "time")');
const nodeOnly = Array.from({ length: runs }, () => {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, '-e', '0'], { encoding: 'utf8' });
  return r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
});
console.log(`node -e 0 (the floor): median wall ${median(nodeOnly.map((x) => x[0])).toFixed(3)} s, median peak RSS ${median(nodeOnly.map((x) => x[1] / 1024)).toFixed(1)} MB`);
report('guestkit inspect, 2 GiB qcow2', image);
// The same from the ES modules, without the bundle and its code cache (src/cli/launch.ts).
report('guestkit inspect, 2 GiB qcow2, ES modules (GUESTKIT_NO_BUNDLE=1)', image, { GUESTKIT_NO_BUNDLE: '1' });
report('guestkit inspect, 200 GiB overlay', big);

if (spawnSync('which', ['virt-inspector']).status === 0) {
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  const times: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < Math.min(runs, 3); i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'virt-inspector', '-a', image], { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
      console.log(`virt-inspector failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
      break;
    }
    const [w, m] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number];
    times.push(w);
    rss.push(m / 1024);
  }
  if (times.length) console.log(`virt-inspector (TCG): median wall ${median(times).toFixed(2)} s, median peak RSS ${median(rss).toFixed(0)} MB (${times.length} runs)`);
} else {
  console.log('virt-inspector not installed (apt-get install libguestfs-tools): comparison skipped');
}
