import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './cli.js';

/**
 * The dashboard in dist/web for a browser test. Compiled tests (npm test) run after `npm run build`,
 * which built it: rebuilding there would swap dist/web under another test's running server. Tests
 * run from TypeScript (tsx) build it, since the sources may have changed.
 */
export function ensureWebBuild(): void {
  const root = repoRoot();
  const compiled = fileURLToPath(import.meta.url).includes(join('dist', 'test'));
  if (compiled && existsSync(join(root, 'dist', 'web', 'index.html'))) return;
  execFileSync(process.execPath, [join(root, 'scripts', 'build-web.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
}
