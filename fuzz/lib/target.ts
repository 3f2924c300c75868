import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One parser entry point under fuzzing. */
export interface FuzzTarget {
  /** One line for `npm run fuzz -- --list`. */
  describe: string;
  /**
   * Feeds one input to the parser. Typed errors (GuestkitError, FsError) are the parser
   * doing its job and are swallowed; anything else escaping is a finding.
   */
  run(data: Buffer): Promise<void>;
  /** The seed corpus: inputs made from the real fixtures (test/fixtures/out, made by the real tools). */
  seeds(): Promise<Buffer[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const targetsDir = join(here, '..', 'targets');
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Every target: one module per file under fuzz/targets, named as the file. */
export function targetNames(): string[] {
  return readdirSync(targetsDir)
    .filter((f) => f.endsWith(ext) && !f.endsWith(`.d${ext}`))
    .map((f) => f.slice(0, -ext.length))
    .sort();
}

export async function loadTarget(name: string): Promise<FuzzTarget> {
  if (!targetNames().includes(name)) throw new Error(`no fuzz target '${name}' (targets: ${targetNames().join(', ')})`);
  const mod = (await import(join(targetsDir, name + ext))) as { default: FuzzTarget };
  return mod.default;
}
