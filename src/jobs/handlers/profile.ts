import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { criticalFailures, runProfile, type ProfileName, type ProfileReport } from '../../profile/index.js';
import { GuestkitError } from '../../protocol/errors.js';
import { ProfilePayloadSchema } from '../../protocol/payloads/profile.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { defineHandler, type HandlerDefinition } from '../types.js';

function writeReport(dest: string, format: 'json' | 'yaml', report: ProfileReport): void {
  const text = format === 'yaml' ? toYaml(report) : JSON.stringify(report, null, 2) + '\n';
  try {
    mkdirSync(dirname(dest), { recursive: true });
    writeFileAtomic(dest, text);
  } catch (err) {
    throw new GuestkitError('EXECUTION_ERROR', `cannot write output.destination ${dest}: ${(err as Error).message}`, { phase: 'result_generation', recoverable: false, retryRecommended: false });
  }
}

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
    outputs(d) {
      const dest = d.output?.destination;
      return typeof dest === 'string' && dest !== '' ? [{ field: 'output.destination', path: dest }] : [];
    },
    async run(ctx, d) {
      if (d.profiles.includes('migration')) {
        throw new GuestkitError('UNSUPPORTED_OPERATION', 'profile "migration" (migration readiness) is not available in this build; security, compliance, hardening and performance are', {
          phase: 'validation',
          details: { supported: ['security', 'compliance', 'hardening', 'performance'] },
        });
      }
      const report = await runProfile({
        disks: [ctx.resolvedImages[0] ?? d.image.path],
        format: d.image.format,
        profiles: [...new Set(d.profiles)] as ProfileName[],
        severity_threshold: d.options?.severity_threshold ?? 'info',
        include_remediation: d.output?.include_remediation ?? true,
        allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined,
        onStage: (stage) => ctx.progress({ phase: stage, message: stage.replace(/_/g, ' ') }),
      });
      const out: { primary?: string } = {};
      const dest = d.output?.destination;
      if (dest) {
        ctx.progress({ phase: 'result_generation', message: `writing ${dest}` });
        writeReport(dest, d.output!.format, report);
        out.primary = dest;
      }
      const critical = criticalFailures(report);
      if (d.options?.fail_on_critical && critical.length > 0) {
        throw new GuestkitError('EXECUTION_ERROR', `${critical.length} critical check(s) failed: ${critical.map((c) => c.id).join(', ')}`, {
          phase: 'security_scan',
          recoverable: false,
          retryRecommended: false,
          details: { failed_critical: critical.map((c) => c.id), report, ...(dest ? { report_path: dest } : {}) },
        });
      }
      return { data: report, outputs: out, metrics: { disk_read_bytes: report.stats.bytes_read } };
    },
  });
}
