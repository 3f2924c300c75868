import type { Evidence, Severity } from '../types.js';

/**
 * Where the guest is moving: every one runs it under QEMU/KVM with virtio devices. The same list
 * as the guestkit.profile.v1 payload's (test/profile/catalogue.test.ts); kept here so that a
 * profile run does not load the payload schemas (zod).
 */
export const MIGRATION_TARGETS = ['kvm', 'kubevirt', 'openstack'] as const;
export type MigrationTarget = (typeof MIGRATION_TARGETS)[number];

/**
 * One readiness finding. `blocker`: the guest will not boot (or not be reachable) on the
 * target as it is; `warning`: it boots, but something must change; `ok`: checked and ready;
 * `unknown`: the facts needed could not be read (never counted as ready).
 */
export interface MigrationItem {
  id: string;
  title: string;
  level: 'blocker' | 'warning' | 'ok' | 'unknown';
  severity: Severity;
  message: string;
  evidence: Evidence[];
  /** The change that clears it, and whether it is made before the move (in the source VM) or after. */
  change?: { step: string; when: 'before' | 'after' };
}

export interface MigrationReadiness {
  target: MigrationTarget;
  /** No blocker: the guest should boot on the target as it is. */
  bootable: boolean;
  /** 100 with nothing to change; each blocker costs 30 and each warning 5 (never below 0). */
  score: number;
  blockers: string[];
  warnings: string[];
  /** The changes to make, in order: before the move first (drivers, then names), then after. */
  changes: { order: number; when: 'before' | 'after'; step: string; fixes: string }[];
}

/** Changes before the move come first; among them driver work precedes naming and config fixes. */
const ORDER = ['migration.pending_reboot', 'migration.bitlocker', 'migration.virtio_storage', 'migration.virtio_network', 'migration.fstab_device_names', 'migration.bootloader_root', 'migration.network_mac', 'migration.network_vmware_names', 'migration.cloud_init', 'migration.hypervisor_tools', 'migration.guest_agent'];

export function readiness(target: MigrationTarget, items: MigrationItem[]): MigrationReadiness {
  const blockers = items.filter((i) => i.level === 'blocker');
  const warnings = items.filter((i) => i.level === 'warning');
  const rank = (i: MigrationItem) => {
    const k = ORDER.indexOf(i.id);
    return (i.change?.when === 'after' ? 1000 : 0) + (k < 0 ? ORDER.length : k);
  };
  const todo = [...blockers, ...warnings].filter((i) => i.change).sort((a, b) => rank(a) - rank(b));
  return {
    target,
    bootable: blockers.length === 0,
    score: Math.max(0, 100 - 30 * blockers.length - 5 * warnings.length),
    blockers: blockers.map((i) => i.id),
    warnings: warnings.map((i) => i.id),
    changes: todo.map((i, k) => ({ order: k + 1, when: i.change!.when, step: i.change!.step, fixes: i.id })),
  };
}
