import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { runCli } from '../helpers/cli.js';
import { storeFleet, type FleetImage } from '../helpers/inventory-fleet.js';
import { startServe, tempDataDir, type Served } from '../helpers/serve.js';

/** `guestkit fleet packages|images` against a real `guestkit serve` whose store holds 50 inspections. */
let served: Served;
let fleet: FleetImage[];

before(async () => {
  const dataDir = tempDataDir('gk-fleet-cli-');
  mkdirSync(dataDir, { recursive: true });
  const store = SqliteJobStore.open(join(dataDir, 'guestkit.db'));
  fleet = await storeFleet(store);
  await store.close();
  served = await startServe({ dataDir });
});

after(() => served?.stop());

const cli = (...args: string[]) => runCli([...args, '--server', served.url.replace(/\/api\/v1$/, ''), '--token', served.adminToken]);

test('fleet packages --name openssl --lt 3.0.7: a table of the images below, and the same as JSON', async () => {
  const want = fleet.filter((f) => f.below307);
  const r = await cli('fleet', 'packages', '--name', 'openssl', '--lt', '3.0.7');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^IMAGE\s+OS\s+PACKAGE\s+VERSION\s+INSPECTED\s+JOB/);
  assert.match(r.stdout, new RegExp(`${want.length} packages on ${want.length} images\\n$`));
  for (const f of want) assert.match(r.stdout, new RegExp(`${f.path}\\s.*\\s${f.jobId}`));
  const j = await cli('fleet', 'packages', '--name', 'openssl', '--lt', '3.0.7', '--os', 'debian', '--json');
  assert.equal(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { items: { image_path: string; package: { version: string } }[] };
  assert.deepEqual(doc.items.map((i) => i.image_path).sort(), want.filter((f) => f.base === 'debian').map((f) => f.path).sort());
});

test('fleet images --os / --package, and a bad version is the server’s 400 as a one-line error', async () => {
  const r = await cli('fleet', 'images', '--os', 'alpinelinux', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { items: unknown[] }).items.length, fleet.filter((f) => f.base === 'alpine').length);
  const t = await cli('fleet', 'images', '--package', 'NetworkManager');
  assert.match(t.stdout, new RegExp(`${fleet.filter((f) => f.base === 'rocky').length} images\\n$`));
  const bad = await cli('fleet', 'packages', '--name', 'openssl', '--lt', 'x y');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /VALIDATION_ERROR: version_lt "x y" is not a version in any ecosystem/);
  const usage = await cli('fleet', 'images', '--lt', '3.0.7');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /bound the version of --package/);
});
