import type { Hive } from '../../registry/index.js';

export interface WindowsVersion {
  product_name?: string;
  product_variant?: string;
  major_version: number;
  minor_version: number;
  build_id?: string;
  edition?: string;
}

/** Server releases by build number: the RTM build of each libosinfo id (semi-annual builds fall to the release before). */
const SERVER_BUILDS: [number, string, string][] = [
  [26100, 'win2k25', '2025'],
  [20348, 'win2k22', '2022'],
  [17763, 'win2k19', '2019'],
  [14393, 'win2k16', '2016'],
];
/** Windows 11 kept major.minor 10.0 and, in ProductName, "Windows 10"; its builds start at 22000. */
const WIN11_FIRST_BUILD = 22000;

function buildNumber(v: WindowsVersion): number | undefined {
  const n = Number(v.build_id ?? NaN);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function isServer(v: WindowsVersion): boolean {
  return (v.product_variant ?? '').includes('Server');
}

/** The server release a 10.0 build belongs to (by build when known, else by the year in ProductName). */
function serverRelease(v: WindowsVersion): [string, string] {
  const build = buildNumber(v);
  if (build !== undefined) {
    for (const [first, id, year] of SERVER_BUILDS) if (build >= first) return [id, year];
  }
  const name = v.product_name ?? '';
  for (const [, id, year] of SERVER_BUILDS) if (name.includes(year)) return [id, year];
  return ['win2k16', '2016'];
}

const CURRENT_VERSION = 'Microsoft\\Windows NT\\CurrentVersion';

/** SOFTWARE\Microsoft\Windows NT\CurrentVersion, read as libguestfs reads it. */
export async function readWindowsVersion(software: Hive): Promise<WindowsVersion> {
  const cv = await software.key(CURRENT_VERSION);
  if (!cv) return { major_version: 0, minor_version: 0 };
  const str = async (n: string) => (await cv.value(n))?.string()?.trim() || undefined;
  const num = async (n: string) => (await cv.value(n))?.dword();
  // Windows 10 and later keep "6.3" in CurrentVersion for old programs; the numbers are separate values.
  let major = await num('CurrentMajorVersionNumber');
  let minor = await num('CurrentMinorVersionNumber');
  if (major === undefined || minor === undefined) {
    const m = /^(\d+)\.(\d+)/.exec((await str('CurrentVersion')) ?? '');
    major = m ? Number(m[1]) : 0;
    minor = m ? Number(m[2]) : 0;
  }
  const out: WindowsVersion = { major_version: major, minor_version: minor };
  const product = await str('ProductName');
  if (product) out.product_name = product;
  const variant = await str('InstallationType');
  if (variant) out.product_variant = variant;
  const build = await str('CurrentBuildNumber') ?? await str('CurrentBuild');
  if (build) out.build_id = build;
  const edition = await str('EditionID');
  if (edition) out.edition = edition;
  return out;
}

/** The libosinfo short id libguestfs derives for a Windows guest. */
export function windowsOsinfo(v: WindowsVersion): string {
  const server = isServer(v);
  const name = v.product_name ?? '';
  const build = buildNumber(v);
  switch (`${v.major_version}.${v.minor_version}`) {
    case '5.1':
      return 'winxp';
    case '5.2':
      return name.includes('XP') ? 'winxp' : name.includes('R2') ? 'win2k3r2' : 'win2k3';
    case '6.0':
      return server ? 'win2k8' : 'winvista';
    case '6.1':
      return server ? 'win2k8r2' : 'win7';
    case '6.2':
      return server ? 'win2k12' : 'win8';
    case '6.3':
      return server ? 'win2k12r2' : 'win8.1';
    case '10.0':
      if (server) return serverRelease(v)[0];
      // Windows 11 keeps "Windows 10" in ProductName; newer libguestfs tells them apart by build (Debian 12's 1.48 does not)
      return build !== undefined && build >= WIN11_FIRST_BUILD ? 'win11' : 'win10';
  }
  return 'unknown';
}

/**
 * The name a person knows the release by. ProductName is kept as the registry says it
 * (product_name, as virt-inspector reports it), but on 10.0 it can be stale: Windows 11 says
 * "Windows 10 Pro", and an in-place upgraded server may keep the old year. The build decides.
 */
export function windowsDisplayName(v: WindowsVersion): string | undefined {
  const name = v.product_name;
  if (`${v.major_version}.${v.minor_version}` !== '10.0') return name;
  const build = buildNumber(v);
  if (isServer(v)) {
    if (build === undefined) return name;
    const year = serverRelease(v)[1];
    if (!name) return `Windows Server ${year}`;
    return /Windows Server \d{4}( R2)?/.test(name) ? name.replace(/Windows Server \d{4}( R2)?/, `Windows Server ${year}`) : name;
  }
  if (build === undefined || build < WIN11_FIRST_BUILD) return name;
  if (!name) return 'Windows 11';
  return /Windows 10\b/.test(name) ? name.replace(/Windows 10\b/, 'Windows 11') : name;
}
