import type { Application, OperatingSystem } from '../inspect/types.js';

/**
 * Package URLs (github.com/package-url/purl-spec) for the packages inspection finds, in the
 * forms the spec's type definitions give for deb, rpm, apk and alpm, with the `distro` and
 * `upstream` qualifiers Syft adds: Grype takes the distro from `distro=<ID>-<VERSION_ID>`
 * (it splits at the dash) and source-package advisories from `upstream`.
 */
export interface Purl {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string | undefined>;
}

/** Everything but the spec's unreserved characters (and `:`, which it leaves as is) percent-encoded. */
function enc(s: string): string {
  return Array.from(new TextEncoder().encode(s), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9.\-_~:]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

/** The canonical string: type lower-cased, qualifiers sorted by key, empty ones left out. */
export function formatPurl(p: Purl): string {
  let s = `pkg:${p.type.toLowerCase()}/`;
  if (p.namespace) s += p.namespace.split('/').map(enc).join('/') + '/';
  s += enc(p.name);
  if (p.version) s += `@${enc(p.version)}`;
  const q = Object.entries(p.qualifiers ?? {})
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (q.length) s += '?' + q.map(([k, v]) => `${k.toLowerCase()}=${enc(v)}`).join('&');
  return s;
}

/** virt-inspector's distro name → os-release ID, for guests without an os-release (CentOS 5, …). */
const OS_RELEASE_ID: Record<string, string> = {
  alpinelinux: 'alpine',
  amazonlinux: 'amzn',
  archlinux: 'arch',
  kalilinux: 'kali',
  oraclelinux: 'ol',
  pldlinux: 'pld',
  voidlinux: 'void',
};

/** The OS as SBOM consumers key it: os-release ID and VERSION_ID, or what the release files gave. */
export function osIdentity(os: OperatingSystem): { id: string; version: string } {
  if (os.os_release) return { id: os.os_release.id, version: os.os_release.version_id ?? '' };
  const { major_version: major, minor_version: minor } = os;
  // Written the way those distros' VERSION_ID is: Fedora "38", Ubuntu "20.04".
  let version = major || minor ? `${major}.${minor}` : '';
  if (os.distro === 'fedora' && major) version = String(major);
  if (os.distro === 'ubuntu' && major) version = `${major}.${String(minor).padStart(2, '0')}`;
  return { id: OS_RELEASE_ID[os.distro] ?? os.distro, version };
}

/** rpm vendors as Syft and Trivy name them where the os-release ID differs. */
function rpmVendor(id: string): string {
  if (id === 'rhel') return 'redhat';
  if (id.startsWith('opensuse')) return 'opensuse';
  if (id === 'sles' || id === 'sled') return 'suse';
  return id;
}

/** `name` when the source carries the binary's version, else `name@version` (Syft's `upstream`). */
function upstream(app: Application, fullVersion: string): string | undefined {
  if (!app.source) return app.source_package;
  return app.source.version === fullVersion ? app.source.name : `${app.source.name}@${app.source.version}`;
}

/** `[epoch:]version[-release]`, as dpkg and pacman print it. */
export function epochVersion(app: Application): string {
  return `${app.epoch ? `${app.epoch}:` : ''}${app.version}${app.release ? `-${app.release}` : ''}`;
}

/** The purl of an installed package of a Linux guest; undefined for a package format without a purl type. */
export function packagePurl(os: OperatingSystem, app: Application): string | undefined {
  const { id, version } = osIdentity(os);
  const distro = version ? `${id}-${version}` : id;
  const vr = `${app.version}${app.release ? `-${app.release}` : ''}`;
  switch (os.package_format) {
    case 'deb': {
      // The deb type keeps the epoch in the version (spec example: attr@1:2.4.47-2).
      const v = epochVersion(app);
      return formatPurl({ type: 'deb', namespace: id, name: app.name.toLowerCase(), version: v, qualifiers: { arch: app.arch, distro, upstream: upstream(app, v) } });
    }
    case 'rpm':
      // rpm: version-release, the epoch a qualifier; `upstream` the source rpm, as Syft writes it.
      return formatPurl({
        type: 'rpm',
        namespace: rpmVendor(id),
        name: app.name,
        version: vr,
        qualifiers: {
          arch: app.arch,
          epoch: app.epoch ? String(app.epoch) : undefined,
          distro,
          upstream: app.source ? `${app.source.name}-${app.source.version}.src.rpm` : undefined,
        },
      });
    case 'apk':
      return formatPurl({ type: 'apk', namespace: id, name: app.name.toLowerCase(), version: vr, qualifiers: { arch: app.arch, distro, upstream: app.source_package } });
    case 'pacman':
      return formatPurl({ type: 'alpm', namespace: id, name: app.name.toLowerCase(), version: epochVersion(app), qualifiers: { arch: app.arch, distro, upstream: app.source_package } });
    default:
      return undefined;
  }
}
