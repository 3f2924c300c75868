import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fullRepository, otherKeys, otherMatches } from '../../src/store/inventory-rows.js';
import { SqliteInventory } from '../../src/store/sqlite/inventory-query.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { checkOtherSources, storeFleet, type FleetImage } from '../helpers/inventory-fleet.js';

/** The SQLite inventory adapter over snaps, flatpaks and container images (json_each over other_applications). */
let dir: string;
let store: SqliteJobStore;
let fleet: FleetImage[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gk-sqlite-inventory-'));
  store = SqliteJobStore.open(join(dir, 'guestkit.db'));
  fleet = await storeFleet(store);
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('software beside the package manager over 50 stored inspections: containers by name and digest, snaps, flatpaks, any', async () => {
  await checkOtherSources(new SqliteInventory(store.db), fleet);
});

test('container references: Docker Hub short and full forms are one repository; tags and digests narrow', () => {
  for (const [given, full] of [
    ['nginx', 'docker.io/library/nginx'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx'],
    ['bitnami/redis', 'docker.io/bitnami/redis'],
    ['docker.io/bitnami/redis', 'docker.io/bitnami/redis'],
    ['quay.io/guestkit/tool', 'quay.io/guestkit/tool'],
    ['localhost/alice/dev', 'localhost/alice/dev'],
    ['registry:5000/app', 'registry:5000/app'],
  ]) assert.equal(fullRepository(given), full, given);
  const d = `sha256:${'ab'.repeat(32)}`;
  assert.deepEqual(otherKeys(['docker.io/library/nginx:1.25']).sort(), ['docker.io/library/nginx', 'docker.io/library/nginx:1.25', 'nginx'].sort());
  assert.ok(otherKeys(['ab'.repeat(32)]).includes(d));
  const docker = { source: 'container', engine: 'docker', name: 'nginx', repository: 'nginx', tag: '1.25', digest: d };
  assert.ok(otherMatches('container', docker, ['docker.io/library/nginx']));
  assert.ok(otherMatches('container', docker, ['nginx:1.25']));
  assert.ok(!otherMatches('container', docker, ['nginx:1.24']));
  assert.ok(otherMatches('container', docker, [`nginx@${d}`]));
  assert.ok(!otherMatches('container', docker, [`redis@${d}`]));
  assert.ok(otherMatches('snap', { source: 'snap', name: 'lxd' }, ['lxd']));
  assert.ok(!otherMatches('snap', { source: 'snap', name: 'lxd' }, ['docker.io/library/lxd']));
});
