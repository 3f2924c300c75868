import { compare } from '../../compare/index.js';
import { FORMATS } from '../../disk/formats.js';
import { supportedFilesystems } from '../../fs/open.js';
import { GuestkitError } from '../../protocol/errors.js';
import { ComparePayloadSchema } from '../../protocol/payloads/compare.js';
import { outputTargets, writeOutput } from './output.js';
import { defineHandler, type HandlerDefinition } from '../types.js';

/** `options.paths`: guest folders compared beside /etc (an extension field; the schema keeps unknown keys). */
function extraPaths(options: unknown): string[] {
  const p = (options as { paths?: unknown } | null | undefined)?.paths;
  if (p === undefined || p === null) return [];
  if (!Array.isArray(p) || !p.every((x) => typeof x === 'string' && x.startsWith('/') && !x.split('/').includes('..'))) {
    throw new GuestkitError('VALIDATION_ERROR', 'payload.data.options.paths: must be a list of absolute guest paths without ".."', { phase: 'validation' });
  }
  return p as string[];
}

/**
 * guestkit.compare: two guests (images, or saved inspection documents) compared, in a pool
 * thread (it parses untrusted images). compare_config compares /etc; compare_files the
 * `options.paths` given, or /etc when there are none.
 */
export function compareHandler(): HandlerDefinition {
  const filesystems = supportedFilesystems();
  return defineHandler(ComparePayloadSchema, {
    operation: 'guestkit.compare',
    isolation: 'thread',
    features: filesystems,
    filesystems,
    diskFormats: FORMATS.map((f) => f.name),
    images: (d) => [
      { field: 'baseline.path', path: d.baseline.path, checksum: d.baseline.checksum ?? null },
      { field: 'target.path', path: d.target.path, checksum: d.target.checksum ?? null },
    ],
    outputs: outputTargets,
    async run(ctx, d) {
      const o = d.options ?? {};
      const extra = extraPaths(o);
      const paths = [...(o.compare_config || (o.compare_files && extra.length === 0) ? ['/etc'] : []), ...(o.compare_files || o.compare_config ? extra : [])];
      const report = await compare({
        baseline: { path: ctx.resolvedImages[0] ?? d.baseline.path, format: d.baseline.format },
        target: { path: ctx.resolvedImages[1] ?? d.target.path, format: d.target.format },
        packages: o.compare_packages !== false,
        paths,
        timestamps: o.ignore_timestamps === false,
        recommendations: d.output?.include_recommendations === true,
        allowedRoots: ctx.allowedRoots.length > 0 ? ctx.allowedRoots : undefined,
        onStage: (phase, message) => ctx.progress({ phase, message }),
        signal: ctx.signal,
      });
      const out = writeOutput(ctx, d, report);
      return { data: report, outputs: out };
    },
  });
}
