import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { inspect, requireOs } from '../../inspect/index.js';
import { GuestkitError } from '../../protocol/errors.js';
import { InspectPayloadSchema } from '../../protocol/payloads/inspect.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
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
    outputs(d) {
      const dest = d.output?.destination;
      return typeof dest === 'string' && dest !== '' ? [{ field: 'output.destination', path: dest }] : [];
    },
    async run(ctx, d) {
      const result = requireOs(
        await inspect({
          disks: [ctx.resolvedImages[0] ?? d.image.path],
          format: d.image.format,
          options: d.options ?? {},
          // backing files / extents / parents the image names obey the same roots as the image
          allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined,
          onStage: (stage) => ctx.progress({ phase: stage, message: stage.replace(/_/g, ' ') }),
        }),
      );
      const out: { primary?: string } = {};
      const dest = d.output?.destination;
      if (dest) {
        ctx.progress({ phase: 'result_generation', message: `writing ${dest}` });
        const text = d.output?.format === 'yaml' ? toYaml(result) : JSON.stringify(result, null, 2) + '\n';
        try {
          mkdirSync(dirname(dest), { recursive: true });
          writeFileAtomic(dest, text);
        } catch (err) {
          throw new GuestkitError('EXECUTION_ERROR', `cannot write output.destination ${dest}: ${(err as Error).message}`, { phase: 'result_generation', recoverable: false, retryRecommended: false });
        }
        out.primary = dest;
      }
      return { data: result, outputs: out, metrics: { disk_read_bytes: result.stats.bytes_read } };
    },
  });
}
