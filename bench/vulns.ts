// Advisory import of 100,000 OSV records and a vulns match of one guest against them (issue 15:
// the match under 1 s). The records are synthetic but schema-valid, in osv.dev's Debian/Alpine
// shape, spread over real package names: the Debian fixture's binary and source names and this
// host's dpkg status, across Debian:11/12/13 and Alpine:v3.19. Imports are timed from an osv.dev-style
// all.zip and from a directory of files, each into a fresh database; the match is timed in
// process over the fixture's inspection (done once) and as a cold `guestkit vulns` CLI (tsx).
// Wall and CPU (user+sys of this process) medians: on a loaded machine CPU time is the steadier figure.
// Run: node --import tsx bench/vulns.ts [records=100000] [runs=3] [image] [--reuse] (--reuse: keep
// bench/out/vulns/records and all.zip from an earlier run with the same record count; --match-only: also
// skip the imports and match against bench/out/vulns/import-0.db of an earlier run)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { inspect } from '../src/inspect/index.js';
import { AdvisoryDb, importAdvisories, scanInspection } from '../src/vulns/index.js';

const repo = join(import.meta.dirname, '..');
const records = Number(process.argv.slice(2).filter((a) => !a.startsWith('--'))[0] ?? 100_000);
const runs = Number(process.argv.slice(2).filter((a) => !a.startsWith('--'))[1] ?? 3);
const matchOnly = process.argv.includes('--match-only');
const reuse = matchOnly || process.argv.includes('--reuse');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const image = args[2] ?? join(repo, 'test/fixtures/out/inspect-guests/networkd.qcow2');
if (!existsSync(image)) throw new Error(`missing ${image}: run bash test/fixtures/build-all.sh`);
const out = join(repo, 'bench/out/vulns');
const reused = reuse && existsSync(join(out, 'all.zip')) && readdirSync(join(out, 'records')).length === records;
if (!reused) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'records'), { recursive: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms  (${xs.map((x) => x.toFixed(0)).join(' ')})`;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

// real names: the guest's packages (so the match has work to do) and the host's
const inspection = await inspect({ disks: [image], options: { include_services: false, include_users: false, include_network: false, include_security: false, include_storage: false } });
const apps = inspection.operating_systems[0]!.applications ?? [];
const names = new Set<string>();
for (const a of apps) names.add(a.source?.name ?? a.name);
if (existsSync('/var/lib/dpkg/status')) for (const m of readFileSync('/var/lib/dpkg/status', 'latin1').matchAll(/^Package: (\S+)$/gm)) names.add(m[1]!);
const nameList = [...names].sort();

// deterministic pseudo-random numbers (a run is repeatable)
let seed = 42;
const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
const ECOSYSTEMS = ['Debian:11', 'Debian:12', 'Debian:13', 'Alpine:v3.19'];
const VECTORS = ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N', 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H'];
const URGENCY = ['not yet assigned', 'unimportant', 'low', 'medium', 'high'];

function record(i: number): object {
  const eco = ECOSYSTEMS[rnd(ECOSYSTEMS.length)]!;
  const name = nameList[rnd(nameList.length)]!;
  const cve = `CVE-${2005 + rnd(21)}-${10000 + i}`;
  const apk = eco.startsWith('Alpine');
  const fixed = rnd(10) < 3 ? undefined : apk ? `${rnd(5)}.${rnd(40)}.${rnd(20)}-r${rnd(8)}` : `${rnd(3) ? '' : '1:'}${rnd(5)}.${rnd(40)}.${rnd(20)}-${rnd(9)}+deb${eco.slice(7)}u${rnd(20)}`;
  const id = apk ? `ALPINE-${cve}` : `DEBIAN-${cve}`;
  const pkg = apk ? { ecosystem: eco, name, purl: `pkg:apk/alpine/${name}?arch=source` } : { ecosystem: eco, name, purl: `pkg:deb/debian/${name}?arch=source` };
  return {
    id,
    modified: '2026-11-30T12:00:00.000000Z',
    published: '2025-01-01T00:00:00Z',
    upstream: [cve],
    details: `synthetic advisory ${i} for ${name}`,
    severity: [{ type: 'CVSS_V3', score: VECTORS[rnd(VECTORS.length)]! }],
    references: [{ type: 'ADVISORY', url: `https://security-tracker.debian.org/tracker/${cve}` }],
    affected: [{ package: pkg, ranges: [{ type: 'ECOSYSTEM', events: fixed ? [{ introduced: '0' }, { fixed }] : [{ introduced: '0' }] }], ecosystem_specific: apk ? undefined : { urgency: URGENCY[rnd(URGENCY.length)] } }],
  };
}

let t = performance.now();
if (!reused) {
  for (let i = 0; i < records; i++) {
    const r = record(i) as { id: string };
    writeFileSync(join(out, 'records', `${r.id}.json`), JSON.stringify(r));
  }
  execFileSync('zip', ['-q', '-r', '-j', join(out, 'all.zip'), join(out, 'records')], { maxBuffer: 1 << 26 });
}
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${reused ? 'reused' : 'generated'} ${records} records over ${nameList.length} package names${reused ? '' : ` in ${((performance.now() - t) / 1000).toFixed(1)} s`} (setup, not timed)`);

async function timedImport(source: string, k: number, wall: number[], cpu: number[]): Promise<void> {
  const path = join(out, `import-${k}.db`);
  rmSync(path, { force: true });
  const db = AdvisoryDb.open(path, { create: true });
  t = performance.now();
  const c = process.cpuUsage();
  const s = await importAdvisories(db, source);
  wall.push(performance.now() - t);
  cpu.push(cpuMs(c));
  db.close();
  if (s.inserted !== records || s.malformed) throw new Error(`import: ${JSON.stringify({ ...s, malformed_entries: s.malformed_entries.slice(0, 3) })}`);
}
const zip = { wall: [] as number[], cpu: [] as number[] };
const dir = { wall: [] as number[], cpu: [] as number[] };
for (let k = 0; k < (matchOnly ? 0 : runs); k++) {
  await timedImport(join(out, 'all.zip'), k, zip.wall, zip.cpu);
  await timedImport(join(out, 'records'), k, dir.wall, dir.cpu);
}
if (!matchOnly) {
  console.log(`import ${records} records from all.zip       wall ${fmt(zip.wall)}; CPU ${fmt(zip.cpu)}`);
  console.log(`import ${records} records from a directory   wall ${fmt(dir.wall)}; CPU ${fmt(dir.cpu)}`);
}

const dbPath = join(out, 'import-0.db');
const matchMs: number[] = [];
const matchCpu: number[] = [];
let found = 0;
for (let k = 0; k < 15; k++) {
  t = performance.now();
  const c = process.cpuUsage();
  const scan = scanInspection(inspection, { dbPath });
  matchMs.push(performance.now() - t);
  matchCpu.push(cpuMs(c));
  found = scan.operating_systems[0]!.vulnerabilities.length;
}
console.log(`match one guest (${apps.length} packages, in process, inspection done) wall ${fmt(matchMs)}; CPU ${fmt(matchCpu)}; ${found} findings`);

// the cold CLI next to an inspect that reads the same (packages only), alternating: the difference is the match
function cli(args: string[]): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src/cli/run.ts'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`guestkit ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return performance.now() - start;
}
const cliMs: number[] = [];
const inspectMs: number[] = [];
for (let k = 0; k < runs + 2; k++) {
  cliMs.push(cli(['vulns', image, '--db', dbPath, '--json']));
  inspectMs.push(cli(['inspect', image, '--json', '--no-services', '--no-users', '--no-network', '--no-security', '--no-storage']));
}
console.log(`guestkit vulns IMAGE --json, cold CLI via tsx      ${fmt(cliMs)}`);
console.log(`guestkit inspect IMAGE --json (packages only), same  ${fmt(inspectMs)}`);
console.log(`target: a vulns run for one guest < 1 s — match ${median(matchMs) < 1000 ? '✓' : '✗'}`);
