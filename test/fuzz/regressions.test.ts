import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTarget, targetNames } from '../../fuzz/lib/target.js';
import { repoRoot } from '../helpers/cli.js';

/**
 * Every input the fuzzer ever found (fuzz/regressions/TARGET, kept with `npm run fuzz -- --keep`)
 * is replayed through its target: typed errors only, no crash, no hang. Each target also runs
 * on a few of its seeds, so a target that no longer reaches its parser is noticed here.
 */
const names = targetNames();

test('every parser entry point has a fuzz target', () => {
  assert.ok(names.length > 0, 'fuzz/targets is empty');
});

for (const name of names) {
  test(`fuzz target ${name}: kept findings and seeds give typed errors or results`, { timeout: 180_000 }, async () => {
    const target = await loadTarget(name);
    const dir = join(repoRoot(), 'fuzz', 'regressions', name);
    const kept = existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')) : [];
    for (const f of kept) {
      await target.run(readFileSync(join(dir, f))).catch((err: unknown) => {
        throw new Error(`fuzz/regressions/${name}/${f}: ${(err as Error)?.stack ?? String(err)}`);
      });
    }
    const seeds = await target.seeds();
    assert.ok(seeds.length > 0, `${name}: no seeds (are the fixtures built?)`);
    for (const s of seeds.slice(0, 3)) await target.run(s);
  });
}
