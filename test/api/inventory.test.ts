import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { tokenAuthenticator } from '../../src/api/auth.js';
import { QuotaGate } from '../../src/api/quotas.js';
import { buildApi, type Api } from '../../src/api/server.js';
import { JobEvents } from '../../src/events/job-events.js';
import { builtinRegistry } from '../../src/jobs/registry.js';
import { createLogger } from '../../src/observability/logger.js';
import { WorkerMetrics } from '../../src/observability/metrics.js';
import { openControlStores, type ControlStores } from '../../src/store/sqlite/control-db.js';
import { SqliteInventory } from '../../src/store/sqlite/inventory-query.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { PathPolicy } from '../../src/worker/path-policy.js';
import { AdvisoryDb, importAdvisories } from '../../src/vulns/index.js';
import { repoRoot } from '../helpers/cli.js';
import { DISTRO, holding, isNginx, NGINX, storeFleet, type FleetImage } from '../helpers/inventory-fleet.js';

/** GET /inventory/* in process over a real SQLite store holding 50 stored inspections of fixture guests. */
let dir: string;
let store: SqliteJobStore;
let control: ControlStores;
let api: Api;
let fleet: FleetImage[];
let deps: Parameters<typeof buildApi>[0];
const tokens: Record<'admin' | 'a' | 'b', string> = { admin: '', a: '', b: '' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gk-inventory-'));
  store = SqliteJobStore.open(join(dir, 'guestkit.db'));
  control = openControlStores(dir);
  fleet = await storeFleet(store);
  tokens.admin = (await control.tokens.create({ namespace: 'default', role: 'admin' })).token;
  tokens.a = (await control.tokens.create({ namespace: 'team-a', role: 'viewer' })).token;
  tokens.b = (await control.tokens.create({ namespace: 'team-b', role: 'viewer' })).token;
  // the OSV fixtures (test/fixtures/osv) as the server's advisory database
  const advisories = AdvisoryDb.open(join(dir, 'advisories.db'), { create: true });
  await importAdvisories(advisories, join(repoRoot(), 'test', 'fixtures', 'osv'));
  advisories.close();
  deps = {
      store,
      events: new JobEvents(),
      registry: builtinRegistry(),
      pathPolicy: new PathPolicy([dir]),
      auth: tokenAuthenticator(control.tokens),
      authMethod: 'bearer',
      audit: control.audit,
      quotas: new QuotaGate({ default: { maxQueued: null, maxRunning: null, perHour: null }, namespaces: {} }, async () => ({ queued: 0, running: 0, submittedLastHour: 0 })),
      intake: { submit: async () => Promise.reject(new Error('no submits here')), cancel: () => 'unknown', cancelHeld: async () => false },
      usage: (q) => store.usage(q),
      inventory: new SqliteInventory(store.db),
      advisoryDb: join(dir, 'advisories.db'),
      prices: { cpuSecond: 0, gibRead: 0, currency: 'USD' },
      ready: () => ({ ok: true }),
      metrics: new WorkerMetrics({ worker_id: 'unit', pool: 'default' }, { queueDepth: () => 0 }).registry,
      logger: createLogger({ level: 'silent', workerId: 'unit' }),
      version: '0.0.0-test',
    };
  api = buildApi(deps, { bodyLimit: 4096 });
  await api.app.ready();
});

after(async () => {
  await api.app.close();
  await store.close();
  control.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(url: string, who: keyof typeof tokens = 'admin') {
  const r = await api.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${tokens[who]}` } });
  return { status: r.statusCode, body: r.json() as Record<string, any> };
}

const paths = (items: { image_path: string }[]) => items.map((i) => i.image_path).sort();

test('openssl below 3.0.7: exactly the images whose latest inspection has it, in each ecosystem’s order', async () => {
  const r = await get('/inventory/packages?name=openssl&version_lt=3.0.7');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const want = fleet.filter((f) => f.below307).map((f) => f.path).sort();
  assert.deepEqual(paths(r.body.items), want);
  assert.ok(want.length >= 15 && want.length <= 35, `${want.length} hits`);
  // every hit names the inspection it comes from, with its version as the package manager prints it
  for (const item of r.body.items) {
    const f = fleet.find((x) => x.path === item.image_path)!;
    assert.equal(item.job_id, f.jobId);
    assert.equal(item.package.version, f.openssl);
    assert.equal(item.os.distro, DISTRO[f.base]);
    assert.ok(!Number.isNaN(Date.parse(item.finished_at)));
  }
  assert.equal(r.body.truncated, false);
});

test('expected misses: epochs, ~ and ^, revisions, numbers compared as numbers, superseded inspections', async () => {
  const r = await get('/inventory/packages?name=openssl&version_lt=3.0.7');
  const got = new Map(r.body.items.map((i: any) => [i.image_path, i.package.version]));
  const miss = (v: string) => fleet.filter((f) => f.openssl === v).map((f) => f.path);
  for (const v of ['1:3.0.1-1', '1:3.0.1-43.el9_0', '3.0.11-1~deb12u2', '3.0.7-1', '3.0.7^20230101git1-1.el9', '3.0.7-r0', '3.0.7_p1-r0']) {
    assert.ok(miss(v).length > 0, `the fleet has ${v}`);
    for (const p of miss(v)) assert.ok(!got.has(p), `${p} (${v}) is not below 3.0.7`);
  }
  for (const v of ['3.0.7~rc1-1', '3.0.7~beta1-1.el9', '3.0.7_rc1-r0', '3.0.7rc1-1']) {
    for (const p of miss(v)) assert.equal(got.get(p), v, `${p} (${v}) is below 3.0.7`);
  }
  // the images inspected twice: only the newer inspection counts, not the older one with 1.0.2
  const twice = fleet.filter((_, n) => n % 10 === 3);
  for (const f of twice) assert.equal(got.has(f.path), f.below307, `${f.path}: latest is ${f.openssl}`);
  // a newer failed inspection does not hide the completed one
  const failedAfter = fleet.filter((_, n) => n % 10 === 7);
  const all = await get('/inventory/packages?name=openssl');
  for (const f of failedAfter) assert.ok(all.body.items.some((i: any) => i.image_path === f.path && i.job_id === f.jobId));
  assert.equal(all.body.items.length, 50);
});

test('bounds combine, os narrows, binary names match too', async () => {
  const r = await get('/inventory/packages?name=openssl&version_ge=3.0.6&version_lt=3.0.7&os=debian');
  assert.deepEqual(
    [...new Set(r.body.items.map((i: any) => i.package.version))].sort(),
    ['3.0.6+really3.0.7-1', '3.0.6-1', '3.0.7~rc1-1'],
  );
  assert.ok(r.body.items.every((i: any) => i.os.distro === 'debian' && i.package.name === 'libssl3' && i.package.source_package === 'openssl'));
  const bin = await get('/inventory/packages?name=libssl3&version_eq=3.0.7');
  assert.deepEqual(paths(bin.body.items), fleet.filter((f) => f.openssl === '3.0.7').map((f) => f.path).sort());
  // an untouched package of the real guests: every Debian image has bash
  const bash = await get('/inventory/packages?name=bash&os=debian');
  assert.equal(bash.body.items.length, fleet.filter((f) => f.base === 'debian').length);
});

test('a bound that is no version in some ecosystem leaves those images out, and says so', async () => {
  const r = await get('/inventory/packages?name=openssl&version_lt=3.0.7~rc2');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.length > 0);
  assert.ok(r.body.items.every((i: any) => i.package.ecosystem !== 'apk' && i.package.ecosystem !== 'pacman'));
  assert.ok(r.body.warnings.some((w: string) => /apk/.test(w)), JSON.stringify(r.body.warnings));
});

test('images: by OS, by package, and the latest inspection of each', async () => {
  const all = await get('/inventory/images');
  assert.equal(all.body.items.length, 50);
  const rocky = await get('/inventory/images?os=rocky');
  assert.deepEqual(paths(rocky.body.items), fleet.filter((f) => f.base === 'rocky').map((f) => f.path).sort());
  assert.ok(rocky.body.items.every((i: any) => i.os.ecosystem === 'rpm' && i.packages >= 10));
  const withNm = await get('/inventory/images?package=NetworkManager');
  assert.deepEqual(paths(withNm.body.items), fleet.filter((f) => f.base === 'rocky').map((f) => f.path).sort());
  const old = await get('/inventory/images?package=openssl&version_lt=3.0.7&os=alpinelinux');
  assert.deepEqual(paths(old.body.items), fleet.filter((f) => f.base === 'alpine' && f.below307).map((f) => f.path).sort());
  const one = all.body.items.find((i: any) => i.image_path === fleet[3]!.path);
  assert.equal(one.job_id, fleet[3]!.jobId);
});

test('tenancy: a viewer sees its own namespace only, and may not ask for another', async () => {
  const a = await get('/inventory/images', 'a');
  assert.deepEqual(paths(a.body.items), fleet.filter((f) => f.namespace === 'team-a').map((f) => f.path).sort());
  const b = await get('/inventory/packages?name=openssl', 'b');
  assert.deepEqual(paths(b.body.items), fleet.filter((f) => f.namespace === 'team-b').map((f) => f.path).sort());
  assert.equal((await get('/inventory/images?namespace=team-a', 'b')).status, 403);
  const admin = await get('/inventory/images?namespace=team-b');
  assert.equal(admin.body.items.length, 10);
  const anon = await api.app.inject({ method: 'GET', url: '/api/v1/inventory/images' });
  assert.equal(anon.statusCode, 401);
});

test('bad queries are typed 400s', async () => {
  for (const url of [
    '/inventory/packages',
    '/inventory/packages?name=openssl&version_lt=',
    '/inventory/packages?name=openssl&version_lt=a%20b',
    '/inventory/packages?name=openssl&version_lt=x:1',
    '/inventory/packages?name=openssl&version_below=3',
    '/inventory/packages?name=openssl&limit=0',
    '/inventory/packages?name=openssl&limit=abc',
    '/inventory/packages?name=openssl&name=libssl3',
    '/inventory/images?version_lt=3.0.7',
    '/inventory/images?os=Debian%20GNU',
    '/inventory/packages?name=nginx&source=docker',
    '/inventory/packages?name=nginx&source=container&version_lt=1.25',
    '/inventory/packages?name=lxd&source=any&version_ge=5',
    '/inventory/packages?digest=sha256:xyz',
    '/inventory/packages?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000&source=snap',
    '/inventory/images?source=container',
    '/inventory/images?package=lxd&source=snap&version_lt=6',
  ]) {
    const r = await get(url);
    assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'VALIDATION_ERROR', url);
  }
});

test('which images hold docker.io/library/nginx: the images and their inspection jobs, every engine, both name forms', async () => {
  const r = await get(`/inventory/packages?name=${NGINX}&source=container`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const want = holding(fleet, isNginx);
  assert.deepEqual([...new Set(paths(r.body.items))], [...want.keys()].sort());
  assert.equal(r.body.items.length, [...want.values()].reduce((a, b) => a + b, 0));
  for (const i of r.body.items) {
    assert.equal(i.job_id, fleet.find((f) => f.path === i.image_path)!.jobId);
    assert.equal(i.package.source, 'container');
    for (const k of ['engine', 'tag', 'digest', 'image_id', 'size']) assert.ok(i.package[k] !== undefined, `${k}: ${JSON.stringify(i.package)}`);
  }
  assert.ok(r.body.items.some((i: any) => i.package.engine === 'docker' && i.package.name === 'nginx'), 'Docker keeps the short name');
  const short = await get('/inventory/packages?name=nginx&source=container');
  assert.equal(short.body.items.length, r.body.items.length);
  // without source: distro packages only, as before
  assert.deepEqual((await get(`/inventory/packages?name=${NGINX}`)).body.items, []);
  const images = await get(`/inventory/images?package=${NGINX}&source=container`);
  assert.deepEqual(paths(images.body.items), [...want.keys()].sort());
  assert.ok(images.body.items.every((i: any) => i.job_id === fleet.find((f) => f.path === i.image_path)!.jobId && i.packages > 0));
});

test('which images hold a digest: digest= (source container implied), or the 64 hex digits, or an image id as the name', async () => {
  const tool = fleet.flatMap((f) => f.other).find((a) => a.source === 'container' && a.engine === 'containerd' && a.repository === 'quay.io/guestkit/tool');
  assert.ok(tool?.source === 'container' && tool.digest && tool.image_id);
  const r = await get(`/inventory/packages?digest=${tool.digest}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const want = holding(fleet, (a) => a.source === 'container' && a.digest === tool.digest);
  assert.ok(want.size > 0);
  assert.deepEqual(paths(r.body.items), [...want.keys()].sort());
  assert.ok(r.body.items.every((i: any) => i.package.digest === tool.digest && i.package.engine === 'containerd' && i.job_id === fleet.find((f) => f.path === i.image_path)!.jobId));
  const hex = await get(`/inventory/packages?digest=${tool.digest.slice(7)}&source=any`);
  assert.deepEqual(hex.body.items, r.body.items);
  const byId = await get(`/inventory/packages?name=${tool.image_id}&source=container`);
  const ids = holding(fleet, (a) => a.source === 'container' && (a.image_id === tool.image_id || a.digest === tool.image_id));
  assert.deepEqual([...new Set(paths(byId.body.items))], [...ids.keys()].sort());
  assert.ok(new Set(byId.body.items.map((i: any) => i.package.engine)).size === 3);
});

test('snaps and flatpaks: their identifying fields; version bounds there are a 400 that says why', async () => {
  const snap = await get('/inventory/packages?name=lxd&source=snap');
  assert.deepEqual(paths(snap.body.items), [...holding(fleet, (a) => a.source === 'snap' && a.name === 'lxd').keys()].sort());
  assert.ok(snap.body.items.every((i: any) => i.package.source === 'snap' && i.package.revision === '31333' && i.package.channel === '5.21/stable'));
  const fp = await get('/inventory/packages?name=org.guestkit.Notes&source=flatpak');
  assert.ok(fp.body.items.length > 0);
  assert.ok(fp.body.items.every((i: any) => i.package.ref === 'app/org.guestkit.Notes/x86_64/beta' && i.package.origin === 'alice-local' && i.package.installation === '/home/alice/.local/share/flatpak'));
  const bad = await get('/inventory/packages?name=lxd&source=snap&version_lt=6');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /distro packages only.*snaps have no version order/);
  // a viewer's namespace still bounds them
  const b = await get('/inventory/packages?name=lxd&source=snap', 'b');
  assert.ok(b.body.items.every((i: any) => i.namespace === 'team-b'));
});

test('limit: at most that many, and the answer says more matched', async () => {
  const r = await get('/inventory/packages?name=openssl&limit=7');
  assert.equal(r.body.items.length, 7);
  assert.equal(r.body.truncated, true);
});

test('answers match the OpenAPI document’s schemas, and the three routes are in it', async () => {
  const oa = await api.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  const doc = oa.json() as { paths: Record<string, unknown>; components: { schemas: Record<string, object> } };
  assert.ok(doc.paths['/inventory/packages'] && doc.paths['/inventory/images'] && doc.paths['/inventory/vulnerabilities']);
  const ajv = new Ajv2020({ strict: false, validateFormats: false });
  for (const [schema, url] of [
    ['InventoryPackages', '/inventory/packages?name=openssl&version_lt=3.0.7'],
    ['InventoryPackages', `/inventory/packages?name=${NGINX},lxd,org.guestkit.Hello,openssl&source=any`],
    ['InventoryImages', `/inventory/images?package=${NGINX}&source=container`],
    ['InventoryImages', '/inventory/images?package=openssl'], ['InventoryVulnerabilities', '/inventory/vulnerabilities?id=CVE-2023-0464'], ['InventoryVulnerabilities', '/inventory/vulnerabilities?id=CVE-2016-2781']] as const) {
    const validate = ajv.compile(doc.components.schemas[schema]!);
    const r = await get(url);
    assert.ok(validate(r.body), `${url}: ${JSON.stringify(validate.errors)}`);
  }
});

test('vulnerabilities: a CVE with no fix in Debian 12 hits every Debian image, each through its latest inspection', async () => {
  const r = await get('/inventory/vulnerabilities?id=CVE-2016-2781');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.advisories, ['DEBIAN-CVE-2016-2781']);
  assert.deepEqual(r.body.packages, ['coreutils']);
  assert.deepEqual(paths(r.body.affected), fleet.filter((f) => f.base === 'debian').map((f) => f.path).sort());
  for (const a of r.body.affected) {
    assert.equal(a.job_id, fleet.find((f) => f.path === a.image_path)!.jobId, 'the latest inspection');
    assert.deepEqual(a.findings.map((f: { advisory: string; package: string }) => [f.advisory, f.package]), [['DEBIAN-CVE-2016-2781', 'coreutils']]);
  }
});

test('vulnerabilities: one CVE, advisories of two distributions, each image in its own order; an OS without data is unchecked, never unaffected', async () => {
  const r = await get('/inventory/vulnerabilities?id=CVE-2024-6387');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([...r.body.advisories].sort(), ['ALPINE-CVE-2024-6387', 'DSA-5724-1', 'RLSA-2024:4312']);
  // Alpine's openssh 9.6_p1-r0 is below the fix 9.6_p1-r1; Debian's 1:9.2p1-2+deb12u10 is past 1:9.2p1-2+deb12u3;
  // the Rocky 9 advisory does not apply to the fleet's Rocky 8 images
  assert.deepEqual(paths(r.body.affected), fleet.filter((f) => f.base === 'alpine').map((f) => f.path).sort());
  // an Ubuntu advisory for openssl: every image has openssl, none is affected; the Rocky and Arch
  // images (no advisories imported for their OS) are unchecked, never reported unaffected
  const u = await get('/inventory/vulnerabilities?id=CVE-2023-0464');
  assert.equal(u.status, 200, JSON.stringify(u.body));
  assert.deepEqual(u.body.affected, []);
  const unchecked = u.body.unchecked as { image_path: string; state: string }[];
  assert.deepEqual(paths(unchecked), fleet.filter((f) => f.base === 'rocky' || f.base === 'arch').map((f) => f.path).sort());
  for (const x of unchecked) assert.equal(x.state, x.image_path.includes('/rocky/') ? 'no_ecosystem_data' : 'unsupported_os', JSON.stringify(x));
  // a viewer sees its own namespace only
  const b = await get('/inventory/vulnerabilities?id=CVE-2024-6387', 'b');
  assert.deepEqual(paths(b.body.affected), fleet.filter((f) => f.base === 'alpine' && f.namespace === 'team-b').map((f) => f.path).sort());
  assert.ok(b.body.unchecked.every((u: { namespace: string }) => u.namespace === 'team-b'));
});

test('vulnerabilities: typed errors for a missing, malformed or unknown id and a missing database', async () => {
  assert.equal((await get('/inventory/vulnerabilities')).status, 400);
  assert.equal((await get('/inventory/vulnerabilities?id=%3Cscript%3E')).status, 400);
  assert.equal((await get('/inventory/vulnerabilities?id=CVE-2016-2781&bogus=1')).status, 400);
  const unknown = await get('/inventory/vulnerabilities?id=CVE-1999-0001');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'NOT_FOUND');
  const saved = deps.advisoryDb;
  deps.advisoryDb = join(dir, 'no-such', 'advisories.db');
  try {
    const r = await get('/inventory/vulnerabilities?id=CVE-2016-2781');
    assert.equal(r.status, 503);
    assert.match(r.body.error.message, /advisories import/);
  } finally {
    deps.advisoryDb = saved;
  }
});
