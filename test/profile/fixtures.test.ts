/**
 * The bad/good fixture pairs (test/fixtures/profile/build.sh): every check fires on the bad guest
 * and not on the good one, with the few exceptions listed (each with the status it must have and
 * why); and the Linux evaluators agree with Debian's own tools run over the same trees.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runProfile } from '../../src/profile/run.js';
import { profileHandler } from '../../src/jobs/handlers/profile.js';
import { GuestSession } from '../../src/inspect/session.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { LinuxGuest } from '../../src/profile/linux/guest.js';
import { sshdEffective } from '../../src/profile/linux/sshd.js';
import { sysctlValue } from '../../src/profile/linux/sysctl.js';
import { unitState } from '../../src/profile/linux/systemd.js';
import { catalogue } from '../../src/profile/catalogue.js';
import { REPO } from '../helpers/fixtures.js';
import type { CheckResult, ProfileReport } from '../../src/profile/types.js';

const root = REPO;
const out = join(root, 'test', 'fixtures', 'out', 'profile');
const img = (n: string) => join(out, n);
const ALL = ['security', 'compliance', 'hardening', 'performance'] as const;

for (const f of ['linux-bad.qcow2', 'linux-good.qcow2', 'win-bad.qcow2', 'win-good.qcow2']) {
  if (!existsSync(img(f))) throw new Error(`fixture ${f} missing: run bash test/fixtures/profile/build.sh`);
}

const reports: Record<string, ProfileReport> = {};
before(async () => {
  for (const n of ['linux-bad', 'linux-good', 'win-bad', 'win-good']) reports[n] = await runProfile({ disks: [img(`${n}.qcow2`)], profiles: [...ALL] });
});

const byId = (r: ProfileReport) => new Map<string, CheckResult>(r.guests[0]!.results.map((x) => [x.id, x]));

/** Linux modules the fixture's kernel does not ship: the check passes on both guests, from modules.dep. */
function notShipped(tree: string): Set<string> {
  const ver = execFileSync('ls', [join(tree, 'lib/modules')], { encoding: 'utf8' }).trim().split('\n')[0]!;
  const dep = readFileSync(join(tree, 'lib/modules', ver, 'modules.dep'), 'utf8');
  const mods = new Set(dep.split('\n').map((l) => /([^/]+)\.ko(\.\w+)?:/.exec(l)?.[1]?.replace(/-/g, '_')).filter((x): x is string => !!x));
  const out = new Set<string>();
  for (const m of ['cramfs', 'freevxfs', 'hfs', 'hfsplus', 'jffs2', 'udf', 'usb_storage', 'overlay', 'squashfs', 'dccp', 'tipc', 'rds', 'sctp']) if (!mods.has(m)) out.add(`linux.modules.${m}_disabled`);
  return out;
}

/** Checks that cannot fire on the bad Linux guest, with the status they must have there. */
const LINUX_EXEMPT: Record<string, ['pass' | 'not_applicable', string]> = {
  'linux.mounts.tmp_separate': ['pass', 'the bad guest mounts /tmp as tmpfs (without the options)'],
  'linux.mounts.dev_shm_separate': ['pass', 'likewise /dev/shm'],
  'linux.mounts.var_tmp_separate': ['pass', 'likewise /var/tmp'],
  ...Object.fromEntries(
    ['home_nodev', 'home_nosuid', 'var_nodev', 'var_nosuid', 'var_log_nodev', 'var_log_nosuid', 'var_log_noexec', 'var_log_audit_nodev', 'var_log_audit_nosuid', 'var_log_audit_noexec'].map((k) => [
      `linux.mounts.${k}`,
      ['not_applicable', 'one root filesystem: the option checks of mounts it does not have do not apply (their _separate checks fail)'] as ['not_applicable', string],
    ]),
  ),
  ...Object.fromEntries(
    ['max_log_file', 'max_log_file_action', 'disk_full_action', 'disk_error_action', 'space_left_action', 'admin_space_left_action'].map((k) => [
      `linux.audit.auditd_${k}`,
      ['not_applicable', 'auditd is not installed on the bad guest (audit.installed fails): auditd.conf settings do not apply'] as ['not_applicable', string],
    ]),
  ),
  'linux.sudo.installed': ['pass', 'sudo stays installed so the sudoers checks can fire'],
  'linux.services.nis_server_not_enabled': ['pass', 'ypserv’s postinst needs a terminal; the NIS client is installed instead'],
};

test('Linux pair: each check fires on the bad guest and not on the good one', () => {
  const bad = byId(reports['linux-bad']!);
  const good = byId(reports['linux-good']!);
  const shipped = notShipped(join(out, 'linux-bad-root'));
  const linux = catalogue().filter((c) => !c.families.includes('windows'));
  assert.equal(bad.size, linux.length, 'every Linux check is judged on a Debian guest');
  const wrong: string[] = [];
  for (const c of linux) {
    const b = bad.get(c.id)!;
    const g = good.get(c.id)!;
    if (g.status === 'fail' || g.status === 'error') wrong.push(`good ${c.id}: ${g.status} ${g.message}`);
    const ex = shipped.has(c.id) ? (['pass', 'not shipped'] as const) : LINUX_EXEMPT[c.id];
    if (ex) {
      if (b.status !== ex[0]) wrong.push(`bad ${c.id}: ${b.status} (expected ${ex[0]}: ${ex[1]})`);
    } else if (b.status !== 'fail') wrong.push(`bad ${c.id}: ${b.status} ${b.message}`);
  }
  assert.deepEqual(wrong, []);
});

test('Windows pair: each check fires on the bad guest and not on the good one', () => {
  const bad = byId(reports['win-bad']!);
  const good = byId(reports['win-good']!);
  const win = catalogue().filter((c) => c.families.includes('windows'));
  assert.equal(bad.size, win.length);
  const wrong: string[] = [];
  for (const c of win) {
    if (good.get(c.id)!.status !== 'pass') wrong.push(`good ${c.id}: ${good.get(c.id)!.status} ${good.get(c.id)!.message}`);
    if (bad.get(c.id)!.status !== 'fail') wrong.push(`bad ${c.id}: ${bad.get(c.id)!.status} ${bad.get(c.id)!.message}`);
  }
  assert.deepEqual(wrong, []);
});

test('findings carry their evidence: file, line, value read, expected value', () => {
  const bad = byId(reports['linux-bad']!);
  const root = bad.get('linux.ssh.permit_root_login')!;
  assert.deepEqual(root.evidence, [{ file: '/etc/ssh/sshd_config.d/50-legacy.conf', line: 2, value: 'permitrootlogin yes', expected: 'PermitRootLogin no' }]);
  const fwd = bad.get('linux.network.ipv4_ip_forward')!;
  assert.deepEqual(fwd.evidence, [{ file: '/etc/sysctl.d/60-router.conf', line: 1, value: 'net.ipv4.ip_forward = 1', expected: 'net.ipv4.ip_forward = 0' }]);
  // the vendor file of the same name is hidden by /etc's
  const links = bad.get('linux.kernel.protected_hardlinks')!;
  assert.equal(links.evidence[0]!.file, '/etc/sysctl.d/99-protect-links.conf');
  const empty = bad.get('linux.accounts.no_empty_password')!;
  assert.ok(empty.evidence.some((e) => e.file === '/etc/shadow' && /^carol: empty password$/.test(e.value!) && typeof e.line === 'number'));
  const ww = bad.get('linux.files.etc_world_writable')!;
  assert.ok(ww.evidence.some((e) => e.file === '/etc/app.conf' && e.value === '0666'));
  const tmp = bad.get('linux.mounts.tmp_noexec')!;
  assert.equal(tmp.evidence[0]!.file, '/etc/fstab');
  assert.match(tmp.evidence[0]!.value!, /^tmpfs \/tmp tmpfs defaults$/);
  assert.ok(typeof tmp.evidence[0]!.line === 'number');
  const nopw = bad.get('linux.sudo.no_nopasswd')!;
  assert.deepEqual(nopw.evidence[0], { file: '/etc/sudoers.d/90-ops', line: 1, value: '%sudo ALL=(ALL:ALL) NOPASSWD: ALL', expected: 'no NOPASSWD' });
  const rdp = byId(reports['win-bad']!).get('windows.rdp.nla_required')!;
  assert.match(rdp.evidence[0]!.file!, /SYSTEM:ControlSet001\\Control\\Terminal Server\\WinStations\\RDP-Tcp\\UserAuthentication$/);
  assert.equal(rdp.evidence[0]!.value, '0 (REG_DWORD)');
});

test('scores: compliance at CIS level 1 and 2 on the guest’s own benchmark', () => {
  const g = reports['linux-good']!.guests[0]!;
  const b = reports['linux-bad']!.guests[0]!;
  assert.deepEqual(g.benchmark, { id: 'debian12', title: 'CIS Benchmark for Debian 12 v1.1.0', exact: true });
  assert.equal(g.scores.cis_level1!.score, 100);
  assert.equal(g.scores.cis_level2!.score, 100);
  assert.ok(b.scores.cis_level1!.score! < 40 && b.scores.cis_level2!.score! < 40);
  assert.ok(g.scores.cis_level2!.pass > g.scores.cis_level1!.pass, 'level 2 includes level 1');
});

// ---- cross-checks against Debian's own tools ------------------------------------------------------

async function guest(image: string): Promise<{ g: LinuxGuest; close: () => Promise<void> }> {
  const s = await GuestSession.open([image]);
  const [r] = await s.roots();
  return { g: new LinuxGuest(new GuestView(r!.vfs), 'deb'), close: () => s.close() };
}

/** guestkit cat, as a user would extract a file from the image. */
function cat(image: string, path: string): Buffer {
  return execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'run.ts'), 'cat', image, path], { cwd: root, maxBuffer: 16 << 20 });
}

const agreement: Record<string, { same: number; total: number; differ: string[] }> = {};
const note = (tool: string, same: boolean, what: string) => {
  const a = (agreement[tool] ??= { same: 0, total: 0, differ: [] });
  a.total++;
  if (same) a.same++;
  else a.differ.push(what);
};

after(() => {
  const lines = Object.entries(agreement).map(([k, a]) => `${k}: ${a.same}/${a.total}${a.differ.length ? ` (differ: ${a.differ.join('; ')})` : ''}`);
  writeFileSync(join(out, 'agreement.txt'), lines.join('\n') + '\n');
  process.stdout.write(`# agreement\n${lines.map((l) => `#   ${l}`).join('\n')}\n`);
});

test('sshd: the effective options agree with `sshd -T` (the guest’s own sshd) on the files extracted from the image', async () => {
  const options = [...new Set(catalogue().flatMap((c) => (c.evaluator.type === 'sshd' ? [c.evaluator.option, ...(c.evaluator.any_of ?? [])] : [])).map((o) => o.toLowerCase()))];
  for (const n of ['linux-bad', 'linux-good']) {
    const tree = join(out, `${n}-root`);
    const scratch = join(tree, 'tmp', 'gk-sshd');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(join(scratch, 'sshd_config.d'), { recursive: true });
    mkdirSync(join(tree, 'run', 'sshd'), { recursive: true });
    const image = img(`${n}.qcow2`);
    const { g, close } = await guest(image);
    try {
      const main = cat(image, '/etc/ssh/sshd_config').toString('utf8');
      writeFileSync(join(scratch, 'sshd_config'), main.replace(/^Include \/etc\/ssh\/sshd_config\.d\/\*\.conf$/m, 'Include /tmp/gk-sshd/sshd_config.d/*.conf'));
      for (const f of await g.list('/etc/ssh/sshd_config.d')) writeFileSync(join(scratch, 'sshd_config.d', f), cat(image, `/etc/ssh/sshd_config.d/${f}`));
      const r = spawnSync('chroot', [tree, '/usr/sbin/sshd', '-T', '-f', '/tmp/gk-sshd/sshd_config'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const truth = new Map<string, string>();
      for (const l of r.stdout.split('\n')) {
        const m = /^(\S+) (.*)$/.exec(l);
        if (m) truth.set(m[1]!, truth.has(m[1]!) ? `${truth.get(m[1]!)} ${m[2]}` : m[2]!);
      }
      const mine = (await sshdEffective(g))!;
      for (const o of options) {
        const t = truth.get(o);
        const v = mine.get(o);
        if (t === undefined && (v === undefined || v.default)) continue; // unset access lists
        const norm = (x: string | undefined) => (x ?? '(unset)').toLowerCase().split(/[\s,]+/).sort().join(',');
        note('sshd -T', norm(t) === norm(v?.value), `${n} ${o}: sshd ${t} / guestkit ${v?.value}`);
      }
    } finally {
      await close();
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  assert.equal(agreement['sshd -T']!.differ.length, 0, agreement['sshd -T']!.differ.join('\n'));
});

test('sysctl: the values at boot agree with the files systemd-sysctl applies, in the order systemd-analyze lists them', async () => {
  const keys = [...new Set(catalogue().flatMap((c) => (c.evaluator.type === 'sysctl' ? [c.evaluator.key] : [])))];
  for (const n of ['linux-bad', 'linux-good']) {
    const tree = join(out, `${n}-root`);
    const text = execFileSync('systemd-analyze', ['cat-config', `--root=${tree}`, 'sysctl.d'], { encoding: 'utf8' });
    // last assignment wins, as systemd-sysctl applies the files top to bottom; /etc/sysctl.conf comes in through 99-sysctl.conf
    const truth = new Map<string, string>();
    for (const l of text.split('\n')) {
      const m = /^\s*-?([^#;=\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(l);
      if (m) truth.set(m[1]!.includes('/') ? m[1]!.replace(/\//g, '.') : m[1]!, m[2]!);
    }
    const { g, close } = await guest(img(`${n}.qcow2`));
    try {
      for (const k of keys) {
        const v = await sysctlValue(g, k);
        note('systemd-sysctl order', (v?.value ?? '(unset)') === (truth.get(k) ?? '(unset)'), `${n} ${k}: systemd ${truth.get(k)} / guestkit ${v?.value}`);
      }
    } finally {
      await close();
    }
  }
  assert.equal(agreement['systemd-sysctl order']!.differ.length, 0, agreement['systemd-sysctl order']!.differ.join('\n'));
});

test('units: enabled or not as `systemctl is-enabled --root` says', async () => {
  const units = [...new Set(catalogue().flatMap((c) => (c.evaluator.type === 'unit' ? c.evaluator.units : [])))];
  for (const n of ['linux-bad', 'linux-good']) {
    const tree = join(out, `${n}-root`);
    const { g, close } = await guest(img(`${n}.qcow2`));
    try {
      for (const u of units) {
        const ask = (name: string) => spawnSync('systemctl', ['is-enabled', `--root=${tree}`, name], { encoding: 'utf8' }).stdout.trim() || 'not-found';
        let truth = ask(u);
        // systemctl says `alias` for an alias name (bind9.service → named.service): its target decides
        if (truth === 'alias') {
          for (const d of ['etc/systemd/system', 'lib/systemd/system', 'usr/lib/systemd/system']) {
            const t = spawnSync('readlink', [join(tree, d, u)], { encoding: 'utf8' }).stdout.trim();
            if (t) {
              truth = ask(t.split('/').pop()!);
              break;
            }
          }
        }
        const mine = (await unitState(g, u)).state;
        const on = (s: string) => s === 'enabled' || s === 'generated' || s === 'alias-enabled';
        note('systemctl is-enabled', on(truth) === on(mine), `${n} ${u}: systemctl ${truth} / guestkit ${mine}`);
      }
    } finally {
      await close();
    }
  }
  assert.equal(agreement['systemctl is-enabled']!.differ.length, 0, agreement['systemctl is-enabled']!.differ.join('\n'));
});

// ---- the handler --------------------------------------------------------------------------------

function ctx(image: string) {
  const events: string[] = [];
  return {
    events,
    c: { job: {} as never, attempt: 1, workerId: 'w', signal: new AbortController().signal, progress: (u: { phase: string }) => events.push(u.phase), resolvedImages: [image], allowedRoots: [] },
  };
}

test('guestkit.profile: severity_threshold, include_remediation, fail_on_critical with the report attached, migration with its target', async () => {
  const h = profileHandler();
  const prep = (data: unknown) => {
    const p = h.prepare(data);
    assert.ok(p.ok, JSON.stringify(p));
    return p.job;
  };
  const image = img('linux-bad.qcow2');
  const { c, events } = ctx(image);
  const dest = join(out, 'handler-report.yaml');
  const r = await prep({ image: { path: image, format: 'qcow2' }, profiles: ['security'], options: { severity_threshold: 'high' }, output: { format: 'yaml', destination: dest, include_remediation: false } }).run(c);
  const rep = r.data as ProfileReport;
  assert.ok(rep.guests[0]!.results.length > 0);
  assert.ok(rep.guests[0]!.results.every((x) => x.severity === 'high' || x.severity === 'critical'));
  assert.ok(rep.guests[0]!.results.every((x) => x.remediation === undefined));
  assert.ok(rep.guests[0]!.scores.security!.fail > rep.guests[0]!.summary.fail, 'the score counts every check, the threshold only what is shown');
  assert.equal(r.outputs?.primary, dest);
  assert.match(readFileSync(dest, 'utf8'), /^kind: guestkit\.profile\.report$/m);
  assert.ok(events.includes('security_scan'));
  await assert.rejects(prep({ image: { path: image, format: 'auto' }, profiles: ['security'], options: { fail_on_critical: true } }).run(c), (err: { code?: string; details?: { report?: ProfileReport; failed_critical?: string[] } }) => {
    assert.equal(err.code, 'EXECUTION_ERROR');
    assert.ok(err.details?.failed_critical?.includes('linux.ssh.permit_empty_passwords'));
    assert.equal(err.details?.report?.kind, 'guestkit.profile.report');
    return true;
  });
  const good = ctx(img('linux-good.qcow2'));
  const ok = await prep({ image: { path: img('linux-good.qcow2'), format: 'auto' }, profiles: ['security'], options: { fail_on_critical: true } }).run(good.c);
  assert.equal((ok.data as ProfileReport).guests[0]!.summary.failed_by_severity.critical, 0);
  const mig = await prep({ image: { path: image, format: 'auto' }, profiles: ['migration'], options: { target: 'kubevirt' } }).run(c);
  const m = (mig.data as ProfileReport).guests[0]!;
  assert.equal(m.migration?.target, 'kubevirt');
  assert.equal((mig.data as ProfileReport).options.target, 'kubevirt');
  assert.ok(m.results.length > 0 && m.results.every((x) => x.id.startsWith('migration.')), 'the migration profile alone: only its findings');
  assert.equal(h.prepare({ image: { path: image, format: 'auto' }, profiles: ['migration'], options: { target: 'vmware' } }).ok, false, 'an unknown target is a validation error');
});

test('guestkit profile --html writes one self-contained file', () => {
  const file = join(out, 'report.html');
  execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'run.ts'), 'profile', img('win-bad.qcow2'), '--profile', 'all', '--html', '-o', file], { cwd: root });
  const html = readFileSync(file, 'utf8');
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /<(link|img|iframe)\b|<script\s+src|url\(|@import/i, 'nothing fetched from elsewhere');
  assert.match(html, /windows\.rdp\.nla_required/);
  assert.match(html, /UserAuthentication/);
});
