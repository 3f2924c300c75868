import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { inspect, type Inspection } from '../../src/inspect/index.js';
import { REPO, fixture } from '../helpers/fixtures.js';

/**
 * Whole inspection documents compared with reviewed golden files, so any change in
 * what guestkit reports is seen. Regenerate after an intended change with
 * `GOLDEN_UPDATE=1 node --import tsx --test test/inspect/golden.test.ts` and review the diff.
 */
const GOLDEN = join(REPO, 'test', 'inspect', 'golden');

/** Drops what legitimately differs between runs and machines: timings and host paths. */
function normalise(r: Inspection): unknown {
  const doc = JSON.parse(JSON.stringify(r)) as Omit<Inspection, 'stats'> & { stats?: unknown };
  delete doc.stats;
  for (const i of doc.image) i.path = basename(i.path);
  return doc;
}

for (const [name, file, format] of [
  ['rpm-guest', 'rpm-guest.qcow2', undefined],
  ['arch-guest', 'arch-guest.img', 'raw'],
  ['multiboot', 'multiboot.qcow2', undefined],
] as const) {
  test(`golden inspection document: ${name}`, async () => {
    const got = normalise(await inspect({ disks: [fixture('inspect', file)], ...(format ? { format } : {}) }));
    const path = join(GOLDEN, `${name}.json`);
    if (process.env.GOLDEN_UPDATE === '1' || !existsSync(path)) {
      assert.ok(process.env.GOLDEN_UPDATE === '1', `golden file ${path} is missing: run with GOLDEN_UPDATE=1 and review it`);
      writeFileSync(path, JSON.stringify(got, null, 2) + '\n');
    }
    assert.deepEqual(got, JSON.parse(readFileSync(path, 'utf8')));
  });
}
