import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';

// A cold `guestkit profile` pays for every module its bundle holds. The check catalogue is
// validated at build time (catalogue.test.ts) and the payload schemas belong to the job path, so
// the profile bundle must hold no zod (it was a third of the bundle and 30 ms of each start).
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gk-profile-bundle-'));
  // --readable keeps esbuild's `// path/of/module` line before each bundled module
  execFileSync(process.execPath, [join(repoRoot(), 'scripts', 'build-cli.mjs'), '--readable', '--outdir', dir], { stdio: 'inherit' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const modules = (bundle: string) => [...readFileSync(join(dir, bundle), 'utf8').matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!);

test('the profile CLI bundle holds the profile modules and no zod', () => {
  const mods = modules('profile.cjs');
  assert.ok(mods.some((m) => m.endsWith('src/profile/catalogue.ts')), 'the catalogue is bundled');
  assert.ok(mods.some((m) => m.endsWith('src/profile/checks/linux.ts')), 'the checks are bundled');
  assert.deepEqual(mods.filter((m) => /node_modules\/zod\//.test(m)), []);
  assert.deepEqual(mods.filter((m) => /src\/profile\/schema\.ts$|src\/protocol\/payloads\/profile\.ts$/.test(m)), []);
});
