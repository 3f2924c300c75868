import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inspectHandler } from '../../src/jobs/handlers/inspect.js';
import type { HandlerContext } from '../../src/jobs/types.js';
import { AdvisoryDb, importAdvisories, type VulnScan } from '../../src/vulns/index.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';

const OSV = join(repoRoot(), 'test', 'fixtures', 'osv');
const tmp = mkdtempSync(join(tmpdir(), 'gk-vulns-cli-'));
const db = join(tmp, 'data', 'advisories.db');
after(() => rmSync(tmp, { recursive: true, force: true }));
const debian = fixture('inspect-guests', 'networkd.qcow2');

before(async () => {
  const r = await runCli(['advisories', 'import', OSV, '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { inserted: number; malformed: number; ecosystems: string[] };
  assert.equal(s.malformed, 0);
  assert.ok(s.ecosystems.includes('Debian:12'));
});

test('guestkit vulns on the Debian 12 fixture: unfixed advisories hit through source packages, fixed ones miss', async () => {
  const r = await runCli(['vulns', debian, '--db', db, '--json'], undefined, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const scan = JSON.parse(r.stdout) as VulnScan;
  assert.equal(scan.status, 'complete');
  const os = scan.operating_systems[0]!;
  assert.equal(os.ecosystem, 'Debian:12');
  const found = new Set(os.vulnerabilities.map((v) => `${v.advisory} ${v.package}`));
  // expected hits: advisories without a Debian 12 fix, matched through the source package where names differ
  for (const hit of ['DEBIAN-CVE-2023-45853 zlib1g', 'DEBIAN-CVE-2010-4756 libc6', 'DEBIAN-CVE-2022-27943 libgcc-s1', 'DEBIAN-CVE-2023-4016 libproc2-0', 'DEBIAN-CVE-2007-5686 passwd', 'DEBIAN-CVE-2011-3374 apt']) {
    assert.ok(found.has(hit), `expected ${hit}`);
  }
  // expected misses: the guest has these fixes (openssh deb12u10 > deb12u3; glibc deb12u14 = the fix; gcc-12 = the fix; zlib's epoch)
  for (const adv of ['DSA-5724-1', 'DSA-5514-1', 'DSA-5611-1', 'DSA-5532-1', 'DEBIAN-CVE-2024-6119', 'DEBIAN-CVE-2026-4438', 'DEBIAN-CVE-2023-4039', 'DEBIAN-CVE-2022-37434', 'DEBIAN-CVE-2025-32462', 'DEBIAN-CVE-2024-3094', 'UBUNTU-CVE-2023-0464']) {
    assert.ok(![...found].some((f) => f.startsWith(`${adv} `)), `unexpected ${adv}`);
  }
  const zlib = os.vulnerabilities.find((v) => v.package === 'zlib1g')!;
  assert.deepEqual([zlib.severity, zlib.matched_by, zlib.source_package, zlib.installed_version, zlib.range, zlib.fixed_version], ['critical', 'source', 'zlib', '1:1.2.13.dfsg-1', '>= 0', undefined]);

  const text = await runCli(['vulns', debian, '--db', db, '--severity', 'high'], undefined, { timeoutMs: 120_000 });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /critical\s+zlib1g \(src:zlib\)\s+1:1\.2\.13\.dfsg-1\s+\(no fix\)\s+DEBIAN-CVE-2023-45853\s+CVE-2023-45853/);
  assert.match(text.stdout, /1 affected \(1 critical\) \(\d+ below high not shown\)/);
});

test('guestkit vulns on the Alpine 3.19 fixture: openssh-server through its origin, musl by its _git version', async () => {
  const r = await runCli(['vulns', fixture('inspect-guests', 'alpine.qcow2'), '--db', db, '--json'], undefined, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const os = (JSON.parse(r.stdout) as VulnScan).operating_systems[0]!;
  assert.equal(os.ecosystem, 'Alpine:v3.19');
  assert.deepEqual(os.vulnerabilities.map((v) => [v.advisory, v.package, v.installed_version, v.fixed_version]).sort(), [
    ['ALPINE-CVE-2024-6387', 'openssh-server', '9.6_p1-r0', '9.6_p1-r1'],
    ['ALPINE-CVE-2025-26519', 'musl', '1.2.4_git20230717-r4', '1.2.4_git20230717-r5'],
  ]);
});

test('guestkit vulns on the Rocky 9 fixture (rpm database written by rpm): openssh-server below the fix hits, dbus with epoch 1 past the fix misses', async () => {
  const r = await runCli(['vulns', fixture('inspect', 'rpm-guest.qcow2'), '--db', db, '--json'], undefined, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const scan = JSON.parse(r.stdout) as VulnScan;
  assert.equal(scan.status, 'complete');
  const os = scan.operating_systems[0]!;
  assert.equal(os.ecosystem, 'Rocky Linux:9');
  assert.deepEqual(os.vulnerabilities.map((v) => [v.advisory, v.package, v.installed_version, v.fixed_version, v.cves]), [
    ['RLSA-2024:4312', 'openssh-server', '8.7p1-34.el9', '8.7p1-38.el9_4.1', ['CVE-2024-6387']],
  ]);
});

test('a missing database, none for the guest, or a stale one: a warning and exit 3', async () => {
  const missing = await runCli(['vulns', debian, '--db', join(tmp, 'nothing.db')], undefined, { timeoutMs: 120_000 });
  assert.equal(missing.code, 3);
  assert.match(missing.stdout, /NOT CHECKED: no advisory database at .*nothing\.db/);
  assert.match(missing.stdout, /does not mean "no vulnerabilities"/);
  assert.match(missing.stderr, /guestkit: warning: vulnerability match incomplete \(exit 3\)/);

  const rocky = await runCli(['vulns', fixture('inspect-guests', 'rocky8-bls.qcow2'), '--db', db, '--json'], undefined, { timeoutMs: 120_000 });
  assert.equal(rocky.code, 3);
  const rs = JSON.parse(rocky.stdout) as VulnScan;
  assert.deepEqual([rs.status, rs.operating_systems[0]!.coverage.state, rs.operating_systems[0]!.ecosystem], ['incomplete', 'no_ecosystem_data', 'Rocky Linux:8']);

  const agedPath = join(tmp, 'aged.db');
  const aged = AdvisoryDb.open(agedPath, { create: true });
  await importAdvisories(aged, join(OSV, 'debian'), { now: new Date(Date.now() - 10 * 86400_000) });
  aged.close();
  const stale = await runCli(['vulns', debian, '--db', agedPath, '--json'], undefined, { timeoutMs: 120_000 });
  assert.equal(stale.code, 3);
  const ss = JSON.parse(stale.stdout) as VulnScan;
  assert.equal(ss.operating_systems[0]!.coverage.state, 'stale');
  assert.match(ss.warnings[0]!, /imported 10 days ago \(limit 7\)/);
  assert.ok(ss.operating_systems[0]!.vulnerabilities.length > 0);
  const lenient = await runCli(['vulns', debian, '--db', agedPath, '--max-age-days', '30', '--json'], undefined, { timeoutMs: 120_000 });
  assert.equal(lenient.code, 0, lenient.stderr);
});

test('advisories status and usage errors', async () => {
  const st = await runCli(['advisories', 'status', '--db', db, '--json']);
  assert.equal(st.code, 0, st.stderr);
  const doc = JSON.parse(st.stdout) as { advisories: number; ecosystems: { ecosystem: string; advisories: number }[] };
  assert.equal(doc.ecosystems.find((e) => e.ecosystem === 'Debian:12')!.advisories, 18);
  const none = await runCli(['advisories', 'status', '--db', join(tmp, 'absent.db')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^guestkit: NOT_FOUND: no advisory database at .*absent\.db: import advisories first/);
  const typo = await runCli(['advisories', 'import', join(tmp, 'no-such-dir'), '--db', join(tmp, 'typo', 'a.db')]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /^guestkit: NOT_FOUND: .*no-such-dir: no such file or directory/);
  assert.equal(existsSync(join(tmp, 'typo')), false, 'no empty database left behind');
  const bad = await runCli(['vulns', debian, '--db', db, '--max-age-days', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-age-days must be a whole number/);
});

test('guestkit.inspect with options.include_vulnerabilities adds the match to the result', async () => {
  const prepared = inspectHandler().prepare({ image: { path: debian, format: 'qcow2' }, options: { include_vulnerabilities: true, include_services: false } });
  assert.ok(prepared.ok);
  const ctx: HandlerContext = { job: {} as never, attempt: 1, workerId: 'w', signal: new AbortController().signal, progress: () => {}, resolvedImages: [debian], allowedRoots: [] };
  const saved = process.env.GUESTKIT_ADVISORY_DB;
  process.env.GUESTKIT_ADVISORY_DB = db;
  try {
    const out = await prepared.job.run(ctx);
    const v = (out.data as { vulnerabilities: VulnScan }).vulnerabilities;
    assert.equal(v.status, 'complete');
    assert.ok(v.operating_systems[0]!.vulnerabilities.some((f) => f.advisory === 'DEBIAN-CVE-2023-45853'));
  } finally {
    if (saved === undefined) delete process.env.GUESTKIT_ADVISORY_DB;
    else process.env.GUESTKIT_ADVISORY_DB = saved;
  }
  const plain = inspectHandler().prepare({ image: { path: debian, format: 'qcow2' } });
  assert.ok(plain.ok);
  assert.equal('vulnerabilities' in ((await plain.job.run(ctx)).data as object), false, 'not asked: not matched');
});
