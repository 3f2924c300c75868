/**
 * A fleet of 50 stored inspections for inventory tests: real inspection results of the fixture
 * guests (Debian, Rocky, Alpine, Arch), stored through the JobStore API under 50 image paths,
 * each with its own openssl version, so that `openssl < 3.0.7` has known hits and known misses
 * (epochs, `~`, `^`, `_rc`, revisions, numbers that a character compare gets wrong).
 *
 * Software beside the package manager comes from the beside-pm fixture guest's inspection (snaps,
 * flatpaks, Docker / Podman / containerd images read from stores the real tools made): Debian
 * images hold all of it, Rocky images its Podman images, Arch images its flatpaks, Alpine none.
 * On every other Debian image the fixture's registry.example.com/team/app is named
 * docker.io/library/nginx instead (Docker storing it short, as `nginx`), digests kept.
 */
import { inspect, type Application, type Inspection, type OtherApplication } from '../../src/inspect/index.js';
import assert from 'node:assert/strict';
import type { Inventory, PackageHit } from '../../src/ports/inventory.js';
import type { JobStore } from '../../src/ports/job-store.js';
import type { GuestkitError } from '../../src/protocol/errors.js';
import type { JobResult } from '../../src/protocol/result.js';
import { jobDoc } from '../store/contract.js';
import { fixture } from './fixtures.js';

type Base = 'debian' | 'rocky' | 'alpine' | 'arch';

const GUESTS: Record<Base, string[]> = {
  debian: ['inspect', 'debian.qcow2'],
  rocky: ['inspect-guests', 'rocky8-bls.qcow2'],
  alpine: ['inspect-guests', 'alpine.qcow2'],
  arch: ['inspect', 'arch-guest.img'],
};

/** [openssl version as the package manager prints it, below 3.0.7 in its ecosystem?] */
const VERSIONS: Record<Base, [string, boolean][]> = {
  debian: [
    ['3.0.6-1', true],
    ['3.0.7~rc1-1', true], // ~ sorts before the release
    ['3.0.2-0ubuntu1.10', true],
    ['1.1.1n-0+deb11u5', true],
    ['3.0.7-1', false], // the Debian revision makes it newer than 3.0.7
    ['3.0.7', false], // equal
    ['1:3.0.1-1', false], // an epoch beats any upstream version
    ['3.0.11-1~deb12u2', false], // 11 > 7 as numbers (not as characters)
    ['3.0.20-1~deb12u2', false], // as the fixture guest has it
    ['3.0.6+really3.0.7-1', true],
  ],
  rocky: [
    ['3.0.1-43.el9_0', true],
    ['1:3.0.1-43.el9_0', false], // RHEL's openssl carries epoch 1: not below an epoch-less 3.0.7
    ['1:1.1.1k-9.el8_7', false],
    ['1.1.1k-9.el8_7', true],
    ['3.0.7-16.el9', false], // a release makes it newer than a bare 3.0.7
    ['3.0.7~beta1-1.el9', true],
    ['3.0.7^20230101git1-1.el9', false], // ^ sorts after the release
    ['3.0.10-1.el9', false],
  ],
  alpine: [
    ['3.0.6-r2', true],
    ['3.0.7_rc1-r0', true], // _rc is a pre-release
    ['3.0.7-r0', false], // a revision beats none
    ['3.0.7_p1-r0', false], // _p is after the release
    ['3.0.10-r0', false],
    ['3.0.07-r0', true], // a leading zero compares as a string: 07 < 7
  ],
  arch: [
    ['3.0.6-1', true],
    ['1:3.0.1-1', false],
    ['3.0.7-1', false], // pacman compares pkgrel only when both sides have one
    ['3.0.7rc1-1', true], // a trailing letter segment is before the release
    ['3.0.10-1', false],
  ],
};

export interface FleetImage {
  path: string;
  namespace: string;
  base: Base;
  /** The job whose inspection is the image's latest. */
  jobId: string;
  openssl: string;
  below307: boolean;
  /** other_applications of the latest inspection's OS. */
  other: OtherApplication[];
}

/** The beside-pm fixture's repository that the fleet renames to nginx. */
export const APP_REPOSITORY = 'registry.example.com/team/app';
export const NGINX = 'docker.io/library/nginx';

/** The entries with the fixture's app repository named nginx: Docker keeps Docker Hub names short. */
function asNginx(apps: OtherApplication[]): OtherApplication[] {
  return apps.map((a) => {
    if (a.source !== 'container' || a.repository !== APP_REPOSITORY) return a;
    const repository = a.engine === 'docker' ? 'nginx' : NGINX;
    return { ...a, name: repository, repository };
  });
}

/** What each base's images hold beside the package manager; `nginx`: the renamed variant. */
function besideOf(all: OtherApplication[], base: Base, nginx: boolean): OtherApplication[] {
  const picked =
    base === 'debian' ? all : base === 'rocky' ? all.filter((a) => a.source === 'container' && a.engine === 'podman') : base === 'arch' ? all.filter((a) => a.source === 'flatpak') : [];
  return nginx ? asNginx(picked) : picked;
}

/** Splits a full version into the inspection's epoch / version / release fields. */
function split(base: Base, full: string): Pick<Application, 'epoch' | 'version' | 'release'> {
  const m = /^(?:([0-9]+):)?(.*?)(?:-([^-]*))?$/.exec(full)!;
  return { epoch: Number(m[1] ?? 0), version: m[2]!, release: m[3] ?? '' };
}

/** The inspection with its openssl package (Debian: libssl3, built from source openssl) at `full`, and `other` beside it. */
function withOpenssl(insp: Inspection, base: Base, full: string, other: OtherApplication[]): Inspection {
  const copy = structuredClone(insp);
  const os = copy.operating_systems[0]!;
  if (other.length) os.other_applications = structuredClone(other);
  else delete os.other_applications;
  const apps = (os.applications ?? []).filter((a) => a.name !== (base === 'debian' ? 'libssl3' : 'openssl'));
  apps.push({ name: base === 'debian' ? 'libssl3' : 'openssl', ...split(base, full), arch: 'x86_64', source_package: 'openssl' });
  os.applications = apps;
  return copy;
}

const resultOf = (id: string, data: unknown): JobResult =>
  ({ job_id: id, status: 'completed', worker_id: 'w1', execution_summary: { started_at: '2026-01-30T16:00:00Z', duration_seconds: 1, attempt: 1 }, data }) as JobResult;

async function store1(store: JobStore, id: string, path: string, namespace: string, status: 'completed' | 'failed', data: unknown): Promise<void> {
  const job = jobDoc(id, { operation: 'guestkit.inspect', payload: { type: 'guestkit.inspect.v1', data: { image: { path } } }, metadata: { namespace } } as never);
  await store.submit({ job, source: 'test' });
  await store.begin(id, 'w1');
  await store.finish(id, status, status === 'completed' ? resultOf(id, data) : ({ ...resultOf(id, undefined), status: 'failed' } as JobResult));
}

/**
 * Inspects each fixture guest once and stores 50 images: 40 in team-a, 10 in team-b. Five
 * images were inspected twice (an older inspection with openssl 1.0.2 that would be a hit, the
 * newer one as listed) and two have a newer failed inspection: only the latest completed counts.
 */
export async function storeFleet(store: JobStore): Promise<FleetImage[]> {
  const base: Record<Base, Inspection> = {} as Record<Base, Inspection>;
  for (const [b, parts] of Object.entries(GUESTS) as [Base, string[]][]) base[b] = await inspect(fixture(...parts));
  const beside = (await inspect(fixture('beside-pm', 'guest.qcow2'))).operating_systems[0]?.other_applications ?? [];
  if (!beside.some((a) => a.source === 'container' && a.repository === APP_REPOSITORY)) throw new Error('the beside-pm fixture lost its app image');
  const images: FleetImage[] = [];
  const order: Base[] = ['debian', 'rocky', 'alpine', 'arch'];
  for (let i = 0; images.length < 50; i++) {
    const b = order[i % 4]!;
    const list = VERSIONS[b];
    const [openssl, below307] = list[Math.floor(i / 4) % list.length]!;
    const n = images.length;
    const namespace = n < 40 ? 'team-a' : 'team-b';
    const path = `/images/${b}/vm-${String(n).padStart(2, '0')}.qcow2`;
    // the latest job's id sorts first: "latest" must come from finished_at, not the id
    const jobId = `inv-${String(n).padStart(2, '0')}-b`;
    const other = besideOf(beside, b, b === 'debian' && Math.floor(i / 4) % 2 === 0);
    if (n % 10 === 3) {
      // the superseded inspection held everything beside-pm has, nginx among it: none of it counts
      await store1(store, `inv-${String(n).padStart(2, '0')}-z`, path, namespace, 'completed', withOpenssl(base[b], b, b === 'rocky' ? '1.0.2k-1.el7' : b === 'alpine' ? '1.0.2-r0' : '1.0.2-1', asNginx(beside)));
      await new Promise((r) => setTimeout(r, 3));
    }
    await store1(store, jobId, path, namespace, 'completed', withOpenssl(base[b], b, openssl, other));
    if (n % 10 === 7) {
      await new Promise((r) => setTimeout(r, 3));
      await store1(store, `inv-${String(n).padStart(2, '0')}-a-failed`, path, namespace, 'failed', undefined);
    }
    images.push({ path, namespace, base: b, jobId, openssl, below307, other });
  }
  return images;
}

/** The distro id each base guest's inspection reports. */
export const DISTRO: Record<Base, string> = { debian: 'debian', rocky: 'rocky', alpine: 'alpinelinux', arch: 'archlinux' };

/** Whether an entry beside the package manager is the fleet's nginx (either name form). */
export const isNginx = (a: OtherApplication) => a.source === 'container' && (a.repository === 'nginx' || a.repository === NGINX);

/** The fleet images whose latest inspection holds an entry `pred` accepts, and how many such entries. */
export function holding(fleet: FleetImage[], pred: (a: OtherApplication) => boolean): Map<string, number> {
  return new Map(fleet.flatMap((f) => (f.other.some(pred) ? [[f.path, f.other.filter(pred).length] as [string, number]] : [])));
}

/**
 * Queries over other_applications that both adapters must answer alike: container images by
 * repository (both Docker Hub forms, a tag) and by digest or image id, snaps, flatpaks, `any`,
 * and version bounds refused for sources without a version order.
 */
export async function checkOtherSources(inv: Inventory, fleet: FleetImage[]): Promise<void> {
  const byPath = new Map(fleet.map((f) => [f.path, f]));
  const count = (items: PackageHit[]) => {
    const m = new Map<string, number>();
    for (const h of items) m.set(h.image.image_path, (m.get(h.image.image_path) ?? 0) + 1);
    return m;
  };
  const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

  // which images hold docker.io/library/nginx: Docker's short name and the full one alike
  const nginx = await inv.packages({ names: [NGINX], source: 'container', limit: 1000 });
  const want = holding(fleet, isNginx);
  assert.ok(want.size >= 5 && want.size < fleet.length / 2, `${want.size} images hold nginx`);
  assert.deepEqual(sorted(count(nginx.items)), sorted(want));
  for (const h of nginx.items) {
    assert.equal(h.image.job_id, byPath.get(h.image.image_path)!.jobId, 'the latest inspection');
    assert.equal(h.source, 'container');
    assert.equal(h.ecosystem, null);
    assert.ok(h.engine && h.tag && h.image_id?.startsWith('sha256:') && typeof h.size === 'number' && h.store, JSON.stringify(h));
    assert.equal(h.version, h.tag);
  }
  assert.deepEqual([...new Set(nginx.items.map((h) => h.engine))].sort(), ['containerd', 'docker', 'podman']);
  assert.ok(nginx.items.some((h) => h.engine === 'docker' && h.repository === 'nginx'));
  assert.deepEqual(count((await inv.packages({ names: ['nginx'], source: 'container', limit: 1000 })).items), count(nginx.items));
  // a tag narrows; the superseded inspections' nginx never counts (checked by the sets above)
  const stable = await inv.packages({ names: ['nginx:stable'], source: 'container', limit: 1000 });
  assert.deepEqual(sorted(count(stable.items)), sorted(holding(fleet, (a) => isNginx(a) && a.source === 'container' && a.tag === 'stable')));
  assert.ok(stable.items.length > 0 && stable.items.every((h) => h.tag === 'stable' && h.engine === 'docker'));

  // which images hold a digest: a manifest digest, or an image id (given as a name too)
  const tool = fleet.flatMap((f) => f.other).find((a) => a.source === 'container' && a.engine === 'podman' && a.repository === 'quay.io/guestkit/tool');
  assert.ok(tool?.source === 'container' && tool.digest && tool.image_id);
  const byDigest = await inv.packages({ names: [tool.digest], source: 'container', limit: 1000 });
  assert.deepEqual(sorted(count(byDigest.items)), sorted(holding(fleet, (a) => a.source === 'container' && a.digest === tool.digest)));
  assert.ok(new Set(byDigest.items.map((h) => byPath.get(h.image.image_path)!.base)).size === 2, 'Debian and Rocky images');
  const byId = await inv.packages({ names: [tool.image_id], source: 'container', limit: 1000 });
  assert.deepEqual(sorted(count(byId.items)), sorted(holding(fleet, (a) => a.source === 'container' && (a.image_id === tool.image_id || a.digest === tool.image_id))));
  assert.ok(byId.items.length > byDigest.items.length);

  // snaps and flatpaks, with what identifies them
  const lxd = await inv.packages({ names: ['lxd'], source: 'snap', limit: 1000 });
  assert.deepEqual(sorted(count(lxd.items)), sorted(holding(fleet, (a) => a.source === 'snap' && a.name === 'lxd')));
  assert.ok(lxd.items.every((h) => h.source === 'snap' && h.revision === '31333' && h.channel === '5.21/stable' && h.version === '5.21.1-2d13beb'));
  const hello = await inv.packages({ names: ['org.guestkit.Hello'], source: 'flatpak', limit: 1000 });
  assert.deepEqual(sorted(count(hello.items)), sorted(holding(fleet, (a) => a.source === 'flatpak' && a.name === 'org.guestkit.Hello')));
  assert.deepEqual(new Set(hello.items.map((h) => byPath.get(h.image.image_path)!.base)), new Set(['debian', 'arch']));
  assert.ok(hello.items.every((h) => h.ref === 'app/org.guestkit.Hello/x86_64/stable' && h.origin === 'guestkit-local' && h.installation === 'system' && h.arch === 'x86_64'));

  // one source at a time: the snap is no package, and no container is a snap
  assert.equal((await inv.packages({ names: ['lxd'], limit: 1000 })).items.length, 0);
  assert.equal((await inv.packages({ names: [NGINX], source: 'snap', limit: 1000 })).items.length, 0);
  const any = await inv.packages({ names: ['openssl', 'lxd', NGINX], source: 'any', limit: 1000 });
  assert.equal(any.items.filter((h) => h.source === 'package').length, fleet.length);
  assert.equal(any.items.filter((h) => h.source === 'snap').length, lxd.items.length);
  assert.equal(any.items.filter((h) => h.source === 'container').length, nginx.items.length);
  // os narrows, limit truncates
  const rocky = await inv.packages({ names: [tool.digest], source: 'container', os: 'rocky', limit: 1000 });
  assert.deepEqual(sorted(count(rocky.items)), sorted(holding(fleet.filter((f) => f.base === 'rocky'), (a) => a.source === 'container' && a.digest === tool.digest)));
  const two = await inv.packages({ names: [NGINX], source: 'container', limit: 2 });
  assert.equal(two.items.length, 2);
  assert.equal(two.truncated, true);

  // images holding it
  const images = await inv.images({ package: NGINX, source: 'container', limit: 1000 });
  assert.deepEqual(images.items.map((i) => i.image_path).sort(), [...want.keys()].sort());
  for (const i of images.items) assert.equal(i.job_id, byPath.get(i.image_path)!.jobId);
  assert.equal((await inv.images({ package: NGINX, limit: 1000 })).items.length, 0, 'no distro package is named so');

  // no version order beside the package manager: bounds are an error, not an empty answer
  for (const source of ['container', 'snap', 'flatpak', 'any'] as const) {
    await assert.rejects(inv.packages({ names: ['lxd'], source, versions: { lt: '6' }, limit: 10 }), (e: GuestkitError) => e.code === 'VALIDATION_ERROR' && /distro packages only/.test(e.message));
  }
  await assert.rejects(inv.images({ package: 'lxd', source: 'snap', versions: { lt: '6' }, limit: 10 }), (e: GuestkitError) => e.code === 'VALIDATION_ERROR');
}
