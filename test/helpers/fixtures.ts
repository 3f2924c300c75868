import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, whether running from src (tsx) or dist (compiled). */
export const REPO = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();

/** A built fixture; a missing one fails the test (the suite builds them first). */
export function fixture(...parts: string[]): string {
  const p = join(REPO, 'test', 'fixtures', 'out', ...parts);
  if (!existsSync(p)) throw new Error(`fixture missing: ${p} (run: bash test/fixtures/build-all.sh)`);
  return p;
}
