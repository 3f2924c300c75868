import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compare } from '../../src/compare/index.js';
import { inspect } from '../../src/inspect/index.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';

const BASE = fixture('inspect', 'debian.qcow2');
const MODIFIED = fixture('compare', 'debian-modified.qcow2');
const truth = (name: string) => readFileSync(fixture('compare', 'truth', name), 'utf8');

/** name -> version (arch) from `dpkg-query -W` output. */
function dpkg(name: string): Map<string, string> {
  return new Map(truth(name).trim().split('\n').map((l) => {
    const [p, v, a] = l.split('\t');
    return [`${p}:${a}`, v!];
  }));
}
const names = (file: string) => new Set(truth(file).trim().split('\n').map((l) => l.split(':')[0]!));

test('compare: the Debian guest against its modified copy lists exactly what dpkg, useradd, systemctl and the edit changed', async () => {
  const r = await compare({ baseline: { path: BASE }, target: { path: MODIFIED }, paths: ['/etc'], recommendations: true });

  // packages: dpkg-query over both trees is the truth
  const a = dpkg('dpkg-base.txt');
  const b = dpkg('dpkg-modified.txt');
  const changed = [...a].filter(([k, v]) => b.has(k) && b.get(k) !== v).map(([k, v]) => ({ name: k.split(':')[0], baseline_version: v, target_version: b.get(k) }));
  assert.deepEqual(changed, [{ name: 'sensible-utils', baseline_version: '0.0.17+nmu1', target_version: '0.0.18' }]);
  assert.deepEqual(r.packages!.changed.map(({ name, baseline_version, target_version }) => ({ name, baseline_version, target_version })), changed);
  assert.equal(r.packages!.changed[0]!.direction, 'upgrade');
  assert.deepEqual(r.packages!.added, []);
  assert.deepEqual(r.packages!.removed, []);
  assert.equal(r.packages!.unchanged, a.size - 1);

  // users and groups: the passwd and group files of both trees
  const addedUsers = [...names('passwd-modified.txt')].filter((n) => !names('passwd-base.txt').has(n));
  assert.deepEqual(addedUsers, ['carol']);
  assert.deepEqual(r.users!.added.map((u) => [u.name, u.uid, u.shell, u.home]), [['carol', 1002, '/bin/bash', '/home/carol']]);
  assert.deepEqual(r.users!.removed, []);
  assert.deepEqual(r.users!.changed, []);
  const addedGroups = [...names('group-modified.txt')].filter((n) => !names('group-base.txt').has(n));
  assert.deepEqual(r.groups!.added.map((g) => g.name), addedGroups);
  assert.deepEqual(r.groups!.removed, []);
  assert.deepEqual(r.groups!.changed, []);

  // services: systemctl --root is-enabled said enabled -> disabled; its alias goes with it
  assert.equal(truth('ssh-enabled.txt'), 'base\tenabled\nmodified\tdisabled\n');
  assert.deepEqual(r.services!.disabled.map((s) => [s.name, s.alias_of ?? null]), [['ssh.service', null], ['sshd.service', 'ssh.service']]);
  assert.deepEqual(r.services!.enabled, []);
  assert.deepEqual(r.services!.changed, []);

  // OS: nothing drifted
  assert.deepEqual(r.os, { changes: [], kernels_added: [], kernels_removed: [] });

  // files under /etc: exactly what `diff -rq --no-dereference` of the two trees says
  const want = { added: [] as string[], removed: [] as string[], modified: [] as string[] };
  for (const line of truth('etc-diff.txt').trim().split('\n')) {
    let m = /^Files BASE(\/\S+) and MODIFIED\S+ differ$/.exec(line);
    if (m) want.modified.push(`/etc${m[1]}`);
    m = /^Only in (BASE|MODIFIED)(\/\S*)?: (.+)$/.exec(line);
    if (m) (m[1] === 'BASE' ? want.removed : want.added).push(`/etc${m[2] ?? ''}/${m[3]}`);
  }
  assert.ok(want.modified.includes('/etc/ssh/sshd_config') && want.removed.includes('/etc/systemd/system/multi-user.target.wants/ssh.service'));
  const f = r.files!;
  assert.deepEqual(f.roots, ['/etc']);
  assert.deepEqual(f.added.map((x) => x.path), want.added.sort());
  assert.deepEqual(f.removed.map((x) => x.path), want.removed.sort());
  assert.deepEqual(f.modified.map((x) => x.path), want.modified.sort());
  assert.ok(f.modified.every((x) => x.changes.join() === 'content'), 'only contents changed');
  assert.deepEqual(f.unreadable, []);

  // the edited config: a unified diff with both edits, nothing else
  const sshd = f.modified.find((x) => x.path === '/etc/ssh/sshd_config')!;
  const changes = sshd.diff!.split('\n').filter((l) => /^[-+][^-+]/.test(l) || l === '+' || l === '-');
  assert.deepEqual(changes, ['-Port 2222', '+Port 2200', '+MaxAuthTries 3']);
  assert.match(sshd.diff!, /^--- a\/etc\/ssh\/sshd_config\n\+\+\+ b\/etc\/ssh\/sshd_config\n@@ /);
  // password hashes never appear in a report
  for (const p of ['/etc/shadow', '/etc/gshadow']) assert.equal(f.modified.find((x) => x.path === p)?.diff_omitted, 'sensitive', p);
  assert.ok(!JSON.stringify(r).includes('$y$') && !JSON.stringify(r).includes('$6$'), 'no hash in the report');

  assert.equal(r.summary.identical, false);
  const ids = new Set(r.recommendations!.map((x) => `${x.id} ${x.subject}`));
  assert.ok(ids.has('guard-service-disabled service:ssh.service'), [...ids].join('\n'));
  assert.ok(ids.has('access-config-changed file:/etc/ssh/sshd_config'));
});

test('compare: saved inspections stand in for images; identical guests; OS drift; files need images', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-compare-'));
  const base = await inspect(BASE);
  const saved = join(dir, 'base.json');
  writeFileSync(saved, JSON.stringify(base, null, 2));
  // a guestkit.inspect job result (data = the inspection) is accepted too
  const result = join(dir, 'base-result.json');
  writeFileSync(result, JSON.stringify({ job_id: 'inspect-0001', status: 'completed', data: base }));

  const same = await compare({ baseline: { path: saved }, target: { path: BASE } });
  assert.equal(same.baseline.source, 'inspection');
  assert.equal(same.target.source, 'image');
  assert.equal(same.summary.identical, true, JSON.stringify(same.summary));

  // the same guest after a point release and a kernel update, as its inspection would show it
  const later = structuredClone(base);
  const os = later.operating_systems[0]!;
  os.minor_version = 16;
  os.product_name = '12.16';
  const k = os.kernels![0]!;
  os.kernels = [{ ...k, version: '6.1.0-99-cloud-amd64' }];
  const laterPath = join(dir, 'later.json');
  writeFileSync(laterPath, JSON.stringify(later));
  const drift = await compare({ baseline: { path: result }, target: { path: laterPath }, paths: ['/etc'], recommendations: true });
  assert.deepEqual(drift.os.changes, [
    { field: 'product_name', baseline: '12.15', target: '12.16' },
    { field: 'minor_version', baseline: 15, target: 16 },
  ]);
  assert.deepEqual(drift.os.kernels_added, ['6.1.0-99-cloud-amd64']);
  assert.deepEqual(drift.os.kernels_removed, [k.version]);
  assert.equal(drift.files, undefined);
  assert.match(drift.warnings.join('\n'), /files not compared: .* are saved inspections/);
  assert.ok(drift.recommendations!.some((x) => x.id === 'os-version-drift'));

  // a JSON file that is not an inspection is refused, not read as a raw disk
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ hello: 'world' }));
  await assert.rejects(compare({ baseline: { path: other }, target: { path: saved } }), (e: unknown) => isGuestkitError(e, 'VALIDATION_ERROR'));
});
