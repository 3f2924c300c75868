/**
 * A fleet of 50 stored inspections for inventory tests: real inspection results of the fixture
 * guests (Debian, Rocky, Alpine, Arch), stored through the JobStore API under 50 image paths,
 * each with its own openssl version, so that `openssl < 3.0.7` has known hits and known misses
 * (epochs, `~`, `^`, `_rc`, revisions, numbers that a character compare gets wrong).
 */
import { inspect, type Application, type Inspection } from '../../src/inspect/index.js';
import type { JobStore } from '../../src/ports/job-store.js';
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
}

/** Splits a full version into the inspection's epoch / version / release fields. */
function split(base: Base, full: string): Pick<Application, 'epoch' | 'version' | 'release'> {
  const m = /^(?:([0-9]+):)?(.*?)(?:-([^-]*))?$/.exec(full)!;
  return { epoch: Number(m[1] ?? 0), version: m[2]!, release: m[3] ?? '' };
}

/** The inspection with its openssl package (Debian: libssl3, built from source openssl) at `full`. */
function withOpenssl(insp: Inspection, base: Base, full: string): Inspection {
  const copy = structuredClone(insp);
  const os = copy.operating_systems[0]!;
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
    if (n % 10 === 3) {
      await store1(store, `inv-${String(n).padStart(2, '0')}-z`, path, namespace, 'completed', withOpenssl(base[b], b, b === 'rocky' ? '1.0.2k-1.el7' : b === 'alpine' ? '1.0.2-r0' : '1.0.2-1'));
      await new Promise((r) => setTimeout(r, 3));
    }
    await store1(store, jobId, path, namespace, 'completed', withOpenssl(base[b], b, openssl));
    if (n % 10 === 7) {
      await new Promise((r) => setTimeout(r, 3));
      await store1(store, `inv-${String(n).padStart(2, '0')}-a-failed`, path, namespace, 'failed', undefined);
    }
    images.push({ path, namespace, base: b, jobId, openssl, below307 });
  }
  return images;
}

/** The distro id each base guest's inspection reports. */
export const DISTRO: Record<Base, string> = { debian: 'debian', rocky: 'rocky', alpine: 'alpinelinux', arch: 'archlinux' };
