import type { ImageFormatName } from '../disk/image.js';
import { inspect, requireOs } from '../inspect/index.js';
import type { OperatingSystem } from '../inspect/types.js';
import { catalogue, PROFILES, runProfile, SEVERITIES, type ProfileName, type ProfileReport, type Severity } from '../profile/index.js';
import { GuestkitError } from '../protocol/errors.js';
import { actionFor, manualStep, packageToolOf, renderAnsible, renderShell, sq, type FixStep, type PackageTool } from './plan.js';

export { renderAnsible, renderShell, type FixStep, type Finding } from './plan.js';

/** Operations that would change the image itself: never done (guestkit opens images read-only). */
export const WRITE_OPERATIONS: Record<string, string> = {
  fsck: 'repairing a filesystem',
  filesystem_repair: 'repairing a filesystem',
  selinux_relabel: 'relabelling SELinux contexts',
  initramfs_regenerate: 'rebuilding the initramfs',
  grub_reinstall: 'reinstalling the boot loader',
  bootloader_repair: 'repairing the boot loader',
  password_reset: 'resetting a password',
  package_install: 'installing packages into the image',
  package_remove: 'removing packages from the image',
  inject_drivers: 'injecting drivers',
  resize: 'resizing the disk',
};

/** Plan operations this build answers, and what each one reads. */
export const PLAN_OPERATIONS = {
  remediate: 'steps for the failing checks of the given profiles (options: profiles, severity_threshold, checks)',
  remove_guest_tools: 'steps removing VMware Tools, Hyper-V daemons and VirtualBox additions found by inspection',
  fstab_stable_names: 'steps replacing fstab entries that name kernel device names (/dev/sdX…) by UUID',
} as const;
export type PlanOperation = keyof typeof PLAN_OPERATIONS;
const ALIASES: Record<string, PlanOperation> = { profile: 'remediate', harden: 'remediate', remove_vmware_tools: 'remove_guest_tools', fstab_uuid: 'fstab_stable_names', fix_fstab: 'fstab_stable_names' };

export interface FixOperation {
  type: string;
  options?: Record<string, unknown> | null;
}

export interface FixRequestShape {
  operations: FixOperation[];
  dry_run?: unknown;
  execution_policy?: Record<string, unknown> | null;
  output?: { fixed_image?: string | null } | null;
}

const NEVER_WRITES = 'guestkit never writes guest images: it opens them read-only and returns a remediation plan (a shell script and Ansible tasks) to run on the booted guest instead';

/**
 * The refusal for a request that asks to change the image: `dry_run: false`, an output image,
 * or an operation that repairs or rebuilds something in it. Undefined when the request only
 * asks for a plan. Unknown operation types are refused too, naming the ones that exist.
 */
export function refusal(d: FixRequestShape): GuestkitError | undefined {
  const reasons: string[] = [];
  const dry = [d.dry_run, d.execution_policy?.dry_run];
  if (dry.some((v) => v === false)) reasons.push('dry_run: false asks to apply the changes to the image');
  if (typeof d.output?.fixed_image === 'string' && d.output.fixed_image !== '') reasons.push(`output.fixed_image asks for a modified copy of the image (${d.output.fixed_image})`);
  const writes = d.operations.filter((o) => o.type in WRITE_OPERATIONS);
  for (const o of writes) reasons.push(`operation ${o.type} (${WRITE_OPERATIONS[o.type]}) would change the image`);
  const unknown = d.operations.filter((o) => !(o.type in WRITE_OPERATIONS) && !(o.type in PLAN_OPERATIONS) && !(o.type in ALIASES));
  if (reasons.length > 0) {
    return new GuestkitError('UNSUPPORTED_OPERATION', `guestkit.fix refused: ${reasons.join('; ')}. ${NEVER_WRITES}.`, {
      phase: 'validation',
      details: { refused: reasons, write_operations: writes.map((o) => o.type), plan_operations: Object.keys(PLAN_OPERATIONS) },
    });
  }
  if (unknown.length > 0) {
    return new GuestkitError('UNSUPPORTED_OPERATION', `guestkit.fix: unknown operation ${unknown.map((o) => o.type).join(', ')}; plan operations are ${Object.keys(PLAN_OPERATIONS).join(', ')}. ${NEVER_WRITES}.`, {
      phase: 'validation',
      details: { unknown: unknown.map((o) => o.type), plan_operations: Object.keys(PLAN_OPERATIONS) },
    });
  }
  return undefined;
}

export interface FixPlanRequest {
  disk: string;
  format?: ImageFormatName | 'img' | 'auto';
  operations: FixOperation[];
  allowedRoots?: readonly string[];
  onStage?: (phase: string, message: string) => void;
}

export interface FixPlan {
  kind: 'guestkit.fix.plan';
  version: 1;
  image: string;
  os: { distro: string; version: string; pretty_name?: string; root: string };
  /** Always true: the image was not touched. */
  dry_run: true;
  operations: { type: string; as: PlanOperation; steps: number }[];
  steps: FixStep[];
  shell_script: string;
  ansible_playbook: string;
  warnings: string[];
}

type Draft = Omit<FixStep, 'step'>;

const VMWARE_PKGS = ['open-vm-tools', 'open-vm-tools-desktop', 'open-vm-tools-sdmp', 'vmware-tools', 'vmware-tools-core'];
const HYPERV_PKGS = ['hyperv-daemons', 'hyperv-daemons-license', 'hypervkvpd', 'hypervvssd', 'hypervfcopyd'];
const VBOX_PKGS = ['virtualbox-guest-utils', 'virtualbox-guest-x11', 'virtualbox-guest-dkms'];
const KERNEL_NAMES = /^\/dev\/(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+)(p?\d+)?$/;

function guestToolSteps(os: OperatingSystem, tool: PackageTool): Draft[] {
  const installed = new Set((os.applications ?? []).map((a) => a.name));
  const agents = new Set(os.guest_agents ?? []);
  const out: Draft[] = [];
  const groups: [string, string, string[], string[]][] = [
    ['vmware-tools-present', 'VMware Tools', VMWARE_PKGS, ['open-vm-tools', 'vmware-tools']],
    ['hyperv-daemons-present', 'Hyper-V daemons', HYPERV_PKGS, ['hyperv-daemons']],
    ['virtualbox-additions-present', 'VirtualBox guest additions', VBOX_PKGS, ['virtualbox-guest-additions']],
  ];
  for (const [id, what, pkgs, agentNames] of groups) {
    const present = pkgs.filter((p) => installed.has(p));
    const seen = agentNames.filter((a) => agents.has(a));
    if (present.length === 0 && seen.length === 0) continue;
    const evidence = [...present.map((p) => ({ package: p })), ...seen.map((a) => ({ guest_agent: a, evidence: os.evidence.guest_agents ?? [] }))];
    const finding = { source: 'inspection' as const, id, title: `${what} installed (not needed after a move to KVM)`, severity: 'medium', evidence };
    if (present.length > 0) {
      out.push({
        title: `remove ${what} (${present.join(', ')})`,
        finding,
        automated: true,
        shell: tool === 'apt' ? [`apt-get purge -y ${present.map(sq).join(' ')}`] : tool === 'dnf' ? [`dnf remove -y ${present.map(sq).join(' ')}`] : tool === 'zypper' ? [`zypper --non-interactive remove ${present.map(sq).join(' ')}`] : [`# remove ${present.join(', ')} with the package manager`],
        ansible: [{ name: `remove ${what}`, 'ansible.builtin.package': { name: present, state: 'absent' } }],
      });
    } else {
      const text = `${what} found without a package (${seen.join(', ')}): run its own uninstaller (VMware: vmware-uninstall-tools.pl).`;
      out.push({ title: `remove ${what}`, finding, automated: false, ...manualStep(text) });
    }
  }
  return out;
}

function fstabSteps(os: OperatingSystem, uuidOf: Map<string, string>): Draft[] {
  const out: Draft[] = [];
  for (const [i, e] of (os.fstab ?? []).entries()) {
    if (!KERNEL_NAMES.test(e.spec)) continue;
    const finding = { source: 'inspection' as const, id: 'fstab-kernel-device-name', title: `fstab names ${e.spec} for ${e.file}: kernel device names change when the disk bus changes`, severity: 'high', evidence: [{ file: '/etc/fstab', entry: i + 1, value: e.spec }] };
    const uuid = (e.device && uuidOf.get(e.device)) || uuidOf.get(e.spec);
    if (!uuid) {
      out.push({ title: `name ${e.file} by UUID in /etc/fstab`, finding, automated: false, ...manualStep(`replace ${e.spec} in /etc/fstab by UUID=<uuid> (blkid ${e.spec} prints it); the filesystem's UUID could not be read from the image`) });
      continue;
    }
    const re = `^${e.spec.replace(/[/.]/g, '\\$&')}([[:space:]])`;
    out.push({
      title: `name ${e.file} by UUID=${uuid} in /etc/fstab (was ${e.spec})`,
      finding,
      automated: true,
      shell: ['cp -p /etc/fstab /etc/fstab.guestkit-bak', `sed -ri ${sq(`s#${re}#UUID=${uuid}\\1#`)} /etc/fstab`, 'findmnt --verify --tab-file /etc/fstab || true'],
      ansible: [{ name: `fstab ${e.file} by UUID`, 'ansible.builtin.replace': { path: '/etc/fstab', regexp: `^${e.spec.replace(/[.]/g, '\\.')}(\\s)`, replace: `UUID=${uuid}\\1`, backup: true } }],
    });
  }
  return out;
}

function asStringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

function checkSteps(report: ProfileReport, onlyChecks: string[] | undefined, tool: PackageTool): Draft[] {
  const byId = new Map(catalogue().map((c) => [c.id, c]));
  const out: Draft[] = [];
  const rank = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>;
  const failed = report.guests.flatMap((g) => g.results).filter((r) => r.status === 'fail' && (!onlyChecks || onlyChecks.includes(r.id)));
  // most severe first; the catalogue's order within a severity
  failed.sort((a, b) => rank[b.severity] - rank[a.severity]);
  for (const r of failed) {
    const c = byId.get(r.id);
    const finding = { source: 'check' as const, id: r.id, title: r.title, severity: r.severity, evidence: r.evidence };
    const action = c ? actionFor(c.evaluator, tool) : undefined;
    const remediation = r.remediation ?? c?.remediation;
    if (action) out.push({ title: r.title, finding, automated: true, ...action, ...(remediation ? { remediation } : {}) });
    else out.push({ title: r.title, finding, automated: false, ...manualStep(remediation ?? r.message), ...(remediation ? { remediation } : {}) });
  }
  return out;
}

/** A remediation plan for one image: inspection and profile checks read, nothing written. */
export async function planFix(req: FixPlanRequest): Promise<FixPlan> {
  const stage = req.onStage ?? (() => undefined);
  const warnings: string[] = [];
  const ops = req.operations.map((o) => ({ ...o, as: (ALIASES[o.type] ?? o.type) as PlanOperation }));
  stage('disk_inspection', `inspecting ${req.disk}`);
  const insp = requireOs(
    await inspect({
      disks: [req.disk],
      format: req.format,
      options: { include_packages: true, include_services: true, include_users: false, include_network: false, include_security: false, include_storage: true },
      allowedRoots: req.allowedRoots,
      onStage: (s) => stage(s, s.replace(/_/g, ' ')),
    }),
  );
  const os = insp.operating_systems[0]!;
  if (insp.operating_systems.length > 1) warnings.push(`${insp.operating_systems.length} operating systems found; the plan is for the first (${os.root})`);
  const uuidOf = new Map(insp.filesystems.filter((f) => f.uuid).map((f) => [f.device, f.uuid!]));
  let tool = packageToolOf(undefined, os.package_format);
  const drafts: Draft[] = [];
  const counts: FixPlan['operations'] = [];
  for (const o of ops) {
    const before = drafts.length;
    if (o.as === 'remediate') {
      const profiles = (asStringList(o.options?.profiles) ?? ['security']).filter((p): p is ProfileName => (PROFILES as readonly string[]).includes(p));
      if (profiles.length === 0) throw new GuestkitError('VALIDATION_ERROR', `operation ${o.type}: options.profiles must name at least one of ${PROFILES.join(', ')}`, { phase: 'validation' });
      const threshold = (typeof o.options?.severity_threshold === 'string' && (SEVERITIES as readonly string[]).includes(o.options.severity_threshold) ? o.options.severity_threshold : 'low') as Severity;
      stage('security_scan', `evaluating the ${profiles.join(', ')} checks`);
      const report = await runProfile({ disks: [req.disk], format: req.format, profiles, severity_threshold: threshold, include_remediation: true, allowedRoots: req.allowedRoots });
      const fam = report.guests[0]?.os.family;
      tool = packageToolOf(fam, os.package_format);
      drafts.push(...checkSteps(report, asStringList(o.options?.checks), tool));
    } else if (o.as === 'remove_guest_tools') {
      drafts.push(...guestToolSteps(os, tool));
    } else if (o.as === 'fstab_stable_names') {
      drafts.push(...fstabSteps(os, uuidOf));
    }
    counts.push({ type: o.type, as: o.as, steps: drafts.length - before });
  }
  // one step per finding: a check asked for twice (two operations) is planned once
  const seen = new Set<string>();
  const steps: FixStep[] = [];
  for (const d of drafts) {
    const key = `${d.finding.source}:${d.finding.id}:${d.title}`;
    if (seen.has(key)) continue;
    seen.add(key);
    steps.push({ step: steps.length + 1, ...d });
  }
  const title = `guestkit remediation plan for ${os.pretty_name ?? os.distro} (${req.disk})`;
  stage('result_generation', `${steps.length} step(s)`);
  return {
    kind: 'guestkit.fix.plan',
    version: 1,
    image: req.disk,
    os: { distro: os.distro, version: `${os.major_version}.${os.minor_version}`, ...(os.pretty_name ? { pretty_name: os.pretty_name } : {}), root: os.root },
    dry_run: true,
    operations: counts,
    steps,
    shell_script: renderShell(steps, title),
    ansible_playbook: renderAnsible(steps, title),
    warnings,
  };
}
