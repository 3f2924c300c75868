import type { Hive } from '../../registry/index.js';

export interface WindowsVersion {
  product_name?: string;
  product_variant?: string;
  major_version: number;
  minor_version: number;
  build_id?: string;
  edition?: string;
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
  const server = (v.product_variant ?? '').includes('Server');
  const name = v.product_name ?? '';
  const build = Number(v.build_id ?? NaN);
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
      if (server) {
        if (name.includes('2025')) return 'win2k25';
        if (name.includes('2022')) return 'win2k22';
        if (name.includes('2019')) return 'win2k19';
        return 'win2k16';
      }
      // Windows 11 keeps "Windows 10" in ProductName; newer libguestfs tells them apart by build (Debian 12's 1.48 does not)
      return Number.isFinite(build) && build >= 22000 ? 'win11' : 'win10';
  }
  return 'unknown';
}
