/** What `compare()` returns: the differences between two guests, baseline → target. */

export interface FieldChange {
  field: string;
  baseline: unknown;
  target: unknown;
}

export interface SideSummary {
  path: string;
  /** An image inspected now, or a saved inspection document. */
  source: 'image' | 'inspection';
  distro?: string;
  version?: string;
  product_name?: string;
  pretty_name?: string;
  hostname?: string;
  arch?: string;
  /** The root device of the OS compared (the first one found). */
  root?: string;
}

export interface PackageRef {
  name: string;
  arch: string;
  version: string;
}

export interface PackageChange {
  name: string;
  arch: string;
  baseline_version: string;
  target_version: string;
  /** From the package manager's own version order; `changed` when it cannot be told. */
  direction: 'upgrade' | 'downgrade' | 'changed';
}

export interface PackageDiff {
  added: PackageRef[];
  removed: PackageRef[];
  changed: PackageChange[];
  unchanged: number;
}

export interface ServiceRef {
  name: string;
  kind: string;
  /** systemd: the targets that want it; Windows: the start type. */
  enabled_in?: string[];
  start?: string;
  alias_of?: string;
}

export interface ServiceDiff {
  /** Enabled (started at boot) in the target, not in the baseline. */
  enabled: ServiceRef[];
  /** Enabled in the baseline, not in the target. */
  disabled: ServiceRef[];
  /** Enabled in both, differently (other targets, another start type). */
  changed: { name: string; changes: FieldChange[] }[];
}

export interface AccountDiff<T> {
  added: T[];
  removed: T[];
  changed: { name: string; changes: FieldChange[] }[];
}

export interface UserRef {
  name: string;
  uid: number;
  gid: number;
  shell: string;
  home: string;
  login_allowed: boolean;
  password: string;
  groups: string[];
}

export interface GroupRef {
  name: string;
  gid: number;
  members: string[];
}

export interface FileState {
  type: string;
  size?: number;
  mode?: string;
  uid?: number;
  gid?: number;
  sha256?: string;
  /** Symbolic links: the target as stored. */
  link_target?: string;
  mtime?: string;
}

export interface FileChange {
  path: string;
  /** What differs: content, type, link_target, mode, owner, mtime (only when timestamps count). */
  changes: string[];
  baseline: FileState;
  target: FileState;
  /** Unified diff of small text files. */
  diff?: string;
  /** Why no diff is shown for a changed file: binary, too_large, sensitive. */
  diff_omitted?: 'binary' | 'too_large' | 'sensitive';
}

export interface FileDiff {
  /** The guest folders compared. */
  roots: string[];
  /** Entries looked at on both sides together. */
  entries_compared: number;
  added: { path: string; state: FileState }[];
  removed: { path: string; state: FileState }[];
  modified: FileChange[];
  /** Entries that could not be read (corrupt inode, over the size limit…), with why. */
  unreadable: { path: string; side: 'baseline' | 'target'; reason: string }[];
  /** Set when the comparison stopped at the entry limit. */
  truncated?: boolean;
}

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface Recommendation {
  id: string;
  severity: Severity;
  /** The difference it is about (`package:openssl`, `user:carol`, `file:/etc/ssh/sshd_config`). */
  subject: string;
  message: string;
}

export interface CompareReport {
  baseline: SideSummary;
  target: SideSummary;
  /** OS identity drift (distro, version, architecture, kernels, hostname). */
  os: { changes: FieldChange[]; kernels_added: string[]; kernels_removed: string[] };
  packages?: PackageDiff;
  services?: ServiceDiff;
  users?: AccountDiff<UserRef>;
  groups?: AccountDiff<GroupRef>;
  files?: FileDiff;
  recommendations?: Recommendation[];
  summary: {
    identical: boolean;
    os_changes: number;
    packages_added: number;
    packages_removed: number;
    packages_changed: number;
    services_enabled: number;
    services_disabled: number;
    services_changed: number;
    users_added: number;
    users_removed: number;
    users_changed: number;
    groups_added: number;
    groups_removed: number;
    groups_changed: number;
    files_added: number;
    files_removed: number;
    files_modified: number;
  };
  /** Parts that could not be compared, and why (a saved inspection without packages, …). */
  warnings: string[];
}
