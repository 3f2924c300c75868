import { z } from 'zod';
import { ImageRefSchema, OUTPUT_FORMATS } from './image.js';

export const PROFILE_KINDS = ['security', 'compliance', 'hardening', 'performance', 'migration'] as const;
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
/** Platforms the migration profile judges readiness for (all QEMU/KVM with virtio devices). */
export const MIGRATION_TARGETS = ['kvm', 'kubevirt', 'openstack'] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];
export type Severity = (typeof SEVERITIES)[number];

/** guestkit.profile.v1 */
export const ProfilePayloadSchema = z.looseObject({
  image: ImageRefSchema,
  profiles: z.array(z.enum(PROFILE_KINDS)).min(1),
  options: z
    .looseObject({
      severity_threshold: z.enum(SEVERITIES).nullish(),
      fail_on_critical: z.boolean().nullish(),
      /** The migration profile's platform. */
      target: z.enum(MIGRATION_TARGETS).nullish(),
    })
    .nullish(),
  output: z
    .looseObject({
      format: z.enum(OUTPUT_FORMATS),
      destination: z.string().min(1),
      include_remediation: z.boolean().nullish(),
    })
    .nullish(),
});
export type ProfilePayload = z.output<typeof ProfilePayloadSchema>;
