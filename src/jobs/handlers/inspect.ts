import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { budgetFromEnv, capBudget, inspect, isCollectorBug, requireOs } from '../../inspect/index.js';
import { InspectPayloadSchema } from '../../protocol/payloads/inspect.js';
import { sbomFormatOfOutput, toSbom } from '../../sbom/index.js';
import { defaultAdvisoryDbPath } from '../../vulns/db.js';
import { scanInspection } from '../../vulns/scan.js';
import { outputTargets, writeOutput } from './output.js';
import { defineHandler, type HandlerDefinition } from '../types.js';

/**
 * guestkit.inspect: the inspection engine over one image, in a pool thread (it parses
 * untrusted images: a timeout or memory cap must be able to stop it).
 */
export function inspectHandler(): HandlerDefinition {
  const filesystems = supportedFilesystems();
  return defineHandler(InspectPayloadSchema, {
    operation: 'guestkit.inspect',
    isolation: 'thread',
    features: filesystems,
    filesystems,
    diskFormats: FORMATS.map((f) => f.name),
    images: (d) => [{ field: 'image.path', path: d.image.path, checksum: d.image.checksum ?? null }],
    outputs: outputTargets,
    async run(ctx, d) {
      // the job's budget, never above the worker's ceilings (GUESTKIT_INSPECT_MAX_*, else the defaults)
      const budget = capBudget(d.options.budget, budgetFromEnv());
      let result;
      try {
        result = requireOs(
          await inspect({
            disks: [ctx.resolvedImages[0] ?? d.image.path],
            format: d.image.format,
            options: { ...(d.options ?? {}), budget },
            // backing files / extents / parents the image names obey the same roots as the image
            allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined,
            onStage: (stage) => ctx.progress({ phase: stage, message: stage.replace(/_/g, ' ') }),
          }),
        );
      } catch (err) {
        // a bug in a collector: its stack goes to the job's event log (and stays in the error's details)
        if (isCollectorBug(err)) ctx.progress({ phase: 'execution', message: err.message, details: { collector: err.collector, stack: String(err.details?.stack ?? '') } });
        throw err;
      }
      // output.format cyclonedx/spdx: the file holds the SBOM; the job's result stays the inspection.
      const sbom = sbomFormatOfOutput(d.output?.format);
      // the advisory database is the worker's ($GUESTKIT_ADVISORY_DB or its data dir): a job names no files to open
      const data = d.options.include_vulnerabilities ? { ...result, vulnerabilities: scanInspection(result, { dbPath: defaultAdvisoryDbPath() }) } : result;
      const out = writeOutput(ctx, d, sbom ? toSbom(result, sbom) : data);
      return { data, outputs: out, metrics: { disk_read_bytes: result.stats.bytes_read } };
    },
  });
}
