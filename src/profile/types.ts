import type { z } from 'zod';
import type { MigrationReadiness } from './migration/types.js';
import type { CheckSchema, EvaluatorSchema, ExpectSchema } from './schema.js';

// The catalogue's types come from its schema (schema.ts) as types only: nothing here loads zod.

/** Severities, lowest first (the same list as the guestkit.profile.v1 payload's, test/profile/catalogue.test.ts). */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Profiles this build evaluates; `migration` judges readiness for a target (kvm, kubevirt, openstack). */
export const PROFILES = ['security', 'compliance', 'hardening', 'performance', 'migration'] as const;
export type ProfileName = (typeof PROFILES)[number];

/**
 * OS families a check applies to. `linux` is every Linux guest; `debian` (Debian, Ubuntu and
 * derivatives) and `rhel` (RHEL, CentOS, Rocky, Alma, Oracle, Fedora, Amazon) narrow it.
 */
export const FAMILIES = ['linux', 'debian', 'rhel', 'suse', 'windows'] as const;
export type Family = (typeof FAMILIES)[number];

export const STATUSES = ['pass', 'fail', 'not_applicable', 'error'] as const;
export type Status = (typeof STATUSES)[number];

/**
 * What an evaluator field left out means. The schema declares these as its defaults and the
 * catalogue fills them in at run time (catalogue.ts) without the schema.
 */
export const EVALUATOR_DEFAULTS = {
  file_mode: { missing: 'not_applicable' },
  file_tree: { max_depth: 8 },
  file_text: { missing: 'not_applicable' },
  key_value: { missing_file: 'fail' },
  pam: { expect: 'present' },
} as const;

export type Expect = z.infer<typeof ExpectSchema>;
export type Evaluator = z.infer<typeof EvaluatorSchema>;
export type EvaluatorInput = z.input<typeof EvaluatorSchema>;
export type Check = z.infer<typeof CheckSchema>;
export type CheckInput = z.input<typeof CheckSchema>;

/** Where a verdict came from. */
export interface Evidence {
  file?: string;
  line?: number;
  /** What was read (the value, or what was found instead of it). */
  value?: string;
  expected?: string;
  note?: string;
}

export interface Verdict {
  status: Status;
  message: string;
  evidence: Evidence[];
}

export interface CisReference {
  benchmark: string;
  id: string;
  level: 1 | 2;
}

export interface CheckResult {
  id: string;
  title: string;
  severity: Severity;
  profiles: ProfileName[];
  status: Status;
  message: string;
  evidence: Evidence[];
  references: { cis: CisReference[]; other?: string[] };
  rationale?: string;
  remediation?: string;
}

export interface Score {
  score: number | null;
  pass: number;
  fail: number;
  not_applicable: number;
  error: number;
}

export interface GuestReport {
  root: string;
  os: { type: 'linux' | 'windows'; distro: string; version: string; pretty_name?: string; family: Family[] };
  /** The CIS benchmark the compliance score follows. */
  benchmark?: { id: string; title: string; exact: boolean };
  summary: { checks: number; pass: number; fail: number; not_applicable: number; error: number; failed_by_severity: Record<Severity, number> };
  scores: Partial<Record<ProfileName, Score>> & { cis_level1?: Score; cis_level2?: Score };
  results: CheckResult[];
  /** With the migration profile: bootability on the target, blockers, warnings and the ordered changes. */
  migration?: MigrationReadiness;
  warnings: string[];
}

export interface ProfileReport {
  kind: 'guestkit.profile.report';
  version: 1;
  generated_at: string;
  image: string[];
  profiles: ProfileName[];
  options: { severity_threshold: Severity; include_remediation: boolean; target?: MigrationReadiness['target'] };
  catalogue: { linux: number; windows: number; source: string };
  guests: GuestReport[];
  stats: { bytes_read: number; total_ms: number };
}
