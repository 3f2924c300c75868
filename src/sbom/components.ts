import { splitDebVersion } from '../inspect/linux/packages/dpkg.js';
import type { Application, Inspection, OperatingSystem } from '../inspect/types.js';
import { spdxExpression } from './license.js';
import { epochVersion, osIdentity, packagePurl } from './purl.js';

/**
 * What both SBOM formats say about one guest, taken from an inspection: each operating system
 * and the software installed in it, with the facts the formats carry (purl, licence, source).
 */
export interface SbomOs {
  /** os-release ID ("debian"), or the product name of a Windows guest. */
  name: string;
  version: string;
  description?: string;
  packages: SbomPackage[];
}

export interface SbomPackage {
  kind: 'library' | 'application';
  name: string;
  version: string;
  purl?: string;
  /** The licence as the package database declares it. */
  license?: string;
  /** The same as an SPDX licence expression, when it is one. */
  licenseExpression?: string;
  /** Windows: the Publisher of the Uninstall entry. */
  supplier?: string;
  summary?: string;
  homepage?: string;
  /** Name → value, in a fixed order (Trivy's aquasecurity:trivy:* keys). */
  properties: [string, string][];
}

/** Trivy's OS family names where the os-release ID differs (its PkgType property). */
const TRIVY_FAMILY: Record<string, string> = {
  rhel: 'redhat',
  almalinux: 'alma',
  amzn: 'amazon',
  ol: 'oracle',
  'opensuse-leap': 'opensuse.leap',
  'opensuse-tumbleweed': 'opensuse.tumbleweed',
};

const T = 'aquasecurity:trivy:';

/** Source name, version, release and epoch the way Trivy splits them for each package format. */
function sourceParts(format: string | undefined, app: Application): { name?: string; version?: string; release?: string; epoch?: number } {
  const name = app.source?.name ?? app.source_package;
  switch (format) {
    case 'deb': {
      const v = splitDebVersion(app.source?.version ?? epochVersion(app));
      return { name, version: v.version, release: v.release, epoch: v.epoch };
    }
    case 'rpm': {
      // SOURCERPM carries no epoch: rpm gives the binary's to its source.
      const vr = app.source?.version ?? `${app.version}-${app.release}`;
      const dash = vr.lastIndexOf('-');
      return { name, version: dash > 0 ? vr.slice(0, dash) : vr, release: dash > 0 ? vr.slice(dash + 1) : '', epoch: app.epoch };
    }
    case 'apk':
      // apk's origin shares the package's version; Trivy keeps the -rN in SrcVersion.
      return { name, version: `${app.version}${app.release ? `-${app.release}` : ''}` };
    default:
      return { name, version: app.version, release: app.release, epoch: app.epoch };
  }
}

function linuxPackage(os: OperatingSystem, family: string, app: Application): SbomPackage {
  const src = sourceParts(os.package_format, app);
  const properties: [string, string][] = [[`${T}PkgType`, family]];
  if (src.name) properties.push([`${T}SrcName`, src.name]);
  if (src.version) properties.push([`${T}SrcVersion`, src.version]);
  if (src.release) properties.push([`${T}SrcRelease`, src.release]);
  if (src.epoch) properties.push([`${T}SrcEpoch`, String(src.epoch)]);
  const purl = packagePurl(os, app);
  const expression = app.license ? spdxExpression(app.license) : undefined;
  return {
    kind: 'library',
    name: app.name,
    // rpm and apk print version-release; dpkg and pacman put the epoch in front.
    version: os.package_format === 'rpm' || os.package_format === 'apk' ? `${app.version}${app.release ? `-${app.release}` : ''}` : epochVersion(app),
    ...(purl ? { purl } : {}),
    ...(app.license ? { license: app.license } : {}),
    ...(expression ? { licenseExpression: expression } : {}),
    ...(app.summary ? { summary: app.summary } : {}),
    ...(app.url ? { homepage: app.url } : {}),
    properties,
  };
}

function windowsApplication(app: Application): SbomPackage {
  return {
    kind: 'application',
    name: app.display_name ?? app.name,
    version: app.version,
    ...(app.publisher ? { supplier: app.publisher } : {}),
    ...(app.summary ? { summary: app.summary } : {}),
    ...(app.url ? { homepage: app.url } : {}),
    properties: [],
  };
}

export function sbomOs(os: OperatingSystem): SbomOs {
  if (os.type === 'windows') {
    const version = `${os.major_version}.${os.minor_version}${os.build_id ? `.${os.build_id}` : ''}`;
    return {
      // pretty_name corrects ProductName where Windows 11 still says "Windows 10".
      name: os.pretty_name ?? os.product_name ?? 'windows',
      version,
      ...(os.edition ? { description: os.edition } : {}),
      packages: (os.applications ?? []).map(windowsApplication),
    };
  }
  const { id, version } = osIdentity(os);
  const family = TRIVY_FAMILY[id] ?? id;
  return {
    name: id,
    version,
    ...(os.pretty_name ? { description: os.pretty_name } : {}),
    packages: (os.applications ?? []).map((a) => linuxPackage(os, family, a)),
  };
}

/** The operating systems of an inspection, in its order. */
export function sbomOperatingSystems(r: Inspection): SbomOs[] {
  return r.operating_systems.map(sbomOs);
}

/** Everything a document is written from; time and ids are given so that output can be reproduced. */
export interface SbomDocumentInput {
  /** The image's file name: what the document describes. */
  imageName: string;
  /** ISO 8601, UTC. */
  timestamp: string;
  uuid: string;
  tool: { name: string; version: string };
  systems: SbomOs[];
}
