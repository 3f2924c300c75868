import { z } from 'zod';
import { EVALUATOR_DEFAULTS, FAMILIES, PROFILES, SEVERITIES } from './types.js';

/*
 * The check catalogue's schema. It is the build-time check of the catalogue (test/profile/
 * catalogue.test.ts validates every shipped entry with it) and the source of the catalogue's
 * types; nothing on the profile's run path imports it, so a profile run never loads zod.
 */

/** What a value read must satisfy; every condition given must hold. Strings compare case-insensitively. */
export const ExpectSchema = z.strictObject({
  eq: z.union([z.string(), z.number()]).optional(),
  ne: z.union([z.string(), z.number()]).optional(),
  in: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  not_in: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  /** A comma-separated list must contain none of these (sshd Ciphers, MACs …). */
  excludes: z.array(z.string()).min(1).optional(),
  /** A whitespace/comma list must contain all of these. */
  includes: z.array(z.string()).min(1).optional(),
  /** The value must be non-empty. */
  nonempty: z.boolean().optional(),
  /** `a:b:c` (sshd MaxStartups): each field at most the given number. */
  fields_max: z.array(z.number()).min(1).optional(),
});

const Octal = z.string().regex(/^0?[0-7]{3,4}$/, 'an octal mode like 0640');
const Missing = z.enum(['pass', 'fail', 'not_applicable']);

export const EvaluatorSchema = z.discriminatedUnion('type', [
  /** Owner, group and the mode bits a file may have (the mode must not exceed max_mode). */
  z.strictObject({
    type: z.literal('file_mode'),
    /** Guest paths; `*` / `?` allowed in the last component. */
    paths: z.array(z.string().startsWith('/')).min(1),
    max_mode: Octal.optional(),
    owner: z.array(z.string()).min(1).optional(),
    group: z.array(z.string()).min(1).optional(),
    missing: Missing.default(EVALUATOR_DEFAULTS.file_mode.missing),
  }),
  /** Files under some trees matching a condition (world-writable files, files of no known owner). */
  z.strictObject({
    type: z.literal('file_tree'),
    roots: z.array(z.string().startsWith('/')).min(1),
    condition: z.enum(['world_writable_file', 'unowned', 'ungrouped']),
    max_depth: z.number().int().positive().default(EVALUATOR_DEFAULTS.file_tree.max_depth),
  }),
  /** Each line of a text file against a pattern (banners: no OS escapes). */
  z.strictObject({
    type: z.literal('file_text'),
    path: z.string().startsWith('/'),
    forbid: z.string().optional(),
    require: z.string().optional(),
    missing: Missing.default(EVALUATOR_DEFAULTS.file_text.missing),
  }),
  /** A file simply present or absent (cron.allow, cron.deny). */
  z.strictObject({
    type: z.literal('file_exists'),
    path: z.string().startsWith('/'),
    expect: z.enum(['present', 'absent']),
  }),
  /**
   * One key of a configuration file: `KEY value` (login.defs), `key = value` (auditd.conf,
   * pwquality.conf, faillock.conf; a bare `key` is a flag, value "true") or shell `KEY=value`.
   * Drop-in directories are read after the file, in name order; the last assignment wins
   * unless `first_wins`.
   */
  z.strictObject({
    type: z.literal('key_value'),
    path: z.string().startsWith('/'),
    dropins: z.array(z.string().startsWith('/')).optional(),
    syntax: z.enum(['space', 'equals', 'shell']),
    key: z.string().min(1),
    expect: ExpectSchema,
    /** What a missing key means: a failure, or the program's built-in default. */
    default: z.union([z.string(), z.number()]).optional(),
    missing_file: Missing.default(EVALUATOR_DEFAULTS.key_value.missing_file),
    requires_package: z.array(z.string()).optional(),
  }),
  /** A systemd-style INI key, with drop-ins (journald.conf.d) in systemd's order. */
  z.strictObject({
    type: z.literal('systemd_conf'),
    /** e.g. systemd/journald.conf: read from /etc, /run, /usr/local/lib, /usr/lib. */
    file: z.string().min(1),
    section: z.string().min(1),
    key: z.string().min(1),
    expect: ExpectSchema,
    default: z.string().optional(),
  }),
  /** A kernel parameter as sysctl.d configures it at boot. */
  z.strictObject({
    type: z.literal('sysctl'),
    key: z.string().min(1),
    expect: ExpectSchema,
    /** The kernel's own value when nothing sets the key (only where it is fixed in the kernel source). */
    kernel_default: z.string().optional(),
  }),
  /** sshd's effective global value of one option. */
  z.strictObject({
    type: z.literal('sshd'),
    option: z.string().min(1),
    expect: ExpectSchema,
    /** For access lists: any of these options set satisfies the check. */
    any_of: z.array(z.string()).optional(),
  }),
  /** A PAM module in a service's stack (includes followed), optionally one of its arguments. */
  z.strictObject({
    type: z.literal('pam'),
    /** Services by family: the first that exists is read. */
    services: z.array(z.string()).min(1),
    module_type: z.enum(['auth', 'account', 'password', 'session']),
    module: z.string().min(1),
    expect: z.enum(['present', 'absent']).default(EVALUATOR_DEFAULTS.pam.expect),
    /** An argument of the module: `name` (flag) or `name=value` checked against arg_expect. */
    arg: z.string().optional(),
    arg_expect: ExpectSchema.optional(),
    /** The argument must not appear on any line of the module. */
    arg_absent: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('package'),
    names: z.array(z.string()).min(1),
    expect: z.enum(['installed', 'absent']),
  }),
  /** systemd units as `systemctl is-enabled` judges them offline. */
  z.strictObject({
    type: z.literal('unit'),
    units: z.array(z.string()).min(1),
    /** enabled: at least one is enabled; not_enabled: none is. */
    expect: z.enum(['enabled', 'not_enabled']),
  }),
  /** An fstab mount point (or a .mount unit) and its options. */
  z.strictObject({
    type: z.literal('mount'),
    path: z.string().startsWith('/'),
    expect: z.enum(['separate', 'option']),
    option: z.string().optional(),
  }),
  /** A kernel module that modprobe cannot load (`install M /bin/false`) or that is not shipped. */
  z.strictObject({
    type: z.literal('kernel_module'),
    module: z.string().min(1),
  }),
  /** A rule in the audit rules loaded at boot (rules.d as augenrules merges it, else audit.rules). */
  z.strictObject({
    type: z.literal('audit_rule'),
    watch: z.strictObject({ path: z.string(), perms: z.string() }).optional(),
    syscalls: z.strictObject({ names: z.array(z.string()).min(1), arches: z.array(z.enum(['b64', 'b32'])).min(1) }).optional(),
    exec: z.string().optional(),
    immutable: z.boolean().optional(),
    requires_package: z.array(z.string()).optional(),
  }),
  /** A property of the local accounts (passwd, shadow, group). */
  z.strictObject({
    type: z.literal('account'),
    property: z.enum([
      'no_empty_password',
      'only_root_uid0',
      'root_gid0',
      'only_root_gid0_group',
      'unique_uids',
      'unique_gids',
      'unique_user_names',
      'unique_group_names',
      'passwd_gids_exist',
      'shadow_group_empty',
      'all_shadowed',
      'system_accounts_nologin',
    ]),
  }),
  /** sudoers and its includes. */
  z.strictObject({
    type: z.literal('sudoers'),
    rule: z.enum(['no_nopasswd', 'no_authenticate_off', 'use_pty', 'logfile', 'timestamp_timeout']),
    requires_package: z.array(z.string()).optional(),
  }),
  /** A kernel command line argument in every boot entry of grub.cfg (else /etc/default/grub). */
  z.strictObject({
    type: z.literal('kernel_cmdline'),
    arg: z.string().min(1),
    expect: ExpectSchema,
  }),
  /** pam_limits: a `<domain> <type> <item> <value>` line in limits.conf / limits.d (the last one wins). */
  z.strictObject({
    type: z.literal('limits'),
    domain: z.string().min(1),
    item: z.string().min(1),
    limit_type: z.enum(['hard', 'soft']),
    expect: ExpectSchema,
  }),
  /** fstab names swap space. */
  z.strictObject({ type: z.literal('swap') }),
  /** The boot loader config asks for a password (superusers + password/password_pbkdf2). */
  z.strictObject({ type: z.literal('grub_password') }),
  /** A service line in /etc/inetd.conf not commented out. */
  z.strictObject({ type: z.literal('inetd_service'), services: z.array(z.string()).min(1) }),
  /** A host firewall that starts at boot (nftables, ufw, firewalld, iptables-persistent). */
  z.strictObject({ type: z.literal('firewall') }),
  /** A registry value; sources are tried in order (policy before local setting), the first present wins. */
  z.strictObject({
    type: z.literal('registry'),
    hive: z.enum(['SOFTWARE', 'SYSTEM']),
    /** Key paths relative to the hive root; CurrentControlSet is resolved through Select\Current. */
    sources: z.array(z.strictObject({ key: z.string().min(1), value: z.string() })).min(1),
    expect: ExpectSchema,
    /** Windows' behaviour when no source sets the value. */
    default: z.union([z.string(), z.number()]).optional(),
  }),
  /** Registry keys present or absent (pending reboot markers, guest tools services). */
  z.strictObject({
    type: z.literal('registry_key'),
    hive: z.enum(['SOFTWARE', 'SYSTEM']),
    keys: z.array(z.string().min(1)).min(1),
    /** absent: none exists; present: at least one exists. */
    expect: z.enum(['present', 'absent']),
    /** A value that must exist in the key for it to count (PendingFileRenameOperations). */
    value: z.string().optional(),
  }),
  /** The local account policy in SAM\Domains\Account\F. */
  z.strictObject({
    type: z.literal('sam_policy'),
    field: z.enum(['min_password_length', 'password_history', 'lockout_threshold', 'complexity', 'max_password_age_days', 'min_password_age_days']),
    expect: ExpectSchema,
  }),
  /** A built-in account (by RID) disabled in SAM. */
  z.strictObject({ type: z.literal('sam_account_disabled'), rid: z.number().int().positive() }),
]);

export const CheckSchema = z.strictObject({
  /** Stable: never reused for another meaning. */
  id: z.string().regex(/^(linux|windows)\.[a-z0-9_]+\.[a-z0-9_]+$/),
  title: z.string().min(1),
  severity: z.enum(SEVERITIES),
  rationale: z.string().min(1),
  remediation: z.string().min(1),
  families: z.array(z.enum(FAMILIES)).min(1),
  profiles: z.array(z.enum(PROFILES)).min(1),
  /** ComplianceAsCode rule ids this check implements; CIS references are derived from them. */
  cac: z.array(z.string()).optional(),
  references: z.array(z.string()).optional(),
  evaluator: EvaluatorSchema,
});

/** Validates entries as the catalogue's build-time check does: throws naming the bad or duplicate entry. */
export function validateCatalogue(inputs: unknown[]): z.output<typeof CheckSchema>[] {
  const ids = new Set<string>();
  return inputs.map((raw) => {
    const parsed = CheckSchema.safeParse(raw);
    if (!parsed.success) {
      const id = (raw as { id?: string })?.id ?? '?';
      throw new Error(`check ${id}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    if (ids.has(parsed.data.id)) throw new Error(`check ${parsed.data.id} defined twice`);
    ids.add(parsed.data.id);
    return parsed.data;
  });
}
