/**
 * Version strings from the fixture guests' package databases (read by our inspection, as the
 * package managers print them), and pairs over them for checking an order against the real tools.
 */
import { formatVersion } from '../../src/compare/versions.js';
import { inspect } from '../../src/inspect/index.js';
import { ecosystemOfPackageFormat, type Ecosystem } from '../../src/versions/index.js';
import { fixture } from './fixtures.js';
import { rng } from './rng.js';

const GUESTS = [
  ['inspect', 'debian.qcow2'],
  ['inspect-guests', 'ubuntu-like.qcow2'],
  ['profile', 'linux-good.qcow2'],
  ['profile', 'linux-bad.qcow2'],
  ['inspect', 'rpm-guest.qcow2'],
  ['inspect-guests', 'centos5-sysv.qcow2'],
  ['inspect-guests', 'rocky8-bls.qcow2'],
  ['inspect-guests', 'alpine.qcow2'],
  ['inspect', 'arch-guest.img'],
];

/** Distinct versions (binary and source package versions) per ecosystem, over all fixture guests. */
export async function fixtureVersions(): Promise<Record<Ecosystem, string[]>> {
  const out: Record<Ecosystem, Set<string>> = { dpkg: new Set(), rpm: new Set(), apk: new Set(), pacman: new Set() };
  for (const parts of GUESTS) {
    const result = await inspect(fixture(...parts));
    for (const os of result.operating_systems) {
      const eco = os.package_format ? ecosystemOfPackageFormat(os.package_format) : undefined;
      if (!eco) continue;
      for (const app of os.applications ?? []) {
        out[eco].add(formatVersion(app));
        const src = (app as { source?: { version?: string } }).source?.version;
        if (src) out[eco].add(src);
      }
    }
  }
  return { dpkg: [...out.dpkg], rpm: [...out.rpm], apk: [...out.apk], pacman: [...out.pacman] };
}

/** A near neighbour of `v`: a digit bumped or dropped, a pre-release, an epoch, a rebuild suffix. */
export function mutate(v: string, eco: Ecosystem, r: () => number): string {
  const digits = [...v.matchAll(/[0-9]+/g)];
  switch (Math.floor(r() * 7)) {
    case 0:
    case 1: {
      const d = digits[Math.floor(r() * digits.length)];
      if (!d) return `${v}.1`;
      const n = Math.max(0, Number(d[0]) + (r() < 0.5 ? 1 : -1));
      return v.slice(0, d.index) + String(n) + v.slice(d.index! + d[0].length);
    }
    case 2:
      return eco === 'apk' ? v.replace(/(-r[0-9]+)?$/, '_rc1$1') : eco === 'pacman' ? v.replace(/-/, 'rc1-') : v.replace(/(-[^-]*)?$/, '~rc1$1');
    case 3:
      return eco === 'apk' ? v.replace(/(-r[0-9]+)?$/, '_p1$1') : /^[0-9]+:/.test(v) ? v.replace(/^[0-9]+/, (e) => String(Number(e) + 1)) : `1:${v}`;
    case 4:
      return eco === 'rpm' ? v.replace(/(-[^-]*)?$/, '^git20230101$1') : eco === 'apk' ? v.replace(/-r([0-9]+)$/, (_, n) => `-r${Number(n) + 1}`) : `${v}+b1`;
    case 5:
      return eco === 'apk' ? v.replace(/(-r[0-9]+)?$/, 'a$1') : v.replace(/(-[^-]*)?$/, '.0$1');
    default:
      return v.replace(/-[^-]*$/, '') || v;
  }
}

/** `n` ordered pairs: half across packages, half a version against its mutation; each also reversed. */
export function versionPairs(pool: string[], eco: Ecosystem, n: number, seed: number): [string, string][] {
  const r = rng(seed);
  const pick = () => pool[Math.floor(r() * pool.length)]!;
  const pairs: [string, string][] = [];
  while (pairs.length < n) {
    const a = pick();
    const b = r() < 0.5 ? pick() : mutate(a, eco, r);
    pairs.push([a, b], [b, a]);
  }
  return pairs;
}
