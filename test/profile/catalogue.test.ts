import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCatalogue, catalogue } from '../../src/profile/catalogue.js';
import { CIS_MAP } from '../../src/profile/checks/cis-map.js';
import { LINUX_CHECKS } from '../../src/profile/checks/linux.js';
import { WINDOWS_CHECKS } from '../../src/profile/checks/windows.js';
import { MIGRATION_TARGETS as PROFILE_TARGETS } from '../../src/profile/migration/types.js';
import { validateCatalogue } from '../../src/profile/schema.js';
import { PROFILES, SEVERITIES as PROFILE_SEVERITIES } from '../../src/profile/types.js';
import { MIGRATION_TARGETS, PROFILE_KINDS, SEVERITIES } from '../../src/protocol/payloads/profile.js';
import { satisfies } from '../../src/profile/expect.js';
import { normalizeSysctlKey } from '../../src/profile/linux/sysctl.js';
import { sshdTokens, sshTime } from '../../src/profile/linux/sshd.js';
import { parseAuditRule, parsePamLine } from '../../src/profile/linux/configs.js';
import { samDomainPolicy } from '../../src/profile/windows/evaluate.js';

// The catalogue's build-time check: a profile run trusts the shipped entries and never loads the
// schema (zod), so every entry is validated here, and the run-time catalogue must be exactly what
// the schema's parse gives (its defaults filled in the same way).
test('the shipped catalogue validates against its schema, and the run-time catalogue is exactly the parsed one', () => {
  const parsed = validateCatalogue([...LINUX_CHECKS, ...WINDOWS_CHECKS]);
  const runtime = catalogue().map(({ cis: _cis, ...c }) => c);
  assert.equal(runtime.length, parsed.length);
  for (let i = 0; i < parsed.length; i++) assert.deepStrictEqual(runtime[i], parsed[i], parsed[i]!.id);
});

test('the profile module\'s lists are the guestkit.profile.v1 payload\'s (kept apart so that a run does not load the payload schemas)', () => {
  assert.deepEqual([...PROFILES], [...PROFILE_KINDS]);
  assert.deepEqual([...PROFILE_SEVERITIES], [...SEVERITIES]);
  assert.deepEqual([...PROFILE_TARGETS], [...MIGRATION_TARGETS]);
});

test('the shipped catalogue holds at least 150 Linux and 25 Windows checks', () => {
  const cat = catalogue();
  const linux = cat.filter((c) => !c.families.includes('windows'));
  const windows = cat.filter((c) => c.families.includes('windows'));
  assert.ok(linux.length >= 150, `${linux.length} Linux checks`);
  assert.ok(windows.length >= 25, `${windows.length} Windows checks`);
  for (const c of cat) {
    assert.match(c.id, /^(linux|windows)\.[a-z0-9_]+\.[a-z0-9_]+$/);
    assert.ok(c.rationale.length > 10 && c.remediation.length > 3, c.id);
  }
});

test('every ComplianceAsCode rule a check names is in the CIS map, and compliance checks carry CIS references', () => {
  const unmapped: string[] = [];
  for (const c of catalogue()) {
    for (const r of c.cac ?? []) if (!CIS_MAP[r]) unmapped.push(`${c.id}: ${r}`);
    if (c.profiles.includes('compliance')) assert.ok(c.cis.length > 0, `${c.id} is in the compliance profile without a CIS reference`);
  }
  // rules ComplianceAsCode has but maps to no CIS server recommendation of these four benchmarks (hardening-only checks)
  assert.deepEqual(unmapped, [
    'linux.kernel.dmesg_restrict: sysctl_kernel_dmesg_restrict',
    'linux.kernel.kptr_restrict: sysctl_kernel_kptr_restrict',
    'linux.kernel.protected_hardlinks: sysctl_fs_protected_hardlinks',
    'linux.kernel.protected_symlinks: sysctl_fs_protected_symlinks',
  ]);
  const perm = catalogue().find((c) => c.id === 'linux.ssh.permit_root_login')!;
  assert.deepEqual(
    perm.cis.map((x) => `${x.benchmark} ${x.id} L${x.level}`),
    ['debian12 5.1.20 L1', 'rhel9 5.1.20 L1', 'ubuntu2204 5.1.20 L1', 'ubuntu2404 5.1.20 L1'],
  );
});

test('a malformed entry is refused with its id and path', () => {
  const bad = { ...LINUX_CHECKS[0]!, id: 'linux.x.y', evaluator: { type: 'sysctl', key: 'a', expect: { eq: 1, bogus: true } } };
  assert.throws(() => validateCatalogue([bad]), /linux\.x\.y: evaluator\.expect/);
  assert.throws(() => validateCatalogue([{ ...LINUX_CHECKS[0]!, evaluator: { type: 'sysctl', key: 'a', expect: {}, extra: 1 } }]), /evaluator/);
  assert.throws(() => validateCatalogue([LINUX_CHECKS[0], LINUX_CHECKS[0]]), /defined twice/);
  assert.throws(() => buildCatalogue([LINUX_CHECKS[0]!, LINUX_CHECKS[0]!]), /defined twice/);
});

test('expectations compare exactly (numbers, lists, case)', () => {
  assert.equal(satisfies('No', { eq: 'no' }).ok, true);
  assert.equal(satisfies('nope', { eq: 'no' }).ok, false);
  assert.equal(satisfies('4', { min: 1, max: 4 }).ok, true);
  assert.equal(satisfies('04x', { max: 4 }).ok, false);
  assert.equal(satisfies('aes128-ctr,aes128-cbc', { excludes: ['aes128-cbc'] }).ok, false);
  assert.equal(satisfies('aes128-ctr,aes128-cbcx', { excludes: ['aes128-cbc'] }).ok, true, 'list items, not substrings');
  assert.equal(satisfies('10:30:60', { fields_max: [10, 30, 60] }).ok, true);
  assert.equal(satisfies('10:30:100', { fields_max: [10, 30, 60] }).ok, false);
});

test('small parsers: sshd tokens and times, sysctl keys, PAM lines, audit rules, SAM policy', () => {
  assert.deepEqual(sshdTokens('PermitRootLogin=yes # no'), ['PermitRootLogin', 'yes']);
  assert.deepEqual(sshdTokens('  Banner "/etc/issue net" '), ['Banner', '/etc/issue net']);
  assert.equal(sshTime('1m30s'), 90);
  assert.equal(sshTime('2x'), undefined);
  assert.equal(normalizeSysctlKey('net/ipv4/conf/eth0.10/rp_filter'), 'net.ipv4.conf.eth0/10.rp_filter');
  assert.equal(normalizeSysctlKey('net.ipv4.ip_forward'), 'net.ipv4.ip_forward');
  assert.deepEqual(parsePamLine('auth [success=2 default=ignore] pam_unix.so nullok'), { type: 'auth', control: '[success=2 default=ignore]', module: 'pam_unix.so', args: ['nullok'] });
  assert.deepEqual(parsePamLine('@include common-auth'), { include: 'common-auth' });
  assert.deepEqual(parsePamLine('password include system-auth'), { include: 'system-auth' });
  const r = parseAuditRule('-a always,exit -F arch=b64 -S chmod,fchmod -F auid>=1000 -k perm_mod', { file: 'f', line: 1 })!;
  assert.equal(r.list, 'exit');
  assert.equal(r.action, 'always');
  assert.deepEqual(r.syscalls, ['chmod', 'fchmod']);
  assert.deepEqual(r.fields.find((f) => f.name === 'auid'), { name: 'auid', op: '>=', value: '1000' });
  const f = Buffer.alloc(0x60);
  f.writeBigInt64LE(-42n * 86400n * 10_000_000n, 0x18);
  f.writeUInt32LE(1, 0x4c);
  f.writeUInt16LE(12, 0x50);
  f.writeUInt16LE(8, 0x52);
  f.writeUInt16LE(3, 0x54);
  assert.deepEqual(samDomainPolicy(f), { max_password_age_days: 42, min_password_age_days: 0, complexity: 1, min_password_length: 12, password_history: 8, lockout_threshold: 3 });
});
