import type { GuestView } from '../guest-view.js';
import { parseKeyValue, parseMajorMinor } from '../parse.js';

export interface ReleaseFacts {
  distro: string;
  product_name?: string;
  pretty_name?: string;
  os_release?: { id: string; version_id?: string };
  product_variant?: string;
  major_version: number;
  minor_version: number;
}

interface Draft {
  distro?: string;
  product_name?: string;
  pretty_name?: string;
  os_release?: { id: string; version_id?: string };
  product_variant?: string;
  version?: [number, number];
}

/** os-release ID → virt-inspector's distro name. */
const OS_RELEASE_IDS: Record<string, string> = {
  alpine: 'alpinelinux',
  altlinux: 'altlinux',
  almalinux: 'almalinux',
  amzn: 'amazonlinux',
  arch: 'archlinux',
  centos: 'centos',
  circle: 'circle',
  coreos: 'coreos',
  debian: 'debian',
  fedora: 'fedora',
  flatcar: 'flatcar',
  frugalware: 'frugalware',
  gentoo: 'gentoo',
  kali: 'kalilinux',
  linuxmint: 'linuxmint',
  mageia: 'mageia',
  neokylin: 'neokylin',
  nixos: 'nixos',
  ol: 'oraclelinux',
  opensuse: 'opensuse',
  pld: 'pldlinux',
  rhel: 'rhel',
  rocky: 'rocky',
  sles: 'sles',
  sled: 'sles',
  ubuntu: 'ubuntu',
  void: 'voidlinux',
};

function distroOfOsReleaseId(id: string): string | undefined {
  if (id.startsWith('opensuse-')) return 'opensuse';
  return OS_RELEASE_IDS[id];
}

const LSB_IDS: Record<string, string> = {
  CoreOS: 'coreos',
  LinuxMint: 'linuxmint',
  Mageia: 'mageia',
  Ubuntu: 'ubuntu',
  Debian: 'debian',
};

type Parser = (g: GuestView, file: string, d: Draft) => Promise<boolean>;

/** os-release: accepted only when it gives distro, product name and a full version, as libguestfs does. */
const parseOsRelease: Parser = async (g, file, d) => {
  const text = await g.text(file);
  if (text === undefined) return false;
  const kv = parseKeyValue(text);
  const id = kv.get('ID');
  const vid = kv.get('VERSION_ID');
  // Kept as written: SBOM consumers (Grype, Trivy) key their advisories on ID and VERSION_ID.
  if (id) d.os_release ??= { id: id.toLowerCase(), ...(vid ? { version_id: vid } : {}) };
  if (id !== undefined) {
    const distro = distroOfOsReleaseId(id.toLowerCase());
    if (distro) d.distro = distro;
    else g.warn(`${file}: unknown ID=${id}`);
  }
  const pretty = kv.get('PRETTY_NAME');
  if (pretty) {
    d.product_name = pretty;
    d.pretty_name ??= pretty; // /etc/os-release overrides /usr/lib/os-release
  }
  const variant = kv.get('VARIANT');
  if (variant) d.product_variant = variant;
  if (vid) {
    const v = parseMajorMinor(vid);
    if (v) d.version = v;
  }
  if (!d.distro || !d.product_name) return false;
  // Debian and CentOS give only the major version here: the release file has the rest.
  if ((d.distro === 'debian' || d.distro === 'centos') && d.version && d.version[1] === 0 && !/\./.test(vid ?? '')) return false;
  if (d.distro === 'voidlinux' && !d.version) {
    d.version = [0, 0];
    return true;
  }
  if ((d.distro === 'archlinux' || d.distro === 'gentoo') && !d.version) {
    d.version = [0, 0];
    return true;
  }
  return d.version !== undefined;
};

const parseLsbRelease: Parser = async (g, file, d) => {
  const text = await g.text(file);
  if (text === undefined) return false;
  const kv = parseKeyValue(text);
  let ok = false;
  const id = kv.get('DISTRIB_ID');
  if (id && LSB_IDS[id]) {
    d.distro = LSB_IDS[id];
    ok = true;
  }
  const rel = kv.get('DISTRIB_RELEASE');
  if (rel) {
    const v = parseMajorMinor(rel);
    if (v) d.version = v;
  }
  const desc = kv.get('DISTRIB_DESCRIPTION');
  if (desc) {
    d.product_name = desc;
    ok = true;
  }
  return ok && d.distro !== undefined;
};

/** First line of a release file as product name; `re` (when given) must match and gives major/minor. */
function generic(distro: string, re?: RegExp): Parser {
  return async (g, file, d) => {
    const text = await g.text(file, 64 * 1024);
    // a release line is a few dozen characters; the patterns (`.*release (\d+).*Update`) are
    // quadratic in the line, which took 1.6 s on one hostile 64 KiB line
    const first = text?.split(/\r?\n/, 1)[0]?.slice(0, 1024).trim() ?? '';
    if (first === '') return false;
    if (re) {
      const m = re.exec(first);
      if (!m) return false;
      d.product_name = first;
      d.distro = distro;
      if (m[1] !== undefined) d.version = [Number(m[1]), m[2] !== undefined ? Number(m[2]) : 0];
      return true;
    }
    d.product_name = first;
    d.distro = distro;
    const v = parseMajorMinor(first);
    if (v) d.version = v;
    return true;
  };
}

const parseSuseRelease: Parser = async (g, file, d) => {
  const text = await g.text(file, 64 * 1024);
  if (!text) return false;
  const lines = text.split(/\r?\n/);
  const first = lines[0]!.trim();
  d.product_name = first;
  if (/^SUSE (Linux|LINUX) Enterprise /.test(first) || /^Novell Linux Desktop /.test(first)) {
    const maj = /^VERSION = (\d+)/.exec(lines[1] ?? '');
    const min = /^PATCHLEVEL = (\d+)/.exec(lines[2] ?? '');
    if (maj) d.version = [Number(maj[1]), min ? Number(min[1]) : 0];
    d.distro = 'sles';
  } else if (/^(openSUSE|SuSE Linux|SUSE LINUX) /.test(first)) {
    const v = parseMajorMinor(lines[1] ?? '');
    if (v) d.version = v;
    d.distro = 'opensuse';
  }
  return true;
};

const always = (distro: string): Parser => async (_g, _f, d) => {
  d.distro = distro;
  return true;
};

/** The release-file tests, in libguestfs's order: the first file that exists and parses wins. */
const TESTS: [string, Parser][] = [
  ['/etc/os-release', parseOsRelease],
  ['/usr/lib/os-release', parseOsRelease],
  ['/etc/lsb-release', parseLsbRelease],
  ['/etc/oracle-release', generic('oraclelinux', /Oracle Linux.*release (\d+).*Update (\d+)/)],
  ['/etc/oracle-release', generic('oraclelinux', /Oracle Linux.*release (\d+)\.(\d+)/)],
  ['/etc/oracle-release', generic('oraclelinux', /Oracle Linux.*release (\d+)/)],
  ['/etc/rocky-release', generic('rocky', /Rocky Linux.*release (\d+)(?:\.(\d+))?/)],
  ['/etc/almalinux-release', generic('almalinux', /AlmaLinux.*release (\d+)(?:\.(\d+))?/)],
  ['/etc/centos-release', generic('centos', /CentOS.*release (\d+).*Update (\d+)/)],
  ['/etc/centos-release', generic('centos', /CentOS.*release (\d+)\.(\d+)/)],
  ['/etc/centos-release', generic('centos', /CentOS.*release (\d+)/)],
  ['/etc/altlinux-release', generic('altlinux')],
  ['/etc/redhat-release', generic('fedora', /Fedora release (\d+)/)],
  ['/etc/redhat-release', generic('rhel', /Red Hat.*release (\d+).*Update (\d+)/)],
  ['/etc/redhat-release', generic('rhel', /Red Hat.*release (\d+)\.(\d+)/)],
  ['/etc/redhat-release', generic('rhel', /Red Hat.*release (\d+)/)],
  ['/etc/redhat-release', generic('centos', /CentOS.*release (\d+).*Update (\d+)/)],
  ['/etc/redhat-release', generic('centos', /CentOS.*release (\d+)\.(\d+)/)],
  ['/etc/redhat-release', generic('centos', /CentOS.*release (\d+)/)],
  ['/etc/redhat-release', generic('scientificlinux', /Scientific Linux.*release (\d+)(?:\.(\d+))?/)],
  ['/etc/redhat-release', generic('redhat-based')],
  ['/etc/redhat-release', always('redhat-based')],
  ['/etc/debian_version', generic('debian')],
  ['/etc/pardus-release', generic('pardus')],
  ['/etc/arch-release', always('archlinux')],
  ['/etc/gentoo-release', generic('gentoo')],
  ['/etc/meego-release', generic('meego')],
  ['/etc/slackware-version', generic('slackware')],
  ['/etc/ttylinux-target', generic('ttylinux')],
  ['/etc/SuSE-release', parseSuseRelease],
  ['/etc/SuSE-release', always('suse-based')],
  ['/etc/cirros/version', generic('cirros')],
  ['/etc/alpine-release', generic('alpinelinux')],
  ['/etc/frugalware-release', generic('frugalware', /Frugalware (\d+)\.(\d+)/)],
  ['/etc/pld-release', generic('pldlinux', /(\d+)\.(\d+) PLD Linux/)],
];

/** Distro, product name and version of a Linux root, os-release first, classic release files after. */
export async function detectRelease(g: GuestView): Promise<ReleaseFacts> {
  const d: Draft = {};
  const isFile = new Map<string, boolean>(); // several tests read one file (/etc/redhat-release: 10)
  for (const [file, parse] of TESTS) {
    let is = isFile.get(file);
    if (is === undefined) isFile.set(file, (is = await g.isFile(file)));
    if (!is) continue;
    if (await parse(g, file, d)) break;
  }
  return {
    distro: d.distro ?? 'unknown',
    ...(d.product_name !== undefined ? { product_name: d.product_name } : {}),
    ...(d.pretty_name !== undefined ? { pretty_name: d.pretty_name } : {}),
    ...(d.os_release !== undefined ? { os_release: d.os_release } : {}),
    ...(d.product_variant !== undefined ? { product_variant: d.product_variant } : {}),
    major_version: d.version?.[0] ?? 0,
    minor_version: d.version?.[1] ?? 0,
  };
}

/** virt-inspector's osinfo short id. */
export function osinfoOf(type: string, distro: string, major: number, minor: number): string {
  if (type === 'linux') {
    switch (distro) {
      case 'centos':
        if (major >= 8) return `centos${major}`;
        if (major === 7) return 'centos7.0';
        if (major === 6) return `centos6.${minor}`;
        break;
      case 'circle':
      case 'rocky':
      case 'almalinux':
        if (major >= 8) return `${distro}${major}`;
        break;
      case 'debian':
        if (major >= 4) return `debian${major}`;
        break;
      case 'fedora':
      case 'mageia':
        return `${distro}${major}`;
      case 'sles':
        return minor === 0 ? `sles${major}` : `sles${major}sp${minor}`;
      case 'ubuntu':
        return `ubuntu${major}.${String(minor).padStart(2, '0')}`;
      case 'archlinux':
      case 'gentoo':
      case 'voidlinux':
        return distro;
      case 'altlinux':
        return major >= 8 ? `alt${major}.${minor}` : `altlinux${major}.${minor}`;
    }
    if (distro !== 'unknown' && (major > 0 || minor > 0)) return `${distro}${major}.${minor}`;
  }
  return 'unknown';
}

/** Package format and manager as libguestfs derives them from the distro. */
export function packageFormatOf(distro: string): string | undefined {
  switch (distro) {
    case 'altlinux':
    case 'centos':
    case 'fedora':
    case 'mageia':
    case 'mandriva':
    case 'meego':
    case 'neokylin':
    case 'opensuse':
    case 'oraclelinux':
    case 'redhat-based':
    case 'rhel':
    case 'rocky':
    case 'almalinux':
    case 'circle':
    case 'amazonlinux':
    case 'scientificlinux':
    case 'sles':
    case 'suse-based':
      return 'rpm';
    case 'debian':
    case 'kalilinux':
    case 'linuxmint':
    case 'ubuntu':
      return 'deb';
    case 'archlinux':
      return 'pacman';
    case 'gentoo':
      return 'ebuild';
    case 'pardus':
      return 'pisi';
    case 'alpinelinux':
      return 'apk';
    case 'voidlinux':
      return 'xbps';
    default:
      return undefined;
  }
}

export async function packageManagementOf(g: GuestView, distro: string, major: number): Promise<string | undefined> {
  switch (distro) {
    case 'meego':
      return 'yum';
    case 'fedora':
      if (major >= 22 && (await g.isFile('/usr/bin/dnf'))) return 'dnf';
      return major >= 1 ? 'yum' : undefined;
    case 'neokylin':
      return 'dnf';
    case 'centos':
    case 'oraclelinux':
    case 'redhat-based':
    case 'rhel':
    case 'rocky':
    case 'almalinux':
    case 'circle':
    case 'scientificlinux':
    case 'amazonlinux':
      if (major >= 8) return 'dnf';
      if (major >= 5) return 'yum';
      return major >= 2 ? 'up2date' : undefined;
    case 'altlinux':
    case 'debian':
    case 'kalilinux':
    case 'linuxmint':
    case 'ubuntu':
      return 'apt';
    case 'archlinux':
      return 'pacman';
    case 'gentoo':
      return 'portage';
    case 'pardus':
      return 'pisi';
    case 'mageia':
    case 'mandriva':
      return 'urpmi';
    case 'opensuse':
    case 'sles':
    case 'suse-based':
      return 'zypper';
    case 'alpinelinux':
      return 'apk';
    case 'voidlinux':
      return 'xbps';
    default:
      return undefined;
  }
}
