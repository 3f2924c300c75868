import type { AssembledRoot } from '../../inspect/guest.js';
import type { GuestDevice } from '../../inspect/devices.js';
import { GuestView } from '../../inspect/guest-view.js';
import { inspectLinux } from '../../inspect/linux/index.js';
import { DEFAULT_INSPECT_OPTIONS, type OperatingSystem } from '../../inspect/types.js';
import { inspectWindows } from '../../inspect/windows/index.js';
import type { CheckResult, Severity } from '../types.js';
import { linuxMigration } from './linux.js';
import { readiness, type MigrationItem, type MigrationReadiness, type MigrationTarget } from './types.js';
import { windowsMigration } from './windows.js';

export { MIGRATION_TARGETS, readiness, type MigrationItem, type MigrationReadiness, type MigrationTarget } from './types.js';
export { listInitramfs, type InitramfsListing } from './initramfs.js';

const direct = <T>(_stage: string, fn: () => Promise<T>) => fn();

/**
 * The inspection the migration profile judges from (kernels, boot entries, network, drivers,
 * packages). Started by the profile run before its checks, which then take the installed packages
 * from it instead of reading the package database again.
 */
export function inspectForMigration(a: AssembledRoot, devices: GuestDevice[]): Promise<OperatingSystem> {
  return a.root.role === 'windows-root' ? inspectWindows(a, DEFAULT_INSPECT_OPTIONS, direct, devices) : inspectLinux(a, DEFAULT_INSPECT_OPTIONS, direct);
}

/** Migration readiness of one OS root for `target`, judged from its inspection (inspected here when not given). */
export async function migrationOf(
  a: AssembledRoot,
  devices: GuestDevice[],
  target: MigrationTarget,
  warnings: string[],
  inspected: Promise<OperatingSystem> = inspectForMigration(a, devices),
): Promise<{ readiness: MigrationReadiness; results: CheckResult[] }> {
  const os = await inspected;
  const items: MigrationItem[] = a.root.role === 'windows-root' ? windowsMigration(os, devices, target) : await linuxMigration(os, new GuestView(a.vfs, warnings), target);
  return { readiness: readiness(target, items), results: items.map(toResult) };
}

const STATUS = { blocker: 'fail', warning: 'fail', ok: 'pass', unknown: 'error' } as const;

function toResult(i: MigrationItem): CheckResult {
  return {
    id: i.id,
    title: i.title,
    // a warning is never reported above high: only blockers are critical
    severity: i.level === 'warning' && i.severity === 'critical' ? ('high' as Severity) : i.severity,
    profiles: ['migration'],
    status: STATUS[i.level],
    message: i.message,
    evidence: i.evidence,
    references: { cis: [] },
    ...(i.change ? { remediation: `${i.change.when === 'before' ? 'Before the move' : 'After the move'}: ${i.change.step}` } : {}),
  };
}
