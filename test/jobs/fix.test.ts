import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { planFix, refusal, type FixPlan } from '../../src/fix/index.js';
import { fixHandler } from '../../src/jobs/handlers/fix.js';
import { builtinRegistry } from '../../src/jobs/registry.js';
import { validateJob } from '../../src/protocol/validate.js';
import { precheck } from '../../src/worker/prechecks.js';
import { buildRegistration } from '../../src/worker/registration.js';
import type { HandlerContext } from '../../src/jobs/types.js';
import { runProfile } from '../../src/profile/index.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { validateDocument } from '../../src/protocol/validate.js';
import { fixture, REPO } from '../helpers/fixtures.js';

const DEBIAN = fixture('inspect', 'debian.qcow2');

function ctx(resolvedImages: string[] = []): HandlerContext {
  return { job: {} as never, attempt: 1, workerId: 'w', signal: new AbortController().signal, progress: () => undefined, resolvedImages, allowedRoots: [] };
}

test("guestkit.fix: the seed's fix-offline.json gets UNSUPPORTED_OPERATION explaining that guestkit never writes guest images", async () => {
  const doc = JSON.parse(readFileSync(join(REPO, 'test', 'protocol', 'examples', 'fix-offline.json'), 'utf8')) as { payload: { data: unknown } };
  assert.equal(validateDocument(doc).ok, true);
  const prepared = fixHandler().prepare(doc.payload.data);
  assert.ok(prepared.ok);
  // refused before its image (/vms/app-server-01.qcow2, a placeholder checksum) is looked at
  assert.deepEqual(prepared.job.images, []);
  await assert.rejects(prepared.job.run(ctx()), (e: unknown) => {
    assert.ok(isGuestkitError(e, 'UNSUPPORTED_OPERATION'));
    assert.match(e.message, /guestkit never writes guest images/);
    for (const op of ['fsck', 'selinux_relabel', 'initramfs_regenerate']) assert.match(e.message, new RegExp(`operation ${op} `));
    assert.match(e.message, /output\.fixed_image/);
    assert.deepEqual((e.details as { write_operations: string[] }).write_operations, ['fsck', 'selinux_relabel', 'initramfs_regenerate']);
    return true;
  });
});

test('guestkit.fix: dry_run false, an output image or an unknown operation are refused; a plan request names its image', () => {
  const image = { path: DEBIAN, format: 'qcow2' };
  for (const data of [
    { image, operations: [{ type: 'remediate' }], dry_run: false },
    { image, operations: [{ type: 'remediate' }], execution_policy: { dry_run: false } },
    { image, operations: [{ type: 'remediate' }], output: { fixed_image: '/vms/x.qcow2' } },
    { image, operations: [{ type: 'defragment' }] },
  ]) {
    const e = refusal(data);
    assert.ok(e && e.code === 'UNSUPPORTED_OPERATION', JSON.stringify(data));
    assert.match(e.message, /guestkit never writes guest images/);
  }
  const ok = fixHandler().prepare({ image, operations: [{ type: 'remediate' }], dry_run: true });
  assert.ok(ok.ok);
  assert.deepEqual(ok.job.images, [{ field: 'image.path', path: DEBIAN, checksum: null }]);
});

function checkScripts(plan: FixPlan): void {
  // the shell script parses, and every step's commands are in it under its finding
  const sh = spawnSync('sh', ['-n'], { input: plan.shell_script, encoding: 'utf8' });
  assert.equal(sh.status, 0, sh.stderr);
  for (const s of plan.steps) assert.ok(plan.shell_script.includes(`# --- step ${s.step}: ${s.title}\n# fixes ${s.finding.source} ${s.finding.id}`), `step ${s.step} in the script`);
  // the playbook is YAML: one play, tasks in step order, each naming its finding
  const play = parseYaml(plan.ansible_playbook) as { hosts: string; become: boolean; tasks: { name: string; tags: string[] }[] }[];
  assert.equal(play.length, 1);
  assert.equal(play[0]!.become, true);
  const order = play[0]!.tasks.map((t) => Number(/^\[(\d+)\]/.exec(t.name)![1]));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  for (const s of plan.steps) assert.ok(play[0]!.tasks.some((t) => t.name.startsWith(`[${s.step}] `) && t.name.endsWith(`(fixes ${s.finding.id})`)), `task for step ${s.step}`);
}

test('guestkit.fix plan for the Debian guest: one step per failing security check, in severity order, as shell and Ansible', async () => {
  const prepared = fixHandler().prepare({ image: { path: DEBIAN, format: 'qcow2' }, operations: [{ type: 'remediate', options: { profiles: ['security'] } }, { type: 'fstab_stable_names' }, { type: 'remove_guest_tools' }] });
  assert.ok(prepared.ok);
  const plan = (await prepared.job.run(ctx([DEBIAN]))).data as FixPlan;
  assert.equal(plan.dry_run, true);
  assert.equal(plan.kind, 'guestkit.fix.plan');

  // the truth: the profile engine's own failing checks (severity low and up) on the same image
  const report = await runProfile({ disks: [DEBIAN], profiles: ['security'], severity_threshold: 'low' });
  const failing = report.guests[0]!.results.filter((r) => r.status === 'fail');
  assert.ok(failing.length > 0);
  const checkSteps = plan.steps.filter((s) => s.finding.source === 'check');
  assert.deepEqual(new Set(checkSteps.map((s) => s.finding.id)), new Set(failing.map((r) => r.id)));
  assert.equal(checkSteps.length, failing.length);
  const rank = ['info', 'low', 'medium', 'high', 'critical'];
  const sev = checkSteps.map((s) => rank.indexOf(s.finding.severity!));
  assert.deepEqual(sev, [...sev].sort((a, b) => b - a), 'most severe first');
  assert.ok(checkSteps.some((s) => s.automated), 'some checks have an automatic change');
  for (const s of checkSteps) {
    const r = failing.find((x) => x.id === s.finding.id)!;
    assert.deepEqual(s.finding.evidence, r.evidence, `${s.finding.id} carries its evidence`);
  }
  // the Debian fstab names its swap /dev/vdb1, a kernel device name whose UUID is not in this image
  const fstab = plan.steps.filter((s) => s.finding.id === 'fstab-kernel-device-name');
  assert.deepEqual(fstab.map((s) => [s.automated, (s.finding.evidence as { value: string }[])[0]!.value]), [[false, '/dev/vdb1']]);
  // no VMware/Hyper-V/VirtualBox tools on it: nothing to remove
  assert.equal(plan.steps.filter((s) => s.finding.source === 'inspection' && s.finding.id !== 'fstab-kernel-device-name').length, 0);
  assert.deepEqual(plan.steps.map((s) => s.step), plan.steps.map((_, i) => i + 1));
  assert.deepEqual(plan.operations.map((o) => o.as), ['remediate', 'fstab_stable_names', 'remove_guest_tools']);
  checkScripts(plan);
});

test('guestkit.fix: the sshd lines of a plan are accepted by the guest\'s own sshd; sysctl lines are key = value', async () => {
  const plan = await planFix({ disk: DEBIAN, operations: [{ type: 'remediate', options: { profiles: ['security', 'hardening'] } }] });
  const sysctl = plan.steps.find((s) => s.automated && s.shell.some((l) => l.includes('sysctl.d/60-guestkit-remediation.conf')));
  assert.ok(sysctl, 'a sysctl step');
  const line = /printf '%s\\n' '?([^']+?)'? >>/.exec(sysctl.shell[0]!)![1]!;
  assert.match(line, /^[a-z0-9_.]+ = \S+$/);
  const sshd = plan.steps.filter((s) => s.automated && s.shell.some((l) => l.includes('sshd_config.d/00-guestkit-remediation.conf')));
  assert.ok(sshd.length > 0, 'some sshd steps');
  // the guest's own sshd (in the debootstrapped tree the image was made from) accepts each line
  const tree = fixture('inspect', 'debian-root');
  for (const s of sshd) {
    const cfg = /printf '%s\\n' '?([^']+?)'? >>/.exec(s.shell[1]!)![1]!;
    const r = spawnSync('chroot', [tree, '/usr/sbin/sshd', '-t', '-o', cfg], { encoding: 'utf8' });
    const complaints = r.stderr.split('\n').filter((l) => l && !/privilege separation directory/.test(l));
    assert.deepEqual(complaints, [], `sshd -t -o "${cfg}"`);
  }
  checkScripts(plan);
});

test("guestkit.fix: a worker answers the seed's fix-offline.json with the handler's refusal, not CAPABILITY_MISMATCH (it asks for fs.fsck, selinux)", () => {
  const doc = validateJob(JSON.parse(readFileSync(join(REPO, 'test', 'protocol', 'examples', 'fix-offline.json'), 'utf8'))).job!;
  const registry = builtinRegistry();
  const reg = buildRegistration({ workerId: 'w', version: '0.1.0', pool: 'default', maxConcurrent: 1, maxDiskSizeGb: 100, registry, registeredAt: new Date() }, 'ready', 0);
  const pre = precheck(doc, registry, reg, 'w');
  assert.ok(!pre.ok && pre.kind === 'failed');
  assert.equal(pre.error.code, 'UNSUPPORTED_OPERATION');
  assert.match(pre.error.message, /never writes guest images/);
});
