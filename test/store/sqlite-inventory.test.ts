import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
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
