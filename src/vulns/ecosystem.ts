/**
 * Which OSV ecosystem holds the advisories for an inspected OS, and whose version order they use.
 * osv.dev names distribution releases `Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`,
 * `Rocky Linux:9`, `AlmaLinux:9`, `Red Hat:enterprise_linux:9::baseos`, …
 */
import type { OperatingSystem } from '../inspect/types.js';
import { ecosystemOfPackageFormat, type Ecosystem } from '../versions/index.js';

export interface OsEcosystem {
  /** The OSV ecosystem named in reports and used for freshness (`Debian:12`). */
  name: string;
  /** Every ecosystem string whose advisories apply (Ubuntu publishes `22.04` and `22.04:LTS`). */
  exact: string[];
  /** Ecosystems that apply when they start with one of these (Red Hat's per-repository names). */
  prefixes: string[];
  /** The package manager whose version order the ranges use. */
  versions: Ecosystem;
}

type OsFacts = Pick<OperatingSystem, 'distro' | 'major_version' | 'minor_version' | 'package_format' | 'os_release'>;

/** os-release's ID, else the distro inspection named (which says alpinelinux for ID=alpine). */
const ID_OF_DISTRO: Record<string, string> = { alpinelinux: 'alpine' };

/** The release as (major, minor): os-release's VERSION_ID as written ("22.04", "3.19.1"), else the inspected numbers. */
function release(os: OsFacts): { major: number; minor: number } | undefined {
  const m = /^(\d+)(?:\.(\d+))?/.exec(os.os_release?.version_id ?? '');
  if (m) return { major: Number(m[1]), minor: Number(m[2] ?? 0) };
  if (!Number.isInteger(os.major_version) || os.major_version <= 0) return undefined;
  return { major: os.major_version, minor: Number.isInteger(os.minor_version) && os.minor_version >= 0 ? os.minor_version : 0 };
}

/** The OSV ecosystem of `os`, or undefined when osv.dev publishes none for it (or its release is unknown). */
export function osvEcosystemOf(os: OsFacts): OsEcosystem | undefined {
  const r = release(os);
  if (!r) return undefined;
  const { major, minor } = r;
  // the package database's own format decides the order; the distribution's usual one otherwise
  const order = (usual: Ecosystem): Ecosystem => (os.package_format ? ecosystemOfPackageFormat(os.package_format) : undefined) ?? usual;
  const one = (name: string, versions: Ecosystem): OsEcosystem => ({ name, exact: [name], prefixes: [], versions: order(versions) });
  switch (os.os_release?.id ?? ID_OF_DISTRO[os.distro] ?? os.distro) {
    case 'debian':
      return one(`Debian:${major}`, 'dpkg');
    case 'ubuntu': {
      const rel = `${major}.${String(minor).padStart(2, '0')}`;
      return { name: `Ubuntu:${rel}`, exact: [`Ubuntu:${rel}`, `Ubuntu:${rel}:LTS`], prefixes: [], versions: order('dpkg') };
    }
    case 'alpine':
      return one(`Alpine:v${major}.${minor}`, 'apk');
    case 'rocky':
      return one(`Rocky Linux:${major}`, 'rpm');
    case 'almalinux':
      return one(`AlmaLinux:${major}`, 'rpm');
    case 'rhel': {
      const name = `Red Hat:enterprise_linux:${major}`;
      return { name, exact: [name], prefixes: [`${name}::`], versions: order('rpm') };
    }
    default:
      return undefined;
  }
}
