import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import type { Application, OperatingSystem } from '../../src/inspect/types.js';
import { splitDebVersion } from '../../src/inspect/linux/packages/dpkg.js';
import { AdvisoryDb, cvss3BaseScore, imagesAffectedBy, importAdvisories, osvEcosystemOf, scanInspection } from '../../src/vulns/index.js';

const OSV = join(repoRoot(), 'test', 'fixtures', 'osv');
const tmp = mkdtempSync(join(tmpdir(), 'gk-osv-match-'));
const dbPath = join(tmp, 'advisories.db');
const NOW = new Date('2026-12-03T12:00:00Z');
before(async () => {
  const db = AdvisoryDb.open(dbPath, { create: true });
  await importAdvisories(db, OSV, { now: NOW });
  db.close();
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A dpkg package as the dpkg reader records it; `source` as `Source: name (version)` says. */
function deb(name: string, version: string, source?: string, sourceVersion?: string): Application {
  return { name, ...splitDebVersion(version), arch: 'amd64', source_package: source ?? name, source: { name: source ?? name, version: sourceVersion ?? version } };
}

function apk(name: string, v: string, origin: string): Application {
  const m = /^(.*)-(r\d+)$/.exec(v)!;
  return { name, epoch: 0, version: m[1]!, release: m[2]!, arch: 'x86_64', source_package: origin, source: { name: origin, version: v } };
}

function guest(id: string, versionId: string, format: string, applications: Application[]): OperatingSystem {
  const [major, minor] = versionId.split('.').map(Number);
  return {
    root: '/dev/sda1', type: 'linux', name: 'linux', distro: id === 'alpine' ? 'alpinelinux' : id, os_release: { id, version_id: versionId },
    major_version: major!, minor_version: minor ?? 0, osinfo: `${id}${versionId}`, package_format: format,
    mountpoints: { '/': '/dev/sda1' }, filesystems: ['/dev/sda1'], evidence: {}, warnings: [], applications,
  };
}

const scan = (os: OperatingSystem, extra: Partial<Parameters<typeof scanInspection>[1]> = {}) => scanInspection({ operating_systems: [os] }, { dbPath, now: NOW, ...extra });
const hits = (os: OperatingSystem) => scan(os).operating_systems[0]!.vulnerabilities.map((v) => `${v.advisory} ${v.package}`).sort();

test('Debian 12: fixed versions, epochs and ~ revisions decide hits and misses', () => {
  const os = guest('debian', '12', 'deb', [
    deb('openssh-server', '1:9.2p1-2+deb12u2', 'openssh'), // below DSA-5724-1's fix: hit
    deb('openssh-client', '1:9.2p1-2+deb12u3', 'openssh'), // at the fix: miss
    deb('libssl3', '3.0.11-1~deb12u1', 'openssl'), // ~deb12u1 < ~deb12u2: DSA-5532-1 and DEBIAN-CVE-2024-6119 hit
    deb('openssl', '3.0.11-1~deb12u2'), // at DSA-5532-1's fix, below 2024-6119's
    deb('zlib1g', '1:1.2.13.dfsg-1', 'zlib'), // epoch 1, past 1:1.2.11.dfsg-4.1: 2022-37434 misses; 2023-45853 has no fix: hit
    deb('libc6', '2.36-9+deb12u14', 'glibc'), // at 2026-4438's fix; unfixed 2010-4756 hits
    deb('sudo', '1.9.13p3-1+deb12u1'), // below 1.9.13p3-1+deb12u2
    deb('liblzma5', '5.4.1-0.2', 'xz-utils'), // 2024-3094 names Debian:13 only: ecosystem mismatch
  ]);
  assert.deepEqual(hits(os), [
    'DEBIAN-CVE-2010-4756 libc6',
    'DEBIAN-CVE-2023-45853 zlib1g',
    'DEBIAN-CVE-2024-6119 libssl3',
    'DEBIAN-CVE-2024-6119 openssl',
    'DEBIAN-CVE-2025-32462 sudo',
    'DSA-5532-1 libssl3',
    'DSA-5724-1 openssh-server',
  ]);
  const r = scan(os).operating_systems[0]!;
  const ssh = r.vulnerabilities.find((v) => v.advisory === 'DSA-5724-1')!;
  assert.deepEqual(
    { cves: ssh.cves, installed: ssh.installed_version, fixed: ssh.fixed_version, range: ssh.range, by: ssh.matched_by, src: ssh.source_package },
    { cves: ['CVE-2024-6387'], installed: '1:9.2p1-2+deb12u2', fixed: '1:9.2p1-2+deb12u3', range: '>= 0, < 1:9.2p1-2+deb12u3', by: 'source', src: 'openssh' },
  );
  assert.equal(r.coverage.state, 'ok');
  assert.equal(scan(os).status, 'complete');
});

test('source packages: binaries match their source advisory with the source version (binNMU, Source: x (version))', () => {
  const os = guest('debian', '12', 'deb', [
    // libdevmapper's own version 2:1.02.185-2 is not lvm2's; gcc-12's binaries carry its version
    deb('libgcc-s1', '12.2.0-14', 'gcc-12'), // below DEBIAN-CVE-2023-4039's 12.2.0-14+deb12u1
    deb('gcc-12-base', '12.2.0-14+deb12u1', 'gcc-12'),
    // a binNMU of procps 2:4.0.2-3: the advisory compares the source version
    deb('procps', '2:4.0.2-3+b1', 'procps', '2:4.0.2-3'),
  ]);
  const r = scan(os).operating_systems[0]!;
  const got = r.vulnerabilities.map((v) => `${v.advisory} ${v.package} ${v.matched_by} ${v.installed_version}`).sort();
  assert.deepEqual(got, [
    'DEBIAN-CVE-2022-27943 gcc-12-base source 12.2.0-14+deb12u1',
    'DEBIAN-CVE-2022-27943 libgcc-s1 source 12.2.0-14',
    'DEBIAN-CVE-2023-4016 procps source 2:4.0.2-3',
    'DEBIAN-CVE-2023-4039 libgcc-s1 source 12.2.0-14',
  ]);
  // DEBIAN-CVE-2023-4016 is fixed in Debian:13 only: the Debian 12 guest matches the Debian:12 entry (no fix)
  assert.equal(r.vulnerabilities.find((v) => v.advisory === 'DEBIAN-CVE-2023-4016')!.fixed_version, undefined);
  const trixie = guest('debian', '13', 'deb', [deb('procps', '2:4.0.4-2'), deb('libc6', '2.41-12', 'glibc')]);
  assert.deepEqual(hits(trixie), ['DEBIAN-CVE-2026-4438 libc6'], 'Debian:13 entries: procps fixed there, glibc not');
});

test('Alpine v3.19: apk order (_p, _git, -rN) and origin packages', () => {
  const os = guest('alpine', '3.19.1', 'apk', [
    apk('openssh-server', '9.6_p1-r0', 'openssh'),
    apk('musl', '1.2.4_git20230717-r4', 'musl'),
  ]);
  assert.equal(osvEcosystemOf(os)!.name, 'Alpine:v3.19');
  assert.deepEqual(hits(os), ['ALPINE-CVE-2024-6387 openssh-server', 'ALPINE-CVE-2025-26519 musl'], 'Terrapin is fixed in 9.6_p1-r0 itself');
  const fixed = guest('alpine', '3.19.1', 'apk', [apk('openssh-server', '9.6_p1-r1', 'openssh'), apk('musl', '1.2.4_git20230717-r5', 'musl')]);
  assert.deepEqual(hits(fixed), []);
  assert.equal(scan(fixed).status, 'complete', 'an empty list from a complete match');
});

function rpm(name: string, epoch: number, version: string, release: string): Application {
  return { name, epoch, version, release, arch: 'x86_64', source_package: name, source: { name, version: `${version}-${release}` } };
}

test('Rocky Linux 9: rpm order, epochs on both sides (Fleet once dropped them), binary package names', () => {
  const os = guest('rocky', '9.3', 'rpm', [
    rpm('openssh-server', 0, '8.7p1', '34.el9'), // below RLSA-2024:4312's 8.7p1-38.el9_4.1: hit
    rpm('openssh-clients', 0, '8.7p1', '38.el9_4.1'), // at the fix: miss
    rpm('dbus', 1, '1.12.20', '8.el9'), // epoch 1, past 1:1.12.20-7.el9_1: miss
    rpm('dbus-libs', 1, '1.12.20', '6.el9'), // epoch 1, below the fix: hit
    rpm('dbus-common', 0, '1.12.20', '8.el9'), // no epoch: below any epoch-1 fix, whatever the release: hit
  ]);
  assert.equal(osvEcosystemOf(os)!.name, 'Rocky Linux:9');
  const found = scan(os).operating_systems[0]!.vulnerabilities;
  assert.deepEqual(found.map((v) => [v.advisory, v.package, v.installed_version, v.fixed_version, v.matched_by]).sort(), [
    ['RLSA-2023:0335', 'dbus-common', '1.12.20-8.el9', '1:1.12.20-7.el9_1', 'binary'],
    ['RLSA-2023:0335', 'dbus-libs', '1:1.12.20-6.el9', '1:1.12.20-7.el9_1', 'binary'],
    ['RLSA-2024:4312', 'openssh-server', '8.7p1-34.el9', '8.7p1-38.el9_4.1', 'binary'],
  ]);
  const ssh = found.find((v) => v.package === 'openssh-server')!;
  assert.deepEqual([ssh.cves, ssh.severity, ssh.cvss_score], [['CVE-2024-6387'], 'high', 8.1], 'the CVE from related, the level from the CVSS vector');
  assert.deepEqual(found.find((v) => v.package === 'dbus-libs')!.cves, ['CVE-2022-42010', 'CVE-2022-42011', 'CVE-2022-42012']);
  // Rocky 8 is another ecosystem: no Rocky Linux:8 records were imported, so it is not called clean
  const rocky8 = scan(guest('rocky', '8.9', 'rpm', [rpm('openssh-server', 0, '8.0p1', '19.el8_9.2')])).operating_systems[0]!;
  assert.deepEqual([rocky8.coverage.state, rocky8.vulnerabilities.length], ['no_ecosystem_data', 0]);
});

test('severity: the distribution rating first, then the CVSS v3 base score; the threshold hides and counts', () => {
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), 10);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H'), 5.5);
  assert.equal(cvss3BaseScore('CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N'), 6.5);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:N/I:N/A:L'), 2.5);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L'), undefined);
  const os = guest('debian', '12', 'deb', [deb('zlib1g', '1:1.2.13.dfsg-1', 'zlib'), deb('apt', '2.6.1'), deb('coreutils', '9.1-1')]);
  const all = scan(os).operating_systems[0]!.vulnerabilities;
  const sev = Object.fromEntries(all.map((v) => [v.advisory, [v.severity, v.severity_source, v.cvss_score]]));
  assert.deepEqual(sev['DEBIAN-CVE-2023-45853'], ['critical', 'cvss_v3', 9.8], 'urgency "not yet assigned": the CVSS score decides');
  assert.deepEqual(sev['DEBIAN-CVE-2011-3374'], ['negligible', 'debian-urgency', 3.7], 'Debian says unimportant');
  assert.deepEqual(sev['DEBIAN-CVE-2016-2781'], ['low', 'debian-urgency', 6.5]);
  const high = scan(os, { minSeverity: 'high' }).operating_systems[0]!;
  assert.deepEqual(high.vulnerabilities.map((v) => v.advisory), ['DEBIAN-CVE-2023-45853']);
  assert.equal(high.below_threshold, 2);
});

test('coverage: a missing, stale or silent database is a warning and "incomplete", never an empty all-clear', async () => {
  const os = guest('debian', '12', 'deb', [deb('apt', '2.6.1')]);
  const missing = scanInspection({ operating_systems: [os] }, { dbPath: join(tmp, 'none.db'), now: NOW });
  assert.equal(missing.status, 'incomplete');
  assert.equal(missing.operating_systems[0]!.coverage.state, 'missing_db');
  assert.match(missing.warnings[0]!, /no advisory database at .*none\.db: run guestkit advisories import/);

  const stale = scan(os, { now: new Date(NOW.getTime() + 8 * 86400_000) });
  assert.equal(stale.status, 'incomplete');
  assert.deepEqual([stale.operating_systems[0]!.coverage.state, stale.operating_systems[0]!.coverage.age_days], ['stale', 8]);
  assert.ok(stale.operating_systems[0]!.vulnerabilities.length > 0, 'a stale database still lists what it knows');
  assert.equal(scan(os, { now: new Date(NOW.getTime() + 8 * 86400_000), maxAgeDays: 30 }).status, 'complete');

  const ubuntu = guest('ubuntu', '22.04', 'deb', [deb('openssl', '3.0.2-0ubuntu1')]);
  assert.deepEqual(osvEcosystemOf(ubuntu)!.exact, ['Ubuntu:22.04', 'Ubuntu:22.04:LTS']);
  const silent = scan(ubuntu).operating_systems[0]!;
  assert.equal(silent.coverage.state, 'no_ecosystem_data', 'the Ubuntu record in the database is for Ubuntu:Pro:14.04:LTS');
  assert.match(silent.coverage.message!, /holds nothing for Ubuntu:22\.04/);

  const arch = guest('archlinux', '', 'pacman', [{ name: 'bash', epoch: 0, version: '5.2', release: '1', arch: 'x86_64' }]);
  assert.equal(scan({ ...arch, major_version: 0 }).operating_systems[0]!.coverage.state, 'unsupported_os');
});

test('inventory: the images an advisory or CVE affects, with the job they come from', () => {
  const old = guest('debian', '12', 'deb', [deb('openssh-server', '1:9.2p1-2+deb12u2', 'openssh')]);
  const patched = guest('debian', '12', 'deb', [deb('openssh-server', '1:9.2p1-2+deb12u10', 'openssh')]);
  const alpine = guest('alpine', '3.19.1', 'apk', [apk('openssh-server', '9.6_p1-r0', 'openssh')]);
  const stored = [
    { image: '/img/old.qcow2', job_id: 'job-1', inspection: { operating_systems: [old] } },
    { image: '/img/patched.qcow2', job_id: 'job-2', inspection: { operating_systems: [patched] } },
    { image: '/img/alpine.qcow2', job_id: 'job-3', inspection: { operating_systems: [alpine] } },
  ];
  const inv = imagesAffectedBy('CVE-2024-6387', stored, { dbPath, now: NOW });
  assert.deepEqual(inv.advisories, ['ALPINE-CVE-2024-6387', 'DSA-5724-1', 'RLSA-2024:4312']);
  assert.deepEqual(inv.affected.map((a) => [a.image, a.job_id, a.findings.map((f) => f.advisory)]), [
    ['/img/old.qcow2', 'job-1', ['DSA-5724-1']],
    ['/img/alpine.qcow2', 'job-3', ['ALPINE-CVE-2024-6387']],
  ]);
  assert.deepEqual(inv.unchecked, []);
  assert.deepEqual(imagesAffectedBy('DSA-5724-1', stored, { dbPath, now: NOW }).affected.map((a) => a.job_id), ['job-1']);
});
