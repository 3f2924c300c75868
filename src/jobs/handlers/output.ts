import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { GuestkitError } from '../../protocol/errors.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { HandlerContext, ImageRef } from '../types.js';

type OutputBlock = { output?: { destination?: string | null; format?: string | null } | null };

/** The `outputs()` hook of a handler whose payload may name `output.destination`. */
export function outputTargets(d: OutputBlock): ImageRef[] {
  const dest = d.output?.destination;
  return typeof dest === 'string' && dest !== '' ? [{ field: 'output.destination', path: dest }] : [];
}

/** Writes the document to `output.destination` (JSON or YAML, atomically) when the payload names one. */
export function writeOutput(ctx: Pick<HandlerContext, 'progress'>, d: OutputBlock, doc: unknown): { primary?: string } {
  const dest = d.output?.destination;
  if (!dest) return {};
  ctx.progress({ phase: 'result_generation', message: `writing ${dest}` });
  const text = d.output?.format === 'yaml' ? toYaml(doc) : JSON.stringify(doc, null, 2) + '\n';
  try {
    mkdirSync(dirname(dest), { recursive: true });
    writeFileAtomic(dest, text);
  } catch (err) {
    throw new GuestkitError('EXECUTION_ERROR', `cannot write output.destination ${dest}: ${(err as Error).message}`, { phase: 'result_generation', recoverable: false, retryRecommended: false });
  }
  return { primary: dest };
}
