import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { runCli } from '../helpers/cli.js';
import { holding, isNginx, NGINX, storeFleet, type FleetImage } from '../helpers/inventory-fleet.js';
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

test('fleet packages --source container --name docker.io/library/nginx: a table fit for images, and --digest', async () => {
  const want = holding(fleet, isNginx);
  const r = await cli('fleet', 'packages', '--source', 'container', '--name', NGINX);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^IMAGE\s+OS\s+NAME\s+TAG\s+DIGEST\s+ENGINE\s+JOB\n/);
  const n = [...want.values()].reduce((a, b) => a + b, 0);
  assert.match(r.stdout, new RegExp(`\\n${n} container images on ${want.size} images\\n$`));
  for (const f of fleet.filter((x) => want.has(x.path))) {
    assert.match(r.stdout, new RegExp(`${f.path}\\s.*\\snginx\\s+stable\\s+sha256:[0-9a-f]{64}\\s+docker\\s+${f.jobId}\\n`));
    assert.match(r.stdout, new RegExp(`${f.path}\\s.*\\s${NGINX}\\s+latest\\s+sha256:[0-9a-f]{64}\\s+podman\\s+${f.jobId}\\n`));
  }
  const tool = fleet.flatMap((f) => f.other).find((a) => a.source === 'container' && a.engine === 'podman' && a.repository === 'quay.io/guestkit/tool');
  assert.ok(tool?.source === 'container' && tool.digest);
  const j = await cli('fleet', 'packages', '--digest', tool.digest, '--json');
  assert.equal(j.code, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { items: { image_path: string; job_id: string; package: { digest: string } }[] };
  assert.deepEqual([...new Set(doc.items.map((i) => i.image_path))].sort(), [...holding(fleet, (a) => a.source === 'container' && a.digest === tool.digest).keys()].sort());
  assert.ok(doc.items.every((i) => i.package.digest === tool.digest && i.job_id === fleet.find((f) => f.path === i.image_path)!.jobId));
  const snap = await cli('fleet', 'packages', '--source', 'snap', '--name', 'lxd');
  assert.match(snap.stdout, /^IMAGE\s+OS\s+SNAP\s+VERSION\s+REVISION\s+CHANNEL\s+JOB\n/);
  assert.match(snap.stdout, /\slxd\s+5\.21\.1-2d13beb\s+31333\s+5\.21\/stable\s/);
  const images = await cli('fleet', 'images', '--package', 'nginx', '--source', 'container', '--json');
  assert.deepEqual((JSON.parse(images.stdout) as { items: { image_path: string }[] }).items.map((i) => i.image_path).sort(), [...want.keys()].sort());
  const bounds = await cli('fleet', 'packages', '--source', 'container', '--name', 'nginx', '--lt', '1.25');
  assert.equal(bounds.code, 2);
  assert.match(bounds.stderr, /containers have no version order/);
  const typo = await cli('fleet', 'packages', '--source', 'docker', '--name', 'nginx');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /--source is one of package, snap, flatpak, container, any/);
  const none = await cli('fleet', 'packages');
  assert.equal(none.code, 2);
});
