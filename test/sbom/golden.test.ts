import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from '../../src/inspect/index.js';
import { toSbom, type SbomFormat } from '../../src/sbom/index.js';
import { REPO, fixture } from '../helpers/fixtures.js';

/**
 * Whole SBOMs of small fixture guests compared with reviewed golden files: with the time and
 * UUID given, the output is exact. Regenerate after an intended change with
 * `GOLDEN_UPDATE=1 node --import tsx --test test/sbom/golden.test.ts` and review the diff.
 */
const GOLDEN = join(REPO, 'test', 'sbom', 'golden');
const OPTS = { timestamp: '2026-01-02T03:04:05.678Z', uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', toolVersion: '0.1.0' };

for (const [name, dir, file, format] of [
  ['rpm-guest.cdx.json', 'inspect', 'rpm-guest.qcow2', 'cyclonedx-json'],
  ['rpm-guest.spdx.json', 'inspect', 'rpm-guest.qcow2', 'spdx-json'],
  ['alpine.cdx.json', 'inspect-guests', 'alpine.qcow2', 'cyclonedx-json'],
  ['arch-guest.spdx.json', 'inspect', 'arch-guest.img', 'spdx-json'],
  ['win11.cdx.json', 'windows', 'win11.vmdk', 'cyclonedx-json'],
  ['server2019.spdx.json', 'windows', 'server2019.qcow2', 'spdx-json'],
] as const) {
  test(`golden SBOM: ${name}`, async () => {
    const r = await inspect({ disks: [fixture(dir, file)], ...(file.endsWith('.img') ? { format: 'raw' as const } : {}) });
    const got = JSON.stringify(toSbom(r, format as SbomFormat, OPTS), null, 2) + '\n';
    const path = join(GOLDEN, name);
    if (process.env.GOLDEN_UPDATE === '1' || !existsSync(path)) {
      assert.ok(process.env.GOLDEN_UPDATE === '1', `golden file ${path} is missing: run with GOLDEN_UPDATE=1 and review it`);
      writeFileSync(path, got);
    }
    assert.equal(got, readFileSync(path, 'utf8'));
  });
}
