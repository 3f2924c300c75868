import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PostgresJobStore } from '../../src/store/postgres/pg-job-store.js';
import { PgInventory } from '../../src/store/postgres/inventory-query.js';
import { compareVersions, type Ecosystem } from '../../src/versions/index.js';
import { checkOtherSources, DISTRO, storeFleet, type FleetImage } from '../helpers/inventory-fleet.js';
import { startPostgres } from '../helpers/postgres.js';
import { fixtureVersions, versionPairs } from '../helpers/version-corpus.js';

/** The PostgreSQL inventory: gk_vercmp against src/versions, and fleet queries over 50 stored inspections. */
const pgi = await startPostgres();
let store: PostgresJobStore;
let inventory: PgInventory;
let fleet: FleetImage[];

before(async () => {
  store = await PostgresJobStore.open(await pgi.createDatabase('gk_inventory'), { maxConnections: 4 });
  inventory = new PgInventory(store.pool);
  fleet = await storeFleet(store);
});

after(async () => {
  await store.close();
  await pgi.stop();
});

for (const eco of ['dpkg', 'rpm', 'pacman', 'apk'] as Ecosystem[]) {
  test(`gk_vercmp('${eco}') orders 4000 fixture-guest version pairs as src/versions does`, async () => {
    const versions = await fixtureVersions();
    const pairs = versionPairs([...versions[eco], ...versions.dpkg, ...versions.rpm, ...versions.apk], eco, 4000, eco.length);
    const { rows } = await store.pool.query<{ c: number }>(
      'SELECT gk_vercmp($1, a, b) AS c FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(a, b, n) ORDER BY n',
      [eco, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
    );
    assert.equal(rows.length, pairs.length);
    const wrong = pairs.filter(([a, b], i) => rows[i]!.c !== compareVersions(eco, a, b));
    assert.deepEqual(wrong.slice(0, 10).map(([a, b]) => `${a} vs ${b}`), [], `${wrong.length} of ${pairs.length} disagree`);
  });
}

test('gk_vercmp: the tricky cases, and no order for ecosystems it does not know', async () => {
  const cases: [string, string, string, number][] = [
    ['dpkg', '1:1.0', '2.0', 1], ['dpkg', '1.0~rc1', '1.0', -1], ['dpkg', '3.0.11-1~deb12u2', '3.0.7', 1], ['dpkg', '1.0-0', '1.0', 0],
    ['rpm', '1:3.0.1-43.el9_0', '3.0.7', 1], ['rpm', '3.0.7^git1-1', '3.0.7-1', 1], ['rpm', '3.0.7~beta1-1', '3.0.7', -1], ['rpm', '3.0.7', '3.0.7-1', -1],
    ['apk', '3.0.7_rc1-r0', '3.0.7', -1], ['apk', '3.0.7-r0', '3.0.7', 1], ['apk', '3.0.07', '3.0.7', -1], ['apk', '1.2_p1', '1.2', 1],
    ['pacman', '1:3.0.1-1', '3.0.7', 1], ['pacman', '3.0.7-1', '3.0.7', 0], ['pacman', '3.0.7rc1-1', '3.0.7-1', -1], ['pacman', '1.0..1', '1.0.1', 1],
  ];
  for (const [eco, a, b, want] of cases) {
    const { rows } = await store.pool.query<{ c: number }>('SELECT gk_vercmp($1, $2, $3) AS c', [eco, a, b]);
    assert.equal(rows[0]!.c, want, `${eco} ${a} vs ${b}`);
  }
  const { rows } = await store.pool.query<{ c: number | null }>(`SELECT gk_vercmp('ebuild', '1.0', '2.0') AS c`);
  assert.equal(rows[0]!.c, null);
});

const paths = (items: { image: { image_path: string } }[] | { image_path: string }[]) =>
  items.map((i) => ('image' in i ? i.image.image_path : i.image_path)).sort();

test('openssl below 3.0.7 over 50 stored inspections: the expected hits and misses', async () => {
  const page = await inventory.packages({ names: ['openssl'], versions: { lt: '3.0.7' }, limit: 1000 });
  assert.deepEqual(paths(page.items), fleet.filter((f) => f.below307).map((f) => f.path).sort());
  for (const h of page.items) {
    const f = fleet.find((x) => x.path === h.image.image_path)!;
    assert.equal(h.image.job_id, f.jobId, 'the latest completed inspection');
    assert.equal(h.version, f.openssl);
    assert.equal(h.image.os?.distro, DISTRO[f.base]);
  }
  const got = new Set(page.items.map((h) => h.version));
  for (const miss of ['1:3.0.1-1', '1:3.0.1-43.el9_0', '3.0.11-1~deb12u2', '3.0.7-16.el9', '3.0.7^20230101git1-1.el9', '3.0.7-r0', '3.0.7-1']) assert.ok(!got.has(miss), miss);
  for (const hit of ['3.0.7~rc1-1', '3.0.7~beta1-1.el9', '3.0.7_rc1-r0', '3.0.7rc1-1']) assert.ok(got.has(hit), hit);
  const all = await inventory.packages({ names: ['openssl'], limit: 1000 });
  assert.equal(all.items.length, 50);
});

test('bounds, OS, namespaces and images as the SQLite adapter answers them', async () => {
  const deb = await inventory.packages({ names: ['openssl'], os: 'debian', versions: { ge: '3.0.6', lt: '3.0.7' }, limit: 1000 });
  assert.deepEqual([...new Set(deb.items.map((h) => h.version))].sort(), ['3.0.6+really3.0.7-1', '3.0.6-1', '3.0.7~rc1-1']);
  const teamB = await inventory.images({ namespace: 'team-b', limit: 1000 });
  assert.deepEqual(paths(teamB.items), fleet.filter((f) => f.namespace === 'team-b').map((f) => f.path).sort());
  const rocky = await inventory.images({ os: 'rocky', package: 'openssl', versions: { lt: '3.0.7' }, limit: 1000 });
  assert.deepEqual(paths(rocky.items), fleet.filter((f) => f.base === 'rocky' && f.below307).map((f) => f.path).sort());
  assert.ok(rocky.items.every((i) => i.os?.ecosystem === 'rpm' && i.packages >= 10));
  const skipped = await inventory.packages({ names: ['openssl'], versions: { lt: '3.0.7~rc2' }, limit: 1000 });
  assert.ok(skipped.items.every((h) => h.ecosystem === 'dpkg' || h.ecosystem === 'rpm'));
  assert.ok(skipped.warnings.some((w) => /pacman/.test(w)));
  const limited = await inventory.packages({ names: ['openssl'], limit: 5 });
  assert.equal(limited.items.length, 5);
  assert.equal(limited.truncated, true);
});

test('software beside the package manager, filtered in the database: containers by name and digest, snaps, flatpaks, any', async () => {
  await checkOtherSources(inventory, fleet);
});
