/**
 * What Jazzer.js loads: `fuzz(data)` runs the target GUESTKIT_FUZZ_TARGET names (scripts/fuzz.mjs sets it).
 */
import { loadTarget } from './lib/target.js';

const name = process.env.GUESTKIT_FUZZ_TARGET;
if (!name) throw new Error('GUESTKIT_FUZZ_TARGET names no target (run: npm run fuzz -- --target NAME)');
const target = await loadTarget(name);

export function fuzz(data: Buffer): Promise<void> {
  return target.run(data);
}
