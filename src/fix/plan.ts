import { stringify as toYaml } from 'yaml';
import type { Evaluator, Expect, Family } from '../profile/types.js';

/** The finding a step fixes: a failed profile check, or a fact inspection showed. */
export interface Finding {
  source: 'check' | 'inspection';
  id: string;
  title: string;
  severity?: string;
  /** What was read, where (file, line, value, expected). */
  evidence?: unknown[];
}

export interface FixStep {
  /** 1-based position: the order the steps are meant to run in. */
  step: number;
  title: string;
  finding: Finding;
  /** false: no safe automatic change exists; the shell and Ansible forms carry the instruction only. */
  automated: boolean;
  /** Shell commands to run on the booted guest, as root. */
  shell: string[];
  /** Ansible tasks doing the same. */
  ansible: Record<string, unknown>[];
  /** The check's own remediation text, when it has one. */
  remediation?: string;
}

export type PackageTool = 'apt' | 'dnf' | 'zypper' | 'unknown';

export function packageToolOf(families: readonly Family[] | undefined, packageFormat?: string): PackageTool {
  if (families?.includes('debian') || packageFormat === 'deb') return 'apt';
  if (families?.includes('rhel') || packageFormat === 'rpm') return families?.includes('suse') ? 'zypper' : 'dnf';
  if (families?.includes('suse')) return 'zypper';
  return 'unknown';
}

/** POSIX shell single quoting. */
export function sq(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The value a check wants: eq, the first allowed one, or the bound. Undefined when only a negative rule is known. */
export function wantedValue(e: Expect): string | undefined {
  if (e.eq !== undefined) return String(e.eq);
  if (e.in?.length) return String(e.in[0]);
  if (e.max !== undefined && e.min === undefined) return String(e.max);
  if (e.min !== undefined && e.max === undefined) return String(e.min);
  if (e.min !== undefined && e.max !== undefined) return String(e.max);
  return undefined;
}

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function removePackages(names: string[], tool: PackageTool): string[] {
  const n = names.map(sq).join(' ');
  if (tool === 'apt') return [`apt-get purge -y ${n}`];
  if (tool === 'dnf') return [`dnf remove -y ${n}`];
  if (tool === 'zypper') return [`zypper --non-interactive remove ${n}`];
  return [`# remove the packages ${names.join(', ')} with the guest's package manager`];
}

function installPackages(names: string[], tool: PackageTool): string[] {
  const n = names.map(sq).join(' ');
  if (tool === 'apt') return ['apt-get update', `apt-get install -y ${n}`];
  if (tool === 'dnf') return [`dnf install -y ${n}`];
  if (tool === 'zypper') return [`zypper --non-interactive install ${n}`];
  return [`# install ${names.join(', ')} with the guest's package manager`];
}

/** A line set in a config file: replaced where the key is (commented or not), appended otherwise. */
function setLine(path: string, keyRe: string, line: string): string[] {
  return [
    `if grep -Eq ${sq(`^[[:space:]]*#?[[:space:]]*${keyRe}`)} ${sq(path)}; then sed -ri ${sq(`s/^[[:space:]]*#?[[:space:]]*${keyRe}.*/${line.replace(/[/&\\]/g, '\\$&')}/`)} ${sq(path)}; else printf '%s\\n' ${sq(line)} >> ${sq(path)}; fi`,
  ];
}

type Action = { shell: string[]; ansible: Record<string, unknown>[] } | undefined;

/** The change that satisfies a check, from its evaluator; undefined when none is safe to automate. */
export function actionFor(ev: Evaluator, tool: PackageTool): Action {
  switch (ev.type) {
    case 'sysctl': {
      const v = wantedValue(ev.expect);
      if (v === undefined) return undefined;
      const file = '/etc/sysctl.d/60-guestkit-remediation.conf';
      return {
        shell: [`printf '%s\\n' ${sq(`${ev.key} = ${v}`)} >> ${file}`, `sysctl -w ${sq(`${ev.key}=${v}`)}`],
        ansible: [{ name: `sysctl ${ev.key} = ${v}`, 'ansible.posix.sysctl': { name: ev.key, value: v, sysctl_file: file, reload: true } }],
      };
    }
    case 'sshd': {
      const v = wantedValue(ev.expect);
      if (v === undefined || ev.any_of) return undefined;
      const file = '/etc/ssh/sshd_config.d/00-guestkit-remediation.conf';
      // sshd takes the first value it reads: a drop-in named 00-… is read before the others (Include at the top)
      return {
        shell: ['mkdir -p /etc/ssh/sshd_config.d', `printf '%s\\n' ${sq(`${ev.option} ${v}`)} >> ${file}`, 'sshd -t', 'systemctl reload ssh 2>/dev/null || systemctl reload sshd'],
        ansible: [
          { name: `sshd ${ev.option} ${v}`, 'ansible.builtin.lineinfile': { path: file, create: true, mode: '0600', regexp: `^\\s*${regexEscape(ev.option)}\\s`, line: `${ev.option} ${v}`, validate: 'sshd -t -f %s' } },
        ],
      };
    }
    case 'package':
      return ev.expect === 'absent'
        ? { shell: removePackages(ev.names, tool), ansible: [{ name: `remove ${ev.names.join(', ')}`, 'ansible.builtin.package': { name: ev.names, state: 'absent' } }] }
        : { shell: installPackages(ev.names.slice(0, 1), tool), ansible: [{ name: `install ${ev.names[0]}`, 'ansible.builtin.package': { name: ev.names[0], state: 'present' } }] };
    case 'unit':
      return ev.expect === 'not_enabled'
        ? {
            shell: ev.units.map((u) => `systemctl disable --now ${sq(u)} 2>/dev/null || true`),
            ansible: ev.units.map((u) => ({ name: `disable ${u}`, 'ansible.builtin.systemd_service': { name: u, enabled: false, state: 'stopped' }, failed_when: false })),
          }
        : {
            shell: [`systemctl enable --now ${sq(ev.units[0]!)}`],
            ansible: [{ name: `enable ${ev.units[0]}`, 'ansible.builtin.systemd_service': { name: ev.units[0], enabled: true, state: 'started' } }],
          };
    case 'kernel_module': {
      const file = `/etc/modprobe.d/${ev.module}.conf`;
      const content = `install ${ev.module} /bin/false\nblacklist ${ev.module}\n`;
      return {
        shell: [`printf 'install %s /bin/false\\nblacklist %s\\n' ${sq(ev.module)} ${sq(ev.module)} > ${sq(file)}`, `modprobe -r ${sq(ev.module)} 2>/dev/null || true`],
        ansible: [{ name: `disable kernel module ${ev.module}`, 'ansible.builtin.copy': { dest: file, content, owner: 'root', group: 'root', mode: '0644' } }],
      };
    }
    case 'file_mode': {
      if (ev.paths.some((p) => /[*?]/.test(p))) return undefined;
      const shell: string[] = [];
      const ansible: Record<string, unknown>[] = [];
      for (const p of ev.paths) {
        const args: Record<string, unknown> = { path: p };
        if (ev.owner) {
          shell.push(`[ -e ${sq(p)} ] && chown ${sq(ev.owner[0]!)} ${sq(p)}`);
          args.owner = ev.owner[0];
        }
        if (ev.group) {
          shell.push(`[ -e ${sq(p)} ] && chgrp ${sq(ev.group[0]!)} ${sq(p)}`);
          args.group = ev.group[0];
        }
        if (ev.max_mode) {
          // clear the bits the check does not allow, keep the others
          const deny = (~parseInt(ev.max_mode, 8) & 0o7777).toString(8);
          shell.push(`[ -e ${sq(p)} ] && chmod $(printf '%o' $(( 0$(stat -c %a ${sq(p)}) & ~0${deny} ))) ${sq(p)}`);
          args.mode = ev.max_mode.padStart(4, '0');
        }
        ansible.push({ name: `permissions of ${p}`, 'ansible.builtin.file': args });
      }
      return shell.length ? { shell, ansible } : undefined;
    }
    case 'key_value': {
      const v = wantedValue(ev.expect);
      if (v === undefined) return undefined;
      const line = ev.syntax === 'space' ? `${ev.key} ${v}` : ev.syntax === 'equals' ? `${ev.key} = ${v}` : `${ev.key}=${v}`;
      const keyRe = `${regexEscape(ev.key)}(${ev.syntax === 'space' ? '[[:space:]]' : '[[:space:]]*='})`;
      return {
        shell: setLine(ev.path, keyRe, line),
        ansible: [{ name: `${ev.path}: ${line}`, 'ansible.builtin.lineinfile': { path: ev.path, regexp: `^\\s*#?\\s*${regexEscape(ev.key)}${ev.syntax === 'space' ? '\\s' : '\\s*='}`, line, create: true } }],
      };
    }
    case 'sudoers':
      if (ev.rule === 'use_pty' || ev.rule === 'logfile') {
        const line = ev.rule === 'use_pty' ? 'Defaults use_pty' : 'Defaults logfile="/var/log/sudo.log"';
        const file = `/etc/sudoers.d/00-guestkit-${ev.rule.replace(/_/g, '-')}`;
        return {
          shell: [`printf '%s\\n' ${sq(line)} > ${file}`, `chmod 0440 ${file}`, `visudo -cf ${file}`],
          ansible: [{ name: `sudoers ${line}`, 'ansible.builtin.copy': { dest: file, content: `${line}\n`, mode: '0440', validate: 'visudo -cf %s' } }],
        };
      }
      return undefined;
    default:
      return undefined;
  }
}

export function manualStep(text: string): { shell: string[]; ansible: Record<string, unknown>[] } {
  return {
    shell: text.split('\n').map((l) => `# ${l}`),
    ansible: [{ name: 'manual step', 'ansible.builtin.debug': { msg: `manual: ${text}` } }],
  };
}

/** The plan as one POSIX shell script, each step under a comment naming the finding it fixes. */
export function renderShell(steps: FixStep[], title: string): string {
  const out = ['#!/bin/sh', `# ${title}`, '# Generated by guestkit fix (a plan only: guestkit never writes guest images).', '# Run on the booted guest as root, after reading it; manual steps are comments.', 'set -eu', ''];
  for (const s of steps) {
    out.push(`# --- step ${s.step}: ${s.title}`, `# fixes ${s.finding.source} ${s.finding.id}${s.finding.severity ? ` (${s.finding.severity})` : ''}: ${s.finding.title}`);
    if (!s.automated) out.push('# MANUAL: no safe automatic change; do this by hand:');
    out.push(...s.shell, '');
  }
  return out.join('\n');
}

/** The plan as an Ansible playbook; every task names its step and the finding it fixes. */
export function renderAnsible(steps: FixStep[], title: string): string {
  const tasks = steps.flatMap((s) =>
    s.ansible.map((t) => ({ ...t, name: `[${s.step}] ${String(t.name ?? s.title)} (fixes ${s.finding.id})`, tags: [`step_${s.step}`, s.finding.source, ...(s.automated ? [] : ['manual'])] })),
  );
  return toYaml([{ name: title, hosts: 'all', become: true, gather_facts: false, tasks }], { lineWidth: 0 });
}
