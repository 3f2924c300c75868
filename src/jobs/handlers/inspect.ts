import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { inspect, requireOs } from '../../inspect/index.js';
import { GuestkitError } from '../../protocol/errors.js';
import type { InspectPayload } from '../../protocol/payloads/inspect.js';
import type { HandlerDefinition } from '../types.js';

/**
 * guestkit.inspect: the inspection engine over one image, in a pool thread (it parses
 * untrusted images: a timeout or memory cap must be able to stop it).
 */
export function inspectHandler(): HandlerDefinition {
  const filesystems = supportedFilesystems();
  return {
    operation: 'guestkit.inspect',
    isolation: 'thread',
    features: filesystems,
    filesystems,
    diskFormats: FORMATS.map((f) => f.name),
    images(data) {
      const d = data as Partial<InspectPayload> | undefined;
      const img = d?.image;
      return img && typeof img.path === 'string' ? [{ field: 'image.path', path: img.path, checksum: img.checksum ?? null }] : [];
    },
    outputs(data) {
      const dest = (data as Partial<InspectPayload> | undefined)?.output?.destination;
      return typeof dest === 'string' && dest !== '' ? [{ field: 'output.destination', path: dest }] : [];
    },
    async run(ctx, data) {
      const d = data as InspectPayload;
      const result = requireOs(
        await inspect({
          disks: [ctx.resolvedImages[0] ?? d.image.path],
          format: d.image.format as never,
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
          const tmp = `${dest}.${process.pid}.tmp`;
          writeFileSync(tmp, text);
          renameSync(tmp, dest);
        } catch (err) {
          throw new GuestkitError('EXECUTION_ERROR', `cannot write output.destination ${dest}: ${(err as Error).message}`, { phase: 'result_generation', recoverable: false, retryRecommended: false });
        }
        out.primary = dest;
      }
      return { data: result, outputs: out, metrics: { disk_read_bytes: result.stats.bytes_read } };
    },
  };
}
