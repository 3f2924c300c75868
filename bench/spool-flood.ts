// 100,000 job files dropped into one `guestkit worker`'s spool at once (issue 17, hostile inputs
// at scale): cheap `system.echo` jobs plus a few hostile entries (bad JSON, symlinks, FIFOs,
// hard links, names that are not UTF-8). Measured: the time until every file has an answer,
// jobs/s, worker CPU per job, the worker's RSS at each tenth of the run and its peak (VmHWM),
// and that nothing was lost (every job has exactly one result, jobs/ ends empty).
// Run: node --import tsx bench/spool-flood.ts [files=100000] [--batch=N] [--no-hostile] [--guestkit-root=DIR]
// --no-hostile drops only the echo jobs (an older worker, which skipped symlinks, FIFOs and
// names that are not UTF-8 without an answer, would never finish otherwise);
// --batch sets GUESTKIT_SPOOL_LIST_BATCH (entries listed per scan; default 4096);
// --guestkit-root runs the worker of another checkout (e.g. a `git archive` of an older commit).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const batch = args.find((a) => a.startsWith('--batch='))?.slice(8);
const withHostile = !args.includes('--no-hostile');
const gkRoot = args.find((a) => a.startsWith('--guestkit-root='))?.slice(16) ?? repo;
const root = join(repo, 'bench/out/spool-flood');
rmSync(root, { recursive: true, force: true });
const jobs = join(root, 'jobs');
const results = join(root, 'results');
const staging = join(root, 'staging');
for (const d of [jobs, results, staging]) mkdirSync(d, { recursive: true });

const doc = (id: string) =>
  JSON.stringify({
    version: '1.0',
    job_id: id,
    created_at: new Date().toISOString(),
    kind: 'VMOperation',
    operation: 'system.echo',
    execution: { timeout_seconds: 60 },
    payload: { type: 'system.echo.v1', data: { n: id } },
  });

const ids = Array.from({ length: N }, (_, i) => `flood-${String(i).padStart(7, '0')}`);
let t = performance.now();
for (const id of ids) writeFileSync(join(staging, `${id}.json`), doc(id));
// hostile entries: each must end as a refusal (a result and a file in failed/)
const secret = join(root, 'secret.txt');
writeFileSync(secret, 'secret');
const hostile: string[] = [];
for (let i = 0; i < (withHostile ? 10 : 0); i++) {
  writeFileSync(join(staging, `hostile-json-${i}.json`), '{"job_id": ');
  symlinkSync(secret, join(staging, `hostile-link-${i}.json`));
  execFileSync('mkfifo', [join(staging, `hostile-fifo-${i}.json`)]);
  linkSync(secret, join(staging, `hostile-hard-${i}.json`));
  writeFileSync(Buffer.from(`${staging}/hostile-name-${i}-\xff\n.json`, 'latin1'), doc(`never-${i}-run`));
  hostile.push(`hostile-json-${i}`, `hostile-link-${i}`, `hostile-fifo-${i}`, `hostile-hard-${i}`);
}
const writeSecs = (performance.now() - t) / 1000;

const entry = gkRoot === repo ? ['--import', 'tsx', join(repo, 'src/cli/run.ts')] : ['--import', 'tsx', join(gkRoot, 'src/cli/run.ts')];
const worker = spawn(
  process.execPath,
  [...(process.env.BENCH_WORKER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []), ...entry, 'worker', '--worker-id', 'bench-flood', '--jobs-dir', jobs, '--results-dir', results, '--data-dir', join(root, 'state'), '--log-level', 'warn'],
  { cwd: gkRoot, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...(batch ? { GUESTKIT_SPOOL_LIST_BATCH: batch } : {}) } },
);
const pid = worker.pid!;
let exited = false;
worker.on('exit', () => (exited = true));

function mem(): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}
function cpuSec(): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const count = () => readdirSync(results).filter((f) => f.endsWith('-result.json')).length;
const want = N + (withHostile ? 5 * 10 : 0); // the echo jobs and every hostile entry

try {
  // ready once its folders exist
  for (let i = 0; !existsSync(join(jobs, 'claimed', 'bench-flood')); i++) {
    if (exited || i > 600) throw new Error('worker did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const rss0 = mem();
  const cpu0 = cpuSec();
  t = performance.now();
  for (const n of readdirSync(staging, { encoding: 'buffer' }) as Buffer[]) {
    renameSync(Buffer.concat([Buffer.from(`${staging}/`), n]), Buffer.concat([Buffer.from(`${jobs}/`), n]));
  }
  const dropSecs = (performance.now() - t) / 1000;
  const samples: { done: number; rss: number }[] = [];
  let done = 0;
  const end = Date.now() + 30 * 60_000;
  while (done < want) {
    if (exited) throw new Error(`worker exited with ${done}/${want} answered`);
    if (Date.now() > end) throw new Error(`timed out with ${done}/${want} answered`);
    await new Promise((r) => setTimeout(r, 1000));
    done = count();
    samples.push({ done, rss: mem().rss });
  }
  const secs = (performance.now() - t) / 1000;
  const cpu = cpuSec() - cpu0;
  const peak = mem().hwm;
  let completed = 0;
  let failed = 0;
  let other = 0;
  for (const id of ids) {
    const s = (JSON.parse(readFileSync(join(results, `${id}-result.json`), 'utf8')) as { status: string }).status;
    if (s === 'completed') completed++;
    else if (s === 'failed') failed++;
    else other++;
  }
  const refused = hostile.filter((h) => existsSync(join(results, `${h}-result.json`))).length;
  const badNames = readdirSync(join(jobs, 'failed')).filter((n) => n.startsWith('hostile-name-')).length;
  const leftover = readdirSync(jobs).filter((n) => n.endsWith('.json')).length;
  const at = (frac: number) => samples.find((s) => s.done >= frac * want)?.rss ?? NaN;
  console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`worker: ${gkRoot === repo ? 'this checkout' : gkRoot} (tsx), list batch ${batch ?? 'default'}`);
  console.log(`files: ${N} echo jobs + ${withHostile ? 50 : 0} hostile entries, written in ${writeSecs.toFixed(1)} s, renamed into jobs/ in ${dropSecs.toFixed(1)} s`);
  console.log(`all answered in ${secs.toFixed(1)} s: ${(N / secs).toFixed(0)} jobs/s, worker CPU ${((cpu * 1000) / N).toFixed(3)} ms/job`);
  console.log(`echo results: ${completed} completed, ${failed} failed, ${other} other; hostile refused with a result: ${refused}/${hostile.length}, bad names quarantined: ${badNames}/${withHostile ? 10 : 0}; left in jobs/: ${leftover}`);
  console.log(`worker RSS MiB before the drop ${rss0.rss.toFixed(0)}; at 10%, 20%, … 100%: ${Array.from({ length: 10 }, (_, i) => at((i + 1) / 10).toFixed(0)).join(' ')}; peak (VmHWM) ${peak.toFixed(0)}`);
} finally {
  worker.kill('SIGTERM');
  await new Promise((r) => (exited ? r(undefined) : worker.once('exit', r)));
}
