import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { criticalFailures, runProfile, type ProfileName } from '../../profile/index.js';
import { GuestkitError } from '../../protocol/errors.js';
import { ProfilePayloadSchema } from '../../protocol/payloads/profile.js';
import { outputTargets, writeOutput } from './output.js';
import { defineHandler, type HandlerDefinition } from '../types.js';


/**
 * guestkit.profile: the check catalogue over one image, in a pool thread (it parses untrusted
 * images). fail_on_critical fails the job (EXECUTION_ERROR) with the report in error.details.
 */
export function profileHandler(): HandlerDefinition {
  const filesystems = supportedFilesystems();
  return defineHandler(ProfilePayloadSchema, {
    operation: 'guestkit.profile',
    isolation: 'thread',
    features: filesystems,
    filesystems,
    diskFormats: FORMATS.map((f) => f.name),
    images: (d) => [{ field: 'image.path', path: d.image.path, checksum: d.image.checksum ?? null }],
    outputs: outputTargets,
    async run(ctx, d) {
      const report = await runProfile({
        disks: [ctx.resolvedImages[0] ?? d.image.path],
        format: d.image.format,
        profiles: [...new Set(d.profiles)] as ProfileName[],
        severity_threshold: d.options?.severity_threshold ?? 'info',
        include_remediation: d.output?.include_remediation ?? true,
        target: d.options?.target ?? 'kvm',
        allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined,
        onStage: (stage) => ctx.progress({ phase: stage, message: stage.replace(/_/g, ' ') }),
      });
      const out = writeOutput(ctx, d, report);
      const critical = criticalFailures(report);
      if (d.options?.fail_on_critical && critical.length > 0) {
        throw new GuestkitError('EXECUTION_ERROR', `${critical.length} critical check(s) failed: ${critical.map((c) => c.id).join(', ')}`, {
          phase: 'security_scan',
          recoverable: false,
          retryRecommended: false,
          details: { failed_critical: critical.map((c) => c.id), report, ...(out.primary ? { report_path: out.primary } : {}) },
        });
      }
      return { data: report, outputs: out, metrics: { disk_read_bytes: report.stats.bytes_read } };
    },
  });
}
